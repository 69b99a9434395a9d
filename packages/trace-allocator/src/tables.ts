import { CorruptionError, OutOfMemoryError, formatSize, hex } from "@memkit/core";
import {
  ENTRY_BYTES,
  ENTRY_NEXT,
  FIRST_ID,
  LIVE,
  TABLE_NAMES,
  TAG_LIVE,
  TW_CAP,
  TW_FREE,
  TW_LIVE,
  TW_PTR,
  TW_USED,
  T_BACKINGS,
  T_LABELS,
  T_RECORDS,
  T_ROWS,
  TABLE_SKEW,
  EPOCH_MASK,
  W_EPOCH,
  W_META_BLOCKS,
  W_META_BYTES,
  tableWord,
} from "./layout.js";
import type { TreeMemory, TreeView } from "./tree-view.js";

/*
 * The tree's tables (layout.ts) are blocks leased from the tree's backing.
 * A full table grows by reallocation, done by hand: allocate the larger
 * block, then look again (the backing may have run code that grew the same
 * table meanwhile: a grow listener that allocates through the tree), copy,
 * switch the descriptor, free the old block. So growth is safe at any depth
 * of re-entry, and a failed growth changes nothing.
 *
 * Callers reserve room first (reserveEntries, which may call the backing),
 * then re-check what they rely on, then take entries (which never call it).
 */

/** Most bytes one table may take (the address space is at most 4 GiB; a table past 1 GiB is a runaway). */
const MAX_TABLE_BYTES = 1 << 30;

/** True when the table appends only (LABELS, BACKINGS) or is dense (RECORDS): no free list. */
function appendOnly(t: number): boolean {
  return t === T_RECORDS || t === T_LABELS || t === T_BACKINGS;
}

/** The bit of word 0 that marks a live entry of table `t`. */
export function liveBit(t: number): number {
  return t === T_ROWS ? LIVE : TAG_LIVE;
}

/** Entries table `t` can hand out without growing. */
export function tableRoom(view: TreeView, t: number): number {
  const u32 = view.u32;
  const cap = u32[view.cw + tableWord(t, TW_CAP)]!;
  if (appendOnly(t)) return cap - u32[view.cw + tableWord(t, TW_USED)]!;
  return cap - FIRST_ID[t]! - u32[view.cw + tableWord(t, TW_LIVE)]!;
}

/** Grows table `t` until `n` entries can be taken. May call the backing (and so re-enter the tree). */
export function reserveEntries(mem: TreeMemory, t: number, n: number): void {
  while (tableRoom(mem, t) < n) {
    const cap = mem.u32[mem.cw + tableWord(t, TW_CAP)]!;
    growTable(mem, t, Math.max(8, cap * 2, cap + n + FIRST_ID[t]!));
  }
}

/** Makes table `t` hold at least `minCap` entries (bytes, for STRINGS). */
export function growTable(mem: TreeMemory, t: number, minCap: number): void {
  const eb = ENTRY_BYTES[t]!;
  for (;;) {
    const cw = mem.cw;
    const oldPtr = mem.u32[cw + tableWord(t, TW_PTR)]!;
    const oldCap = mem.u32[cw + tableWord(t, TW_CAP)]!;
    if (oldCap >= minCap) return;
    const bytes = Math.ceil((minCap * eb) / 8) * 8;
    if (bytes > MAX_TABLE_BYTES) {
      throw new OutOfMemoryError(`TraceAllocator: the scope tree's ${TABLE_NAMES[t]} table would need ${formatSize(bytes)}; the most a table may take is ${formatSize(MAX_TABLE_BYTES)}.`);
    }
    // Rows start on a cache line (a row's first 64 bytes are what the hot paths touch), skewed off the block's start.
    const skew = TABLE_SKEW[t]!;
    const ptr = mem.metaBacking.allocate(bytes + skew, t === T_ROWS ? 64 : 8) + skew;
    const u32 = mem.u32;
    if (u32[cw + tableWord(t, TW_PTR)] !== oldPtr || u32[cw + tableWord(t, TW_CAP)] !== oldCap) {
      // Code the backing ran grew this table meanwhile: drop ours and look again.
      mem.metaBacking.deallocate(ptr - skew);
      continue;
    }
    const usedBytes = u32[cw + tableWord(t, TW_USED)]! * eb;
    const u8 = mem.u8;
    if (usedBytes > 0) u8.copyWithin(ptr, oldPtr, oldPtr + usedBytes);
    u8.fill(0, ptr + usedBytes, ptr + bytes);
    u32[cw + tableWord(t, TW_PTR)] = ptr;
    u32[cw + tableWord(t, TW_CAP)] = Math.floor(bytes / eb);
    bumpEpoch(mem);
    noteMeta(mem, 1, bytes + skew);
    if (oldPtr !== 0) {
      noteMeta(mem, -1, -(Math.ceil((oldCap * eb) / 8) * 8 + skew));
      mem.metaBacking.deallocate(oldPtr - skew);
    }
    return;
  }
}

