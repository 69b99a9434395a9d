import type { Ptr, StorageReport } from "@memkit/core";
import {
  W_FIRST_SPAN,
  W_FL_MAP,
  W_HEADS,
  W_LIVE,
  W_RESERVED,
  W_SL_MAP,
  W_SPAN_COUNT,
  FREE,
  MIN_BLOCK,
  SIZE_MASK,
  SPAN_BYTES_W,
  SPAN_FIRST_W,
  SPAN_NEXT_W,
} from "./layout.js";
import type { BlockVisitor } from "./types.js";

/*
 * Cold-path readers of a heap's linear-memory state: they need only the
 * memory and the control block's address, as another thread would.
 */

/** Span bases of the heap whose control block is at `control`, in address order. */
export function spansInAddressOrder(m: Int32Array, control: Ptr): Ptr[] {
  const r = control >>> 2;
  const spans: Ptr[] = [];
  const limit = m[r + W_SPAN_COUNT]!;
  for (let s = m[r + W_FIRST_SPAN]!; s !== 0 && spans.length < limit; s = m[(s >> 2) + SPAN_NEXT_W]!) spans.push(s);
  return spans.sort((a, b) => a - b);
}

/** Calls `visit(ptr, usableBytes, free)` for every block, spans in address order. */
export function walkHeap(m: Int32Array, control: Ptr, visit: BlockVisitor): void {
  for (const base of spansInAddressOrder(m, control)) {
    const bw = base >> 2;
    const end = base + m[bw + SPAN_BYTES_W]!;
    for (let p = m[bw + SPAN_FIRST_W]!; p < end; ) {
      const h = m[(p >> 2) - 1]!;
      const size = h & SIZE_MASK;
      if (size < MIN_BLOCK) break; // corrupt: check() names it
      visit(p, size - 4, (h & FREE) !== 0);
      p += size;
    }
  }
}

/**
 * The heap's {@link StorageReport}. Free bytes are usable bytes of free
 * blocks (size - 4). `largestFreeBlock` is the largest request (align <= 8)
 * that succeeds without leasing: the head of the highest non-empty size
 * class, which the allocator's fallback always tries.
 */
export function heapStorageReport(m: Int32Array, control: Ptr): StorageReport {
  const r = control >>> 2;
  let totalFree = 0;
  const histogram: number[] = [];
  walkHeap(m, control, (_p, usable, free) => {
    if (!free) return;
    totalFree += usable;
    const bucket = usable < 2 ? 0 : 31 - Math.clz32(usable);
    while (histogram.length <= bucket) histogram.push(0);
    histogram[bucket]!++;
  });
  let largest = 0;
  const flMap = m[r + W_FL_MAP]!;
  if (flMap !== 0) {
    const fl = 31 - Math.clz32(flMap);
    const sl = 31 - Math.clz32(m[r + W_SL_MAP + fl]!);
    const head = m[r + W_HEADS + fl * 32 + sl]!;
    largest = (m[(head >> 2) - 1]! & SIZE_MASK) - 4;
  }
  return {
    reservedBytes: m[r + W_RESERVED]!,
    usedBytes: m[r + W_LIVE]!,
    totalFreeBytes: totalFree,
    largestFreeBlock: largest,
    freeHistogram: histogram,
    fragmentation: totalFree === 0 ? 0 : 1 - largest / totalFree,
  };
}
