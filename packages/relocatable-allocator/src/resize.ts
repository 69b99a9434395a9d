import { InvalidArgumentError, OutOfMemoryError, formatSize, hex, validateSize } from "@memkit/core";
import { carve, removeFree } from "./bins.js";
import { freeBlock, takeBlock } from "./chunks.js";
import { D_LIVE_BYTES, D_PEAK, FREE, HEADER, MAX_CHUNK_BYTES, PIN_MASK, PREV_FREE, SLOT_WORDS, S_PINS, S_PTR, S_STATE, W_CURSOR, W_SLOTS, blockBytesFor } from "./layout.js";
import type { SlotTable } from "./slots.js";

/** Largest block: a chunk of its own up to 1 GiB. */
export const MAX_BLOCK = MAX_CHUNK_BYTES - 64;

/**
 * Resizes the live block of slot word index `s` to `size` bytes, keeping its
 * bytes up to the smaller size; its slot (and handle) stay. Shrinking splits
 * the tail off; growing takes the free block after it when that suffices;
 * otherwise the block moves (refused when pinned). OutOfMemoryError: nothing changed.
 */
export function resizeBlock(r: SlotTable, s: number, size: number, who: string): void {
  validateSize(who, size);
  if (size > MAX_BLOCK) throw new OutOfMemoryError(`${who}: ${formatSize(size)} is more than the largest block (${formatSize(MAX_BLOCK)}).`);
  let u32 = r.u32;
  const ptr = u32[s + S_PTR]!;
  const b = ptr - HEADER;
  const old = u32[b >>> 2]! & ~7;
  const want = blockBytesFor(size);
  const index = u32[(b + 4) >>> 2]!;
  if (want <= old) {
    if (old - want >= 24) shrinkInPlace(r, b, old, want);
    return;
  }
  const nh = u32[(b + old) >>> 2]!;
  if (nh & FREE && old + (nh & ~7) >= want) {
    const ns = nh & ~7;
    removeFree(r, b + old, ns);
    // One free block from b to the end of the next one, carved back to `want`.
    const prevFree = u32[b >>> 2]! & PREV_FREE;
    u32[b >>> 2] = (old + ns) | FREE;
    const got = carve(r, b, want, index) - old;
    u32[b >>> 2]! |= prevFree;
    const cursor = u32[r.w + W_CURSOR]!;
    if (cursor > b && cursor < b + old + got) u32[r.w + W_CURSOR] = b;
    r.f64[r.d + D_LIVE_BYTES]! += got;
    bumpPeak(r);
    return;
  }
  if ((u32[s + S_PINS]! & PIN_MASK) !== 0) {
    throw new InvalidArgumentError(`${who}: the block of handle ${hex(u32[s + S_STATE]!)} at ${hex(ptr)} is pinned and cannot grow in place to ${formatSize(size)}; unpin it first.`);
  }
  const nb = takeBlock(r, want, index);
  u32 = r.u32;
  const slotBase = u32[r.w + W_SLOTS]! >>> 2;
  const sNow = slotBase + index * SLOT_WORDS;
  r.space.bytes.copy(nb + HEADER, ptr, old - HEADER);
  u32[sNow + S_PTR] = nb + HEADER;
  const got = (u32[nb >>> 2]! & ~7) - old;
  freeBlock(r, b);
  r.f64[r.d + D_LIVE_BYTES]! += got;
  bumpPeak(r);
}

function shrinkInPlace(r: SlotTable, b: number, old: number, want: number): void {
  const u32 = r.u32;
  // The tail becomes a block of its own, then is freed like any block (merging with free space after it).
  u32[b >>> 2] = want | (u32[b >>> 2]! & PREV_FREE);
  u32[(b + want) >>> 2] = old - want;
  u32[(b + want + 4) >>> 2] = 0;
  freeBlock(r, b + want);
  r.f64[r.d + D_LIVE_BYTES]! -= old - want;
}

function bumpPeak(r: SlotTable): void {
  const f = r.f64;
  if (f[r.d + D_LIVE_BYTES]! > f[r.d + D_PEAK]!) f[r.d + D_PEAK] = f[r.d + D_LIVE_BYTES]!;
}