/** Counts `blocks` and `bytes` more (or fewer) of the tree's own state. */
export function noteMeta(mem: TreeView, blocks: number, bytes: number): void {
  const u32 = mem.u32;
  u32[mem.cw + W_META_BLOCKS] = u32[mem.cw + W_META_BLOCKS]! + blocks;
  u32[mem.cw + W_META_BYTES] = u32[mem.cw + W_META_BYTES]! + bytes;
}

/**
 * Takes an entry of table `t` (room must be reserved): the first free one,
 * or the next never used. Word 0 is left for the caller to set (a row keeps
 * its generation there); the rest is zero. Returns its id.
 */
export function takeEntry(view: TreeView, t: number): number {
  const u32 = view.u32;
  const cw = view.cw;
  const eb = ENTRY_BYTES[t]!;
  const ptr = u32[cw + tableWord(t, TW_PTR)]!;
  const used = u32[cw + tableWord(t, TW_USED)]!;
  const free = appendOnly(t) ? 0 : u32[cw + tableWord(t, TW_FREE)]!;
  let id: number;
  if (free !== 0) {
    id = free - 1;
    const w = (ptr + id * eb) >>> 2;
    if (id >= used || id < FIRST_ID[t]! || (u32[w]! & liveBit(t)) !== 0) {
      throw new CorruptionError(`TraceAllocator at ${hex(cw << 2)}: the free list of the ${TABLE_NAMES[t]} table is damaged (entry ${id}).`);
    }
    u32[cw + tableWord(t, TW_FREE)] = u32[w + ENTRY_NEXT]!;
  } else {
    id = Math.max(used, FIRST_ID[t]!);
    if (id >= u32[cw + tableWord(t, TW_CAP)]!) throw new CorruptionError(`TraceAllocator at ${hex(cw << 2)}: the ${TABLE_NAMES[t]} table is full (room was not reserved).`);
    u32[cw + tableWord(t, TW_USED)] = id + 1;
  }
  const w = (ptr + id * eb) >>> 2;
  if (t !== T_ROWS) u32[w] = 0;
  u32.fill(0, w + 1, w + eb / 4);
  u32[cw + tableWord(t, TW_LIVE)] = u32[cw + tableWord(t, TW_LIVE)]! + 1;
  return id;
}

/** Gives entry `id` of a free-list table back; word 0 becomes `word0` (0, or a free row's generation). */
export function freeEntry(view: TreeView, t: number, id: number, word0 = 0): void {
  const u32 = view.u32;
  const cw = view.cw;
  const eb = ENTRY_BYTES[t]!;
  const w = (u32[cw + tableWord(t, TW_PTR)]! + id * eb) >>> 2;
  u32.fill(0, w, w + eb / 4);
  u32[w] = word0;
  u32[w + ENTRY_NEXT] = u32[cw + tableWord(t, TW_FREE)]!;
  u32[cw + tableWord(t, TW_FREE)] = id + 1;
  u32[cw + tableWord(t, TW_LIVE)] = u32[cw + tableWord(t, TW_LIVE)]! - 1;
}

/** Word index of entry `id` of table `t`. */
export function entryWord(view: TreeView, t: number, id: number): number {
  return (view.u32[view.cw + tableWord(t, TW_PTR)]! + id * ENTRY_BYTES[t]!) >>> 2;
}

/** Float64 index of entry `id` of table `t`. */
export function entryF64(view: TreeView, t: number, id: number): number {
  return (view.u32[view.cw + tableWord(t, TW_PTR)]! + id * ENTRY_BYTES[t]!) >>> 3;
}

/** True when `id` names a live entry of table `t`. */
export function isLiveEntry(view: TreeView, t: number, id: number): boolean {
  if (id < FIRST_ID[t]! || id >= view.u32[view.cw + tableWord(t, TW_USED)]!) return false;
  return (view.u32[entryWord(view, t, id)]! & liveBit(t)) !== 0;
}

/** Something handles cache changed (a table moved, a row's STATE changed): they re-read it. */
export function bumpEpoch(view: TreeView): void {
  view.u32[view.cw + W_EPOCH] = (view.u32[view.cw + W_EPOCH]! + 1) & EPOCH_MASK;
}
