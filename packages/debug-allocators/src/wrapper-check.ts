import { CorruptionError, hex, type Allocator, type ControlLayout } from "@memkit/core";
import { B_BASE, B_HELD, B_PTR, B_SIZE, BLOCK_WORDS } from "./block-table.js";
import type { FreeHistory } from "./free-history.js";
import { hashFind } from "./ptr-hash.js";
import { Q_HELD, Q_PTR, Q_SIZE, QUEUE_ENTRY_WORDS } from "./quarantine-queue.js";
import { ownedBlock } from "./wrapper-control.js";
import {
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_QUEUE_BYTES,
  D_RESERVED,
  W_QUEUE,
  W_QUEUE_CAP,
  W_QUEUE_COUNT,
  W_QUEUE_HEAD,
  W_QUEUE_HELD,
  W_STATE_BYTES,
  W_TABLE,
  W_TABLE_COUNT,
  W_TABLE_HELD,
  W_TABLE_SLOTS,
} from "./wrapper-layout.js";

/*
 * check()'s walk of a wrapper's state: everything an attach could not vouch
 * for by range checks alone. Every walk is bounded by the sizes attach
 * checked, so damaged memory ends it with a CorruptionError, never a loop.
 */

/** What the walk reads of a wrapper handle. */
export interface CheckedWrapper {
  readonly name: string;
  readonly controlPtr: number;
  readonly backing: Allocator;
  readonly layout: ControlLayout;
  readonly w: number;
  readonly d: number;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /** Kind-specific damage of a table entry, or undefined. */
  entryDamage(e: number): string | undefined;
}

/**
 * Walks the live-block table, the quarantine queue and the free history and
 * compares them with the counters: every entry is findable from its home
 * slot, describes a block of the backing of the recorded size (no two
 * entries the same block), and the sums agree. Throws CorruptionError.
 */
export function checkWrapperState(wrapper: CheckedWrapper, freed: FreeHistory): void {
  const { u32, f64, w, d, backing } = wrapper;
  const size = u32.byteLength;
  const fail = (what: string): never => {
    throw new CorruptionError(`${wrapper.name}: the ${wrapper.layout.kind} state at ${hex(wrapper.controlPtr)} is damaged: ${what}.`);
  };
  const bases = new Set<number>();
  // The table of live blocks.
  const slots = u32[w + W_TABLE_SLOTS]!;
  const tw = u32[w + W_TABLE]! >>> 2;
  let count = 0;
  let liveBytes = 0;
  let held = 0;
  for (let i = 0; i < slots; i++) {
    const e = tw + i * BLOCK_WORDS;
    const ptr = u32[e + B_PTR]!;
    if (ptr === 0) continue;
    count++;
    const base = u32[e + B_BASE]!;
    const blockSize = u32[e + B_SIZE]!;
    const blockHeld = u32[e + B_HELD]!;
    if (hashFind(u32, tw, slots, BLOCK_WORDS, ptr) !== e) fail(`its table cannot find block ${hex(ptr)} from its home slot`);
    if (base === 0 || base > ptr || ptr + blockSize > base + blockHeld || base + blockHeld > size) {
      fail(`its table describes block ${hex(ptr)} (${blockSize} B) in ${hex(base)}..${hex(base + blockHeld)}, which does not hold it`);
    }
    if (bases.has(base) || !ownedBlock(backing, base, blockHeld)) fail(`its table's block ${hex(ptr)} is not a ${blockHeld}-byte block ${hex(base)} of the backing it alone holds`);
    bases.add(base);
    const damage = wrapper.entryDamage(e);
    if (damage !== undefined) fail(`block ${hex(ptr)}: ${damage}`);
    liveBytes += blockSize;
    held += blockHeld;
  }
  if (count !== u32[w + W_TABLE_COUNT] || count !== f64[d + D_LIVE_COUNT]) {
    fail(`its table holds ${count} blocks, its counts say ${u32[w + W_TABLE_COUNT]} and ${f64[d + D_LIVE_COUNT]}`);
  }
  if (liveBytes !== f64[d + D_LIVE_BYTES]) fail(`its blocks hold ${liveBytes} bytes asked, its liveBytes says ${f64[d + D_LIVE_BYTES]}`);
  // The quarantine queue.
  const cap = u32[w + W_QUEUE_CAP]!;
  const queued = u32[w + W_QUEUE_COUNT]!;
  let queuedBytes = 0;
  if (cap > 0) {
    const ring = u32[w + W_QUEUE]! >>> 2;
    const head = u32[w + W_QUEUE_HEAD]!;
    const index = ring + cap * QUEUE_ENTRY_WORDS;
    for (let i = 0; i < queued; i++) {
      const slot = (head + i) & (cap - 1);
      const e = ring + slot * QUEUE_ENTRY_WORDS;
      const ptr = u32[e + Q_PTR]!;
      const blockHeld = u32[e + Q_HELD]!;
      const at = hashFind(u32, index, cap * 2, 2, ptr);
      if (ptr === 0 || at < 0 || u32[at + 1] !== slot) fail(`its quarantine queue cannot find block ${hex(ptr)} (entry ${slot})`);
      if (u32[e + Q_SIZE]! > blockHeld || ptr + blockHeld > size || bases.has(ptr) || !ownedBlock(backing, ptr, blockHeld)) {
        fail(`its quarantine holds block ${hex(ptr)} (${blockHeld} B), which is not a block of that size of the backing it alone holds`);
      }
      bases.add(ptr);
      queuedBytes += blockHeld;
    }
    let indexed = 0;
    for (let i = 0; i < cap * 2; i++) if (u32[index + i * 2] !== 0) indexed++;
    if (indexed !== queued) fail(`its quarantine index holds ${indexed} pointers for ${queued} blocks`);
  }
  if (queuedBytes !== f64[d + D_QUEUE_BYTES]) fail(`its quarantined blocks hold ${queuedBytes} bytes, its count says ${f64[d + D_QUEUE_BYTES]}`);
  if (held + queuedBytes !== f64[d + D_RESERVED]) fail(`its blocks hold ${held + queuedBytes} bytes of the backing, its count says ${f64[d + D_RESERVED]}`);
  const state = ownedSize(backing, wrapper.controlPtr) + u32[w + W_TABLE_HELD]! + u32[w + W_QUEUE_HELD]!;
  if (state !== u32[w + W_STATE_BYTES]) fail(`its own state holds ${state} bytes of the backing, its count says ${u32[w + W_STATE_BYTES]}`);
  const history = freed.damage();
  if (history !== undefined) fail(history);
}

function ownedSize(backing: Allocator, ptr: number): number {
  try {
    return backing.allocatedSize(ptr);
  } catch {
    return -1;
  }
}
