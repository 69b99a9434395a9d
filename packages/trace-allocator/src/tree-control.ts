import { freeLanes } from "./lanes.js";
import {
  CorruptionError,
  SpaceHandle,
  controlWord,
  hex,
  initControl,
  retireControl,
  sealControl,
  type Allocator,
  type Attachment,
  type Ptr,
} from "@memkit/core";
import {
  ENTRY_BYTES,
  FIRST_ID,
  FLAG_GUARDED,
  FLAG_SHARED_BACKING,
  FLAG_THREADS,
  FLAGS_MASK,
  GEN_MASK,
  GEN_SHIFT,
  LEVEL_MASK,
  LIVE,
  ROW_GUARDED,
  S_BACKING,
  S_PATH,
  S_SAMPLE,
  S_STATE,
  TABLE_COUNT,
  TABLE_SKEW,
  TABLE_NAMES,
  TRACE_LAYOUT,
  TW_CAP,
  TW_FREE,
  TW_LIVE,
  TW_PTR,
  TW_USED,
  T_BACKINGS,
  T_LABELS,
  T_RECORDS,
  T_ROWS,
  T_STRINGS,
  W_BACKING,
  W_FLAGS,
  W_FRAME,
  W_META_BLOCKS,
  W_META_BYTES,
  W_NEXT_STACK,
  W_RING_AT,
  W_RING_SLOTS,
  W_STACK_DEPTH,
  W_TREE_ID,
  controlBytes,
  tableWord,
} from "./layout.js";
import { openRow } from "./scope-rows.js";
import { isString, newString } from "./strings.js";
import { growTable, reserveEntries } from "./tables.js";
import { SpaceTreeView, enterTree, leaveTree, type TreeLock } from "./tree-lock.js";
import { parentOf, rowWord, type TreeMemory } from "./tree-view.js";

/*
 * Building, opening and giving back a tree's control block and tables.
 * Attaching trusts nothing: core's openControl checks the header and the
 * seal over the fixed words; verifyTree range-checks every state word, every
 * table descriptor (inside the space, clear of the control block and of each
 * other, a live block of the backing large enough) and every row (parent
 * chain, level, path), so a damaged tree is a CorruptionError here, or at the
 * first check(), never a handle that writes outside its tables.
 */

/** Settings fixed for a whole tree. */
export interface TreeSettings {
  guardHeaders: boolean;
  /** Entries of the recent-free ring (a power of two). */
  ringSlots: number;
  stackDepth: number;
  /** Records to make room for up front. */
  initialCapacity: number;
  /** Any backing of the space may serve the tables (per-thread routed allocators): W_BACKING is 0. */
  sharedBacking: boolean;
  /** Shared by threads: every handle holds the tree lock. */
  threads: boolean;
}

/** The root scope of a new tree. */
export interface RootSpec {
  name: string;
  level: number;
  sampleEvery: number;
}

/** A TreeMemory over the space's shared views, for building a tree before any handle exists. */
class BuildMemory extends SpaceTreeView implements TreeMemory {
  constructor(
    readonly metaBacking: Allocator,
    cw: number,
    path = "TraceAllocator",
  ) {
    super(metaBacking.space, cw * 4, path);
  }
  override backingOf(): Allocator {
    return this.metaBacking;
  }
}

/** Builds a tree over `backing`: its control block and tables, and the root row. Returns the control block's address. */
export function createTree(backing: Allocator, settings: TreeSettings, root: RootSpec): Ptr {
  const space = backing.space;
  const bytes = controlBytes(settings.ringSlots);
  // 64-aligned: the words every allocate and free reads share one cache line.
  const ptr = backing.allocate(bytes, 64);
  const mem = new BuildMemory(backing, ptr >>> 2);
  try {
    initControl(space, ptr, TRACE_LAYOUT, bytes);
    const u32 = mem.u32;
    const cw = mem.cw;
    u32[cw + W_FLAGS] = (settings.guardHeaders ? FLAG_GUARDED : 0) | (settings.sharedBacking ? FLAG_SHARED_BACKING : 0) | (settings.threads ? FLAG_THREADS : 0);
    u32[cw + W_RING_SLOTS] = settings.ringSlots;
    u32[cw + W_STACK_DEPTH] = settings.stackDepth;
    u32[cw + W_TREE_ID] = (Math.random() * 0x100000000) >>> 0;
    u32[cw + W_BACKING] = backing instanceof SpaceHandle && !settings.sharedBacking ? backing.controlPtr : 0;
    sealControl(space, ptr, TRACE_LAYOUT);
    u32[cw + W_NEXT_STACK] = 1;
    u32[cw + W_META_BLOCKS] = 1;
    u32[cw + W_META_BYTES] = bytes;
    for (let t = 0; t < TABLE_COUNT; t++) u32[cw + tableWord(t, TW_USED)] = FIRST_ID[t]!;
    growTable(mem, T_RECORDS, settings.initialCapacity);
    growTable(mem, T_ROWS, 4);
    growTable(mem, T_STRINGS, 256);
    const path = newString(mem, root.name);
    reserveEntries(mem, T_ROWS, 1);
    openRow(mem, { parent: -1, path, level: root.level, sampleEvery: root.sampleEvery, backing: 0, flags: settings.guardHeaders ? ROW_GUARDED : 0 });
  } catch (err) {
    freeTree(mem, ptr);
    throw err;
  }
  return ptr;
}

