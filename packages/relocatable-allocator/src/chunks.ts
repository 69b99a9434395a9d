import { OutOfMemoryError, formatSize, type AddressSpace, type Allocator } from "@memkit/core";
import { findFree, insertFree, removeFree, writeFree, carve, type Arena } from "./bins.js";
import {
  CHUNK_HEADER,
  CHUNK_MAGIC,
  D_RESERVED,
  FREE,
  PREV_FREE,
  SENTINEL,
  W_CHUNKS,
  W_CHUNK_CAP,
  W_CHUNK_COUNT,
  W_CURSOR,
  W_CURSOR_CHUNK,
} from "./layout.js";

/** An arena that leases chunks (and its tables) from a backing allocator. */
export interface Leasing extends Arena {
  /** The space its chunks live in (moves go through its `bytes`). */
  readonly space: AddressSpace;
  readonly backing: Allocator;
  readonly name: string;
  readonly chunkBytes: number;
}

/**
 * Resizes a table block of the backing from `oldBytes` to `newBytes` (a new
 * block, the old bytes copied, the old block freed) and returns it. An
 * OutOfMemoryError leaves the old table as it was.
 */
export function regrowTable(r: Leasing, old: number, oldBytes: number, newBytes: number, what: string): number {
  let ptr: number;
  try {
    ptr = r.backing.allocate(newBytes, 8);
  } catch (cause) {
    if (!(cause instanceof OutOfMemoryError)) throw cause;
    throw new OutOfMemoryError(`${r.name}: cannot grow its ${what} to ${formatSize(newBytes)}: the backing "${r.backing.name}" has no room.`, { cause });
  }
  // The allocation may have grown the space: read the views after it.
  if (old !== 0) {
    r.space.bytes.copy(ptr, old, oldBytes);
    r.backing.deallocate(old);
  }
  r.f64[r.d + D_RESERVED]! += newBytes - oldBytes;
  return ptr;
}

/**
 * Leases a chunk whose one free block holds at least `bytes` (a whole block,
 * header included), files that block in the bins and returns it. An
 * OutOfMemoryError from the backing leaves everything as it was.
 */
export function leaseChunk(r: Leasing, bytes: number): number {
  const w = r.w;
  const count = r.u32[w + W_CHUNK_COUNT]!;
  const cap = r.u32[w + W_CHUNK_CAP]!;
  if (count === cap) {
    const grown = cap === 0 ? 8 : cap * 2;
    r.u32[w + W_CHUNKS] = regrowTable(r, r.u32[w + W_CHUNKS]!, cap * 8, grown * 8, "chunk table");
    r.u32[w + W_CHUNK_CAP] = grown;
  }
  const want = Math.max(r.chunkBytes, bytes + CHUNK_HEADER + SENTINEL);
  let ptr: number;
  try {
    ptr = r.backing.allocate(want, 8);
  } catch (cause) {
    if (!(cause instanceof OutOfMemoryError)) throw cause;
    throw new OutOfMemoryError(
      `${r.name}: no free block of ${formatSize(bytes)} and the backing "${r.backing.name}" has no ${formatSize(want)} chunk left.\n` +
        `  Free blocks, compact() to merge holes, or give the backing more memory.`,
      { cause },
    );
  }
  const u32 = r.u32;
  const c = ptr >>> 2;
  u32[c] = want;
  u32[c + 1] = CHUNK_MAGIC;
  u32[c + 2] = 0;
  u32[c + 3] = 0;
  const end = ptr + want - SENTINEL;
  u32[end >>> 2] = 0;
  u32[(end >>> 2) + 1] = 0;
  const first = ptr + CHUNK_HEADER;
  writeFree(u32, first, want - CHUNK_HEADER - SENTINEL);
  insertFree(r, first, want - CHUNK_HEADER - SENTINEL);
  const t = (u32[w + W_CHUNKS]! >>> 2) + count * 2;
  u32[t] = ptr;
  u32[t + 1] = want;
  u32[w + W_CHUNK_COUNT] = count + 1;
  r.f64[r.d + D_RESERVED]! += want;
  return first;
}

