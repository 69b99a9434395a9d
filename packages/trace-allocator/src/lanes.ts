import type { ThreadSeat } from "@memkit/core";
import {
  CHUNK_BYTES,
  CHUNK_MASK,
  CHUNK_SHIFT,
  COUNTER_SHIFT,
  C_ALLOC_BYTES,
  C_ALLOC_COUNT,
  C_FREE_BYTES,
  C_FREE_COUNT,
  C_ADOPT_BYTES,
  C_ADOPT_COUNT,
  DIR_BLOCKS,
  DIR_BYTES,
  DIR_SLOTS,
  DIR_WORDS,
  E_PTR,
  E_SIZE,
  E_WORD,
  LANE_WORDS,
  L_CHUNKS,
  L_DIR,
  L_FREE,
  L_OPS,
  L_OWNER,
  L_REMOTE,
  L_ROWS_PTR,
  L_ROW_CAP,
  L_USED,
  LANE_SLOTS,
  W_LANES,
  laneCode,
} from "./lane-layout.js";
import { HEADER_BYTES, ROW_MASK } from "./layout.js";
import { rowCount, type TreeMemory, type TreeView } from "./tree-view.js";

/*
 * A thread's own lane (lane-layout.ts): what its handles cache of it, the
 * steps its lock-free block paths take (shared-blocks.ts), and the growth
 * and hand-over steps, which hold the tree lock.
 */

/** This thread's lane of one tree: positions the owner caches (only it moves them, under the tree lock). */
export class Lane {
  /** Word index of the lane block. */
  readonly lw: number;
  /** The top byte of this lane's header words (LANE_BIT | slot << 24, shifted down). */
  readonly tag: number;
  /** Float64 index of the counter table, and the rows it holds. */
  cf = 0;
  rowCap = 0;

  constructor(
    readonly slot: number,
    lanePtr: number,
  ) {
    this.lw = lanePtr >>> 2;
    this.tag = 0x80 | slot;
  }

  /** Re-reads the counter table's position (after it grew). */
  sync(u32: Uint32Array): void {
    this.cf = u32[this.lw + L_ROWS_PTR]! >>> 3;
    this.rowCap = u32[this.lw + L_ROW_CAP]!;
  }

  /** An entry for a new block: the free list, else what other threads gave back, else a new one; -1 when the chunks are full. */
  take(i32: Int32Array): number {
    const lw = this.lw;
    let head = i32[lw + L_FREE]!;
    if (head === 0 && i32[lw + L_REMOTE] !== 0) head = Atomics.exchange(i32, lw + L_REMOTE, 0);
    if (head !== 0) {
      const e = head - 1;
      i32[lw + L_FREE] = i32[entryWord(i32, lw, e) + E_SIZE]!;
      return e;
    }
    const used = i32[lw + L_USED]!;
    if (used >= i32[lw + L_CHUNKS]! << CHUNK_SHIFT) return -1;
    i32[lw + L_USED] = used + 1;
    return used;
  }

  /** Puts entry `e` (at int32 index `r`, its PTR already 0) on the free list. */
  give(i32: Int32Array, e: number, r: number): void {
    i32[r + E_SIZE] = i32[this.lw + L_FREE]!;
    i32[this.lw + L_FREE] = e + 1;
  }
}

/** Int32 index of entry `e` of the lane at word `lw` (its chunk must exist). */
export function entryWord(i32: Int32Array, lw: number, e: number): number {
  return (i32[lw + L_DIR + (e >>> CHUNK_SHIFT)]! >>> 2) + ((e & CHUNK_MASK) << 2);
}

/** Word index of the lanes directory, 0 when no lane was ever opened. */
export function lanesDirectory(view: TreeView): number {
  return view.u32[view.cw + W_LANES]! >>> 2;
}

/** Word index of the lane block of `slot`, 0 when it has none. */
export function laneOf(view: TreeView, slot: number): number {
  const dir = lanesDirectory(view);
  return dir === 0 ? 0 : view.u32[dir + slot]! >>> 2;
}

function noteLaneMeta(mem: TreeView, blocks: number, bytes: number): void {
  const dir = lanesDirectory(mem);
  mem.u32[dir + DIR_BLOCKS] = mem.u32[dir + DIR_BLOCKS]! + blocks;
  mem.u32[dir + DIR_BYTES] = mem.u32[dir + DIR_BYTES]! + bytes;
}