/** Gives every table and the control block back to the backing, and retires the block (attach then refuses it). */
export function freeTree(mem: TreeMemory, ptr: Ptr): void {
  freeLanes(mem);
  for (let t = 0; t < TABLE_COUNT; t++) {
    const table = mem.u32[mem.cw + tableWord(t, TW_PTR)]!;
    if (table === 0) continue;
    mem.u32[mem.cw + tableWord(t, TW_PTR)] = 0;
    mem.metaBacking.deallocate(table - TABLE_SKEW[t]!);
  }
  retireControl(mem.metaBacking.space, ptr);
  mem.metaBacking.deallocate(ptr);
}

/** Verifies the tree an attach opened (see verifyTree), its tables checked against `backing`; under the tree lock when there is one. */
export function openTree(attachment: Attachment, backing: Allocator, tree: TreeLock | undefined): void {
  const mem = new BuildMemory(backing, attachment.controlPtr >>> 2, attachment.who);
  if (tree === undefined) return verifyTree(mem, attachment.bytes, attachment.who);
  enterTree(tree, mem, true);
  try {
    verifyTree(mem, attachment.bytes, attachment.who);
  } finally {
    leaveTree(tree);
  }
}

function damaged(who: string, ptr: Ptr, what: string): CorruptionError {
  return new CorruptionError(`${who}: the TraceAllocator control block at ${hex(ptr)} is damaged: ${what}.`);
}

/**
 * Verifies what an attach relies on (see the top of this file). `bytes` is
 * the control block's size from its header. Throws CorruptionError.
 */
export function verifyTree(mem: TreeMemory, bytes: number, who: string): void {
  const ptr = mem.cw << 2;
  const u32 = mem.u32;
  const cw = mem.cw;
  const layout = TRACE_LAYOUT;
  const flags = controlWord(u32, ptr, W_FLAGS, 0, FLAGS_MASK, layout, "flags");
  const anyBacking = (flags & FLAG_SHARED_BACKING) !== 0;
  const slots = controlWord(u32, ptr, W_RING_SLOTS, 1, 1 << 20, layout, "ring slots");
  if ((slots & (slots - 1)) !== 0 || bytes !== controlBytes(slots)) throw damaged(who, ptr, `its ring of ${slots} entries does not match its ${bytes} bytes`);
  controlWord(u32, ptr, W_STACK_DEPTH, 1, 256, layout, "stack depth");
  controlWord(u32, ptr, W_FRAME, 0, 0x7fffffff, layout, "frame");
  const at = controlWord(u32, ptr, W_RING_AT, 0, slots * 2 - 2, layout, "ring position");
  if (at % 2 !== 0) throw damaged(who, ptr, `the ring position ${at} is odd`);
  controlWord(u32, ptr, W_NEXT_STACK, 1, 0x7fffffff, layout, "next stack id");
  controlWord(u32, ptr, W_META_BLOCKS, 1, 64, layout, "state blocks");
  const size = mem.u8.length;
  const spans: [number, number, string][] = [[ptr, ptr + bytes, "the control block"]];
  for (let t = 0; t < TABLE_COUNT; t++) {
    const name = `${TABLE_NAMES[t]} table`;
    const eb = ENTRY_BYTES[t]!;
    const at = u32[cw + tableWord(t, TW_PTR)]!;
    const cap = u32[cw + tableWord(t, TW_CAP)]!;
    const used = u32[cw + tableWord(t, TW_USED)]!;
    const first = FIRST_ID[t]!;
    const tableBytes = cap * eb;
    if (at === 0 ? cap !== 0 : at % 8 !== 0 || at < TABLE_SKEW[t]! || at + tableBytes > size || tableBytes === 0) {
      throw damaged(who, ptr, `the ${name} at ${hex(at)} with room for ${cap} entries does not fit the ${size}-byte space`);
    }
    if (used < first || used > Math.max(cap, first)) throw damaged(who, ptr, `the ${name} uses ${used} of ${cap} entries`);
    if (t !== T_RECORDS && t !== T_STRINGS && t !== T_BACKINGS && t !== T_LABELS) {
      const free = u32[cw + tableWord(t, TW_FREE)]!;
      const live = u32[cw + tableWord(t, TW_LIVE)]!;
      if (free > used || live > used - first) throw damaged(who, ptr, `the ${name} has ${live} live entries and its free list at ${free - 1} (${used} used)`);
    }
    if (t === T_STRINGS && u32[cw + tableWord(t, TW_FREE)]! > used) throw damaged(who, ptr, `the string table counts more dead bytes than it uses`);
    if (at === 0) continue;
    const base = at - TABLE_SKEW[t]!;
    for (const [lo, hi, what] of spans) {
      if (base < hi && lo < at + tableBytes) throw damaged(who, ptr, `the ${name} at ${hex(at)} overlaps ${what}`);
    }
    spans.push([base, at + tableBytes, `the ${name}`]);
    if (!isBackingBlock(mem.metaBacking, base, tableBytes + TABLE_SKEW[t]!, anyBacking)) {
      throw damaged(who, ptr, `the ${name} at ${hex(at)} is not a live block of ${anyBacking ? "the backings (any routed allocator of the space)" : mem.metaBacking.name} large enough for it`);
    }
  }
  verifyRows(mem, who);
}

