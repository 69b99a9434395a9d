import { FREE, SIZE_MASK, SPAN_BITMAP_W, W_OWNER, W_PAGE_SHIFT, W_REMOTE_HEAD } from "./layout.js";

/*
 * Reads of a heap this thread holds no handle on: another thread's heap,
 * whose block this thread is asked to free or resize (docs/threads.md). Only
 * reads, and only words that do not change while the block is live (its
 * span's tag, its bit in the block-start bitmap, its header's size and FREE
 * bit), so they are safe while the owner works on other blocks.
 */

/** Int32 word index of the remote-free list head of the heap whose control block is at `controlPtr`. */
export function heapRemoteFreeWord(controlPtr: number): number {
  return (controlPtr >>> 2) + W_REMOTE_HEAD;
}

/**
 * Usable bytes of the live block at `ptr` of the heap whose control block is
 * at `controlPtr` (its page allocator's tag array starts at int32 word
 * `tagWordBase`), or -1 when `ptr` is not a live block of it.
 */
export function foreignHeapBlockSize(i32: Int32Array, controlPtr: number, tagWordBase: number, ptr: number): number {
  if ((ptr & 7) !== 0) return -1;
  const cw = controlPtr >>> 2;
  const shift = i32[cw + W_PAGE_SHIFT]!;
  const tag = i32[tagWordBase + (ptr >>> shift)]!;
  if (tag >>> 24 !== i32[cw + W_OWNER]) return -1;
  const base = (tag & 0xff_ffff) << shift;
  const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
  if ((i32[bias + (ptr >>> 8)]! & (1 << ((ptr >>> 3) & 31))) === 0) return -1;
  const h = i32[(ptr >> 2) - 1]!;
  return (h & FREE) === 0 ? (h & SIZE_MASK) - 4 : -1;
}