/** A zeroed block of `bytes` from the tree's backing. */
function leaseZeroed(mem: TreeMemory, bytes: number, align: number): number {
  const ptr = mem.metaBacking.allocate(bytes, align);
  mem.u8.fill(0, ptr, ptr + bytes);
  return ptr;
}

/**
 * Under the tree lock: the lane of `seat`'s slot, made when it has none, and
 * taken over from the slot's previous thread (an ended or dead one) when it
 * has one: its half-done work is repaired first (repairLane). `memoryKey`
 * names the memory (its WebAssembly.Memory) for this thread's Lane objects.
 */
export function openLane(mem: TreeMemory, seat: ThreadSeat, memoryKey: object): Lane {
  if (lanesDirectory(mem) === 0) {
    const dir = leaseZeroed(mem, DIR_WORDS * 4, 8);
    mem.u32[mem.cw + W_LANES] = dir;
    noteLaneMeta(mem, 1, DIR_WORDS * 4);
  }
  let lw = laneOf(mem, seat.slot);
  const owner = (seat.generation & 0xffffff) + 1;
  if (lw === 0) {
    const ptr = leaseZeroed(mem, LANE_WORDS * 4, 64);
    mem.u32[lanesDirectory(mem) + seat.slot] = ptr;
    noteLaneMeta(mem, 1, LANE_WORDS * 4);
    lw = ptr >>> 2;
  } else if (mem.u32[lw + L_OWNER] !== owner) {
    repairLane(mem, lw, seat.slot);
  }
  mem.u32[lw + L_OWNER] = owner;
  // One Lane object per lane in this thread, whichever of its lock handles opens it: what one grows, all see.
  let known = lanesOf.get(memoryKey);
  if (known === undefined) lanesOf.set(memoryKey, (known = new Map<number, Lane>()));
  let lane = known.get(lw);
  if (lane === undefined || lane.slot !== seat.slot) known.set(lw, (lane = new Lane(seat.slot, lw << 2)));
  lane.sync(mem.u32);
  return lane;
}

/** This thread's Lane objects by lane block, per memory (the memory object as key). */
const lanesOf = new WeakMap<object, Map<number, Lane>>();

/** Under the tree lock: one more chunk of entries; false when the directory is full. */
export function growEntries(mem: TreeMemory, lane: Lane): boolean {
  const lw = lane.lw;
  const chunks = mem.u32[lw + L_CHUNKS]!;
  if (chunks >= DIR_SLOTS) return false;
  const ptr = leaseZeroed(mem, CHUNK_BYTES, 16);
  mem.u32[lw + L_DIR + chunks] = ptr;
  mem.u32[lw + L_CHUNKS] = chunks + 1;
  noteLaneMeta(mem, 1, CHUNK_BYTES);
  return true;
}

/** Under the tree lock: a counter table with room for every row of the tree (and `row`). */
export function growCounters(mem: TreeMemory, lane: Lane, row: number): void {
  const lw = lane.lw;
  const oldCap = mem.u32[lw + L_ROW_CAP]!;
  let cap = Math.max(16, oldCap);
  while (cap <= row || cap < rowCount(mem)) cap *= 2;
  const bytes = cap << (COUNTER_SHIFT + 3);
  const ptr = leaseZeroed(mem, bytes, 8);
  const old = mem.u32[lw + L_ROWS_PTR]!;
  if (old !== 0) {
    const oldBytes = oldCap << (COUNTER_SHIFT + 3);
    mem.u8.copyWithin(ptr, old, old + oldBytes);
    mem.metaBacking.deallocate(old);
    noteLaneMeta(mem, -1, -oldBytes);
  }
  mem.u32[lw + L_ROWS_PTR] = ptr;
  mem.u32[lw + L_ROW_CAP] = cap;
  noteLaneMeta(mem, 1, bytes);
  lane.sync(mem.u32);
}

/**
 * Under the tree lock, for a lane whose thread no longer runs (ended, or
 * declared dead, maybe in the middle of an operation on it): drops an entry
 * whose block never got its header, makes each row's counts match the live
 * entries (a half-counted operation: an allocation counts as done, a free
 * whose entry was claimed counts as done; the backing block of either may be
 * lost), and rebuilds the free list from the free entries.
 */
