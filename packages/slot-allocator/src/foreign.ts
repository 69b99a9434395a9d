import { DATA_MAX, SLAB_HEADER_BYTES, S_BUMP, S_SIZE, W_OWNER, W_PAGE_SHIFT, W_PARKED_PTR, W_REMOTE_HEAD, W_SLAB_BYTES } from "./layout.js";

/*
 * Reads of a slot allocator this thread holds no handle on: another thread's
 * slot tier, whose block this thread is asked to free or resize
 * (docs/threads.md). Only reads, and only words that do not change while the
 * slot is live (its slab's base, slot size and carve mark, its bitmap bit),
 * so they are safe while the owner works on other slots.
 */

/** Int32 word index of the remote-free list head of the slot allocator whose control block is at `controlPtr`. */
export function slotRemoteFreeWord(controlPtr: number): number {
  return (controlPtr >>> 2) + W_REMOTE_HEAD;
}

/**
 * Usable bytes of the live slot at `ptr` of the slot allocator whose control
 * block is at `controlPtr` (its page allocator's tag array starts at int32
 * word `tagWordBase`), or -1 when `ptr` is not a live slot start of it.
 */
export function foreignSlotSize(i32: Int32Array, controlPtr: number, tagWordBase: number, ptr: number): number {
  const cw = controlPtr >>> 2;
  const shift = i32[cw + W_PAGE_SHIFT]!;
  const d = i32[tagWordBase + (ptr >>> shift)]! ^ (i32[cw + W_OWNER]! << 24);
  if ((d - 1) >>> 0 >= DATA_MAX) return -1;
  const base = d << shift;
  const s = (base + i32[cw + W_SLAB_BYTES]! - SLAB_HEADER_BYTES) >>> 2;
  const size = i32[s + S_SIZE]!;
  const off = ptr - base;
  const i = (off / size) | 0;
  if (!(size > 0) || i * size !== off || i >= i32[s + S_BUMP]!) return -1;
  if ((i32[s - 1 - (i >>> 5)]! & (1 << (i & 31))) === 0 || Atomics.load(i32, cw + W_PARKED_PTR) === ptr) return -1;
  return size;
}
