import { DoubleFreeError, OutOfMemoryError, formatBytes, formatSize, hex, invalidPointer, type AllocatorError, type AllocatorStats, type Ptr } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { FREE, MAX_REQUEST, SIZE_MASK, SPAN_BITMAP_W } from "./layout.js";

/*
 * Cold-path messages: why a pointer was refused, why a request failed. They
 * read the page map and the span's bitmap to say what the address really is.
 */

/** What a heap knows about where its blocks are. */
export interface PointerContext {
  i32: Int32Array;
  pages: PageAllocator;
  ownerId: number;
  pageShift: number;
  /** Addresses the page map covers. */
  limit: number;
}

/**
 * The error for a pointer that failed the O(1) live-block check: a double
 * free when a free block starts there, else an InvalidPointerError saying
 * whose span it is in, or which block it points into. `ptr` is a non-negative
 * integer (the caller validated its shape).
 */
export function explainPointer(who: string, ptr: Ptr, c: PointerContext): AllocatorError {
  if ((ptr & 7) !== 0) return invalidPointer(who, ptr, "heap blocks start on 8-byte boundaries");
  const tag = ptr < c.limit ? c.pages.tagOf(ptr) : 0;
  const owner = tag >>> 24;
  if (owner !== c.ownerId) {
    return invalidPointer(who, ptr, owner === 0 ? "not inside any span this heap leased" : `inside a span owned by ${c.pages.ownerName(owner)}`);
  }
  const m = c.i32;
  const base = (tag & 0xff_ffff) << c.pageShift;
  const bias = (base >>> 2) + SPAN_BITMAP_W - (base >>> 8);
  if ((m[bias + (ptr >>> 8)]! & (1 << ((ptr >>> 3) & 31))) !== 0) {
    const h = m[(ptr >> 2) - 1]!;
    return new DoubleFreeError(`${who}: ${hex(ptr)} was already freed (a free block of ${(h & SIZE_MASK) - 4} B starts there).`);
  }
  // The nearest block start below ptr: scan the bitmap down from ptr's bit.
  const bitmap = (base >> 2) + SPAN_BITMAP_W;
  const g = (ptr - base) >>> 3;
  let w = g >>> 5;
  let bits = m[bitmap + w]! & ((1 << (g & 31)) - 1);
  while (bits === 0 && w > 0) bits = m[bitmap + --w]!;
  const containing = bits === 0 ? 0 : base + ((w << 5) + 31 - Math.clz32(bits)) * 8;
  const h = containing === 0 ? 0 : m[(containing >> 2) - 1]!;
  const usable = (h & SIZE_MASK) - 4;
  if (containing === 0 || ptr >= containing + usable) {
    return invalidPointer(who, ptr, "inside this heap's span but not inside any block (a span header, bitmap, control block or the unused bytes before the first block)");
  }
  if ((h & FREE) !== 0) {
    return invalidPointer(
      who,
      ptr,
      `it points +${ptr - containing} into the free block ${hex(containing)} (${usable} B): a stale pointer, or a block freed twice after merging with a neighbour`,
    );
  }
  return invalidPointer(who, ptr, `an interior pointer, +${ptr - containing} into the live block ${hex(containing)} (${usable} B)`);
}

/** The OutOfMemoryError for a request of `size` the heap cannot serve, with its figures. */
export function outOfMemoryError(name: string, s: AllocatorStats, size: number, align: number, why: string, cause?: unknown): OutOfMemoryError {
  return new OutOfMemoryError(
    `${name}: cannot allocate ${formatSize(size)} (align ${align}): ${why}. ` +
      `${formatBytes(s.liveBytes)} live in ${s.liveCount} blocks, ${formatBytes(s.reservedBytes)} reserved.\n` +
      (size > MAX_REQUEST ? `  Blocks above ${formatBytes(MAX_REQUEST)} belong in the page allocator.` : `  Free blocks, or raise the address space's maximumBytes.`),
    cause === undefined ? undefined : { cause },
  );
}