export function repairLane(mem: TreeView, lw: number, slot: number): void {
  const i32 = mem.i32;
  const f64 = mem.f64;
  const used = i32[lw + L_USED]!;
  const live = new Map<number, [number, number]>();
  let free = 0;
  for (let e = used - 1; e >= 0; e--) {
    const r = entryWord(i32, lw, e);
    const ptr = i32[r + E_PTR]!;
    if (ptr !== 0 && ((ptr & 7) !== 0 || (ptr - HEADER_BYTES) >> 2 >= i32.length || i32[(ptr - HEADER_BYTES) >> 2] !== laneCode(slot, e))) i32[r + E_PTR] = 0;
    if (i32[r + E_PTR] === 0) {
      i32[r + E_SIZE] = free;
      free = e + 1;
      continue;
    }
    const row = i32[r + E_WORD]! & ROW_MASK;
    const sums = live.get(row) ?? [0, 0];
    sums[0]++;
    sums[1] += i32[r + E_SIZE]!;
    live.set(row, sums);
  }
  i32[lw + L_FREE] = free;
  Atomics.store(i32, lw + L_REMOTE, 0);
  // A call cut short left OPS odd ("in flight"); the slot's next thread starts between calls.
  i32[lw + L_OPS] = (i32[lw + L_OPS]! + 1) & -2;
  const cf = mem.u32[lw + L_ROWS_PTR]! >>> 3;
  const cap = mem.u32[lw + L_ROW_CAP]!;
  for (let row = 0; row < cap; row++) {
    const c = cf + (row << COUNTER_SHIFT);
    const [count, bytes] = live.get(row) ?? [0, 0];
    const dc = count - (f64[c + C_ALLOC_COUNT]! - f64[c + C_FREE_COUNT]! - f64[c + C_ADOPT_COUNT]!);
    if (dc > 0) f64[c + C_ALLOC_COUNT]! += dc;
    else if (dc < 0) f64[c + C_FREE_COUNT]! -= dc;
    const db = bytes - (f64[c + C_ALLOC_BYTES]! - f64[c + C_FREE_BYTES]! - f64[c + C_ADOPT_BYTES]!);
    if (db > 0) f64[c + C_ALLOC_BYTES]! += db;
    else if (db < 0) f64[c + C_FREE_BYTES]! -= db;
  }
}

/** Gives every lane's blocks back to the tree's backing (the tree is being freed). */
export function freeLanes(mem: TreeMemory): void {
  const dir = lanesDirectory(mem);
  if (dir === 0) return;
  const u32 = mem.u32;
  for (let slot = 0; slot < LANE_SLOTS; slot++) {
    const lw = u32[dir + slot]! >>> 2;
    if (lw === 0) continue;
    for (let k = 0; k < u32[lw + L_CHUNKS]!; k++) mem.metaBacking.deallocate(u32[lw + L_DIR + k]!);
    if (u32[lw + L_ROWS_PTR] !== 0) mem.metaBacking.deallocate(u32[lw + L_ROWS_PTR]!);
    mem.metaBacking.deallocate(lw << 2);
  }
  u32[mem.cw + W_LANES] = 0;
  mem.metaBacking.deallocate(dir << 2);
}

/** Blocks and bytes the lanes hold (the tree's own state, beside its tables). */
export function laneOverhead(view: TreeView): { blocks: number; bytes: number } {
  const dir = lanesDirectory(view);
  return dir === 0 ? { blocks: 0, bytes: 0 } : { blocks: view.u32[dir + DIR_BLOCKS]!, bytes: view.u32[dir + DIR_BYTES]! };
}

/**
 * Calls `visit` for every live entry of every lane: a pointer, and the
 * block's header naming the entry (an entry whose owner is still writing it,
 * or which a dead owner left half made, is not live yet). Cold paths.
 */
export function forEachLiveEntry(view: TreeView, visit: (slot: number, lw: number, e: number, r: number, ptr: number) => void): void {
  const dir = lanesDirectory(view);
  if (dir === 0) return;
  for (let slot = 0; slot < LANE_SLOTS; slot++) {
    const lw = view.u32[dir + slot]! >>> 2;
    if (lw === 0) continue;
    const used = view.u32[lw + L_USED]!;
    for (let e = 0; e < used; e++) {
      const i32 = view.i32;
      const r = entryWord(i32, lw, e);
      const ptr = i32[r + E_PTR]!;
      if (ptr !== 0 && (ptr & 7) === 0 && (ptr - HEADER_BYTES) >> 2 < i32.length && i32[(ptr - HEADER_BYTES) >> 2] === laneCode(slot, e)) visit(slot, lw, e, r, ptr);
    }
  }
}
