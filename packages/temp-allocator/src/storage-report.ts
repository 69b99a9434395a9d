import type { StorageReport } from "@memkit/core";

/**
 * Builds a {@link StorageReport} from the free regions of a temp allocator
 * (the rest of the current chunk, spare chunks). A request fits a region when
 * it fits after a block header of `headerBytes`.
 */
export function buildStorageReport(reservedBytes: number, usedBytes: number, regions: readonly number[], headerBytes: number): StorageReport {
  let total = 0;
  let largest = 0;
  const histogram: number[] = [];
  for (const bytes of regions) {
    if (bytes <= 0) continue;
    total += bytes;
    largest = Math.max(largest, bytes - headerBytes);
    const bucket = bytes <= 1 ? 0 : 31 - Math.clz32(bytes);
    while (histogram.length <= bucket) histogram.push(0);
    histogram[bucket]!++;
  }
  return {
    reservedBytes,
    usedBytes,
    totalFreeBytes: total,
    largestFreeBlock: largest,
    freeHistogram: histogram,
    fragmentation: total > 0 ? 1 - Math.min(largest, total) / total : 0,
  };
}
