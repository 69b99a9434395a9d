import { FREE, MIN_BLOCK, PREV_FREE, W_BINS, W_BIN_MAP } from "./layout.js";

/** What the block-level functions need: the cached views and the control block's word index. */
export interface Arena {
  u32: Uint32Array;
  i32: Int32Array;
  f64: Float64Array;
  /** u32 index of the control block. */
  readonly w: number;
  /** f64 index of the control block. */
  readonly d: number;
}

/** Bin of a free block of `size` bytes: floor(log2(size)), so bin k holds sizes [2^k, 2^(k+1)). */
export function binOf(size: number): number {
  return 31 - Math.clz32(size);
}

/** Adds the free block at `b` (header address) to the head of its bin. */
export function insertFree(a: Arena, b: number, size: number): void {
  const u32 = a.u32;
  const k = binOf(size);
  const head = u32[a.w + W_BINS + k]!;
  u32[(b + 8) >>> 2] = head;
  u32[(b + 12) >>> 2] = 0;
  if (head !== 0) u32[(head + 12) >>> 2] = b;
  u32[a.w + W_BINS + k] = b;
  u32[a.w + W_BIN_MAP]! |= 1 << k;
}

/** Takes the free block at `b` out of its bin. */
export function removeFree(a: Arena, b: number, size: number): void {
  const u32 = a.u32;
  const next = u32[(b + 8) >>> 2]!;
  const prev = u32[(b + 12) >>> 2]!;
  if (next !== 0) u32[(next + 12) >>> 2] = prev;
  if (prev !== 0) u32[(prev + 8) >>> 2] = next;
  else {
    const k = binOf(size);
    u32[a.w + W_BINS + k] = next;
    if (next === 0) u32[a.w + W_BIN_MAP]! &= ~(1 << k);
  }
}

/**
 * A free block of at least `bytes`, or 0. O(1): the head of the size's own bin
 * when it fits (a good fit that spares large blocks), else the head of the
 * lowest non-empty bin above it, which always fits.
 */
export function findFree(a: Arena, bytes: number): number {
  const u32 = a.u32;
  const k = binOf(bytes);
  const head = u32[a.w + W_BINS + k]!;
  if (head !== 0 && (u32[head >>> 2]! & ~7) >= bytes) return head;
  // Bins above k; `2 << 31` is 0 in 32-bit arithmetic, so k = 31 leaves no bin.
  const above = u32[a.w + W_BIN_MAP]! & ~((2 << k) - 1);
  if (above === 0) return 0;
  return u32[a.w + W_BINS + binOf(above & -above)]!;
}

/** Writes a free block of `size` at `b` (header, footer) and marks the block after it. Does not bin it. */
export function writeFree(u32: Uint32Array, b: number, size: number): void {
  u32[b >>> 2] = size | FREE;
  u32[(b + size - 4) >>> 2] = size;
  u32[(b + size) >>> 2]! |= PREV_FREE;
}

/**
 * Turns the free block at `b` (already out of its bin) into a live block of
 * `bytes` for slot `slot`, returning the rest (when it can hold a block) to
 * the bins. The block before a free block is never free, so PREV_FREE is 0.
 */
export function carve(a: Arena, b: number, bytes: number, slot: number): number {
  const u32 = a.u32;
  const size = u32[b >>> 2]! & ~7;
  const rest = size - bytes;
  if (rest >= MIN_BLOCK) {
    writeFree(u32, b + bytes, rest);
    insertFree(a, b + bytes, rest);
  } else {
    bytes = size;
    u32[(b + size) >>> 2]! &= ~PREV_FREE;
  }
  u32[b >>> 2] = bytes;
  u32[(b + 4) >>> 2] = slot;
  return bytes;
}
