import type { AllocatorStats, StorageReport } from "@memkit/core";
import type { SpanVisitor } from "./page-allocator.js";

/**
 * Free memory as the page map lies: free spans in carved pages (total,
 * largest, histogram by power of two), used spans, and the reserved bytes.
 * The untouched pages above the carved region can still be grown into and
 * are not counted. O(spans).
 */
export function spanStorageReport(pages: { forEachSpan(visit: SpanVisitor): void; stats(): AllocatorStats }): StorageReport {
  let totalFree = 0;
  let largest = 0;
  let used = 0;
  const histogram: number[] = [];
  pages.forEachSpan((_ptr, bytes, isUsed) => {
    if (isUsed) {
      used += bytes;
      return;
    }
    totalFree += bytes;
    largest = Math.max(largest, bytes);
    const bucket = 31 - Math.clz32(bytes);
    while (histogram.length <= bucket) histogram.push(0);
    histogram[bucket]!++;
  });
  return {
    reservedBytes: pages.stats().reservedBytes,
    usedBytes: used,
    totalFreeBytes: totalFree,
    largestFreeBlock: largest,
    freeHistogram: histogram,
    fragmentation: totalFree === 0 ? 0 : 1 - largest / totalFree,
  };
}