/**
 * True when `ptr` is a live block of `backing` with at least `bytes` usable.
 * With shared backings a table may come from another thread's allocator: any
 * block the backing can size (a routed allocator sizes every live block of its
 * peers, and refuses anything else) will do.
 */
function isBackingBlock(backing: Allocator, ptr: number, bytes: number, anyBacking: boolean): boolean {
  try {
    return (anyBacking || backing.owns(ptr)) && backing.allocatedSize(ptr) >= bytes;
  } catch {
    return false;
  }
}

/** Every live row: a level, a path, a backing id, and a parent chain that ends at the root. */
export function verifyRows(mem: TreeMemory, who: string): void {
  const ptr = mem.cw << 2;
  const u32 = mem.u32;
  const used = u32[mem.cw + tableWord(T_ROWS, TW_USED)]!;
  const backings = u32[mem.cw + tableWord(T_BACKINGS, TW_USED)]!;
  if (used < 1) throw damaged(who, ptr, "it has no root row");
  for (let row = 0; row < used; row++) {
    const rw = rowWord(mem, row);
    const state = u32[rw + S_STATE]!;
    if ((state & LIVE) === 0) {
      if (row === 0) throw damaged(who, ptr, "its root row is not live");
      continue;
    }
    if ((state & LEVEL_MASK) > 2 || (state & 0xc0) !== 0) throw damaged(who, ptr, `row ${row} holds the state word ${hex(state)}`);
    if (((state >>> GEN_SHIFT) & GEN_MASK) !== state >>> GEN_SHIFT) throw damaged(who, ptr, `row ${row} holds the state word ${hex(state)}`);
    if (!isString(mem, u32[rw + S_PATH]!)) throw damaged(who, ptr, `row ${row} names no path string`);
    if (u32[rw + S_BACKING]! >= Math.max(1, backings)) throw damaged(who, ptr, `row ${row} names backing ${u32[rw + S_BACKING]}, which the tree does not hold`);
    if (u32[rw + S_SAMPLE]! < 1 || u32[rw + S_SAMPLE]! > 0x7fffffff) throw damaged(who, ptr, `row ${row} samples every ${u32[rw + S_SAMPLE]} allocations`);
    let r = row;
    for (let steps = 0; r !== 0; steps++) {
      const parent = parentOf(mem, r);
      if (steps >= used || parent < 0 || parent >= used || (u32[rowWord(mem, parent) + S_STATE]! & LIVE) === 0) {
        throw damaged(who, ptr, `row ${row} has no parent chain to the root (at row ${r}: parent ${parent})`);
      }
      r = parent;
    }
    if (row === 0 && parentOf(mem, 0) !== -1) throw damaged(who, ptr, `the root row names parent ${parentOf(mem, 0)}`);
  }
}