/**
 * A free block of at least `bytes` (from the bins, else from a new chunk)
 * made live for `slot`; returns its header address. OutOfMemoryError: nothing changed.
 */
export function takeBlock(r: Leasing, bytes: number, slot: number): number {
  let b = findFree(r, bytes);
  if (b === 0) b = leaseChunk(r, bytes);
  removeFree(r, b, r.u32[b >>> 2]! & ~7);
  carve(r, b, bytes, slot);
  return b;
}

/**
 * Frees the live block at `b`: merges it with free neighbours, and gives its
 * chunk back to the backing when the chunk holds nothing else (the last
 * chunk stays, for the next allocation). Returns the merged free block, or 0
 * when the chunk went back.
 */
export function freeBlock(r: Leasing, b: number): number {
  const u32 = r.u32;
  const w = r.w;
  let size = u32[b >>> 2]! & ~7;
  const prevFree = u32[b >>> 2]! & PREV_FREE;
  const nh = u32[(b + size) >>> 2]!;
  if (nh & FREE) {
    removeFree(r, b + size, nh & ~7);
    size += nh & ~7;
  }
  if (prevFree) {
    const ps = u32[(b - 4) >>> 2]!;
    b -= ps;
    removeFree(r, b, ps);
    size += ps;
  }
  writeFree(u32, b, size);
  const cursor = u32[w + W_CURSOR]!;
  if (cursor > b && cursor < b + size) u32[w + W_CURSOR] = b;
  // The chunk is empty when the block spans it: the sentinel follows and the chunk header precedes.
  if ((u32[(b + size) >>> 2]! & ~7) === 0 && u32[(b - CHUNK_HEADER + 4) >>> 2] === CHUNK_MAGIC && u32[w + W_CHUNK_COUNT]! > 1) {
    const index = chunkIndex(r, b - CHUNK_HEADER);
    if (index >= 0) {
      releaseChunk(r, index);
      return 0;
    }
  }
  insertFree(r, b, size);
  return b;
}

/** Index of the chunk starting at `ptr` in the chunk table, or -1. O(chunks): cold paths only. */
export function chunkIndex(r: Arena, ptr: number): number {
  const u32 = r.u32;
  const t = u32[r.w + W_CHUNKS]! >>> 2;
  const count = u32[r.w + W_CHUNK_COUNT]!;
  for (let i = 0; i < count; i++) if (u32[t + i * 2] === ptr) return i;
  return -1;
}

/** Index of the chunk whose blocks contain `addr`, or -1. O(chunks): cold paths only. */
export function chunkContaining(r: Arena, addr: number): number {
  const u32 = r.u32;
  const t = u32[r.w + W_CHUNKS]! >>> 2;
  const count = u32[r.w + W_CHUNK_COUNT]!;
  for (let i = 0; i < count; i++) {
    const start = u32[t + i * 2]!;
    if (addr >= start + CHUNK_HEADER && addr < start + u32[t + i * 2 + 1]! - SENTINEL) return i;
  }
  return -1;
}

/** Gives chunk `index` (whose one free block is out of the bins) back to the backing; the last entry takes its place. */
function releaseChunk(r: Leasing, index: number): void {
  const u32 = r.u32;
  const w = r.w;
  const t = u32[w + W_CHUNKS]! >>> 2;
  const last = u32[w + W_CHUNK_COUNT]! - 1;
  const ptr = u32[t + index * 2]!;
  const bytes = u32[t + index * 2 + 1]!;
  u32[t + index * 2] = u32[t + last * 2]!;
  u32[t + index * 2 + 1] = u32[t + last * 2 + 1]!;
  u32[w + W_CHUNK_COUNT] = last;
  // The last chunk took the released one's place: the compaction cursor follows it.
  const cursorChunk = u32[w + W_CURSOR_CHUNK]!;
  if (cursorChunk === index) u32[w + W_CURSOR] = 0;
  else if (cursorChunk === last) u32[w + W_CURSOR_CHUNK] = index;
  r.f64[r.d + D_RESERVED]! -= bytes;
  r.backing.deallocate(ptr);
}
