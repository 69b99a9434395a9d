import type { ScratchAllocator } from "@memkit/temp-allocator";
import type { SpaceViews } from "@memkit/containers";

/**
 * Sorts `count` (key, value) u32 pairs by key, stably, in place: the keys at
 * `keysPtr` and the values at `valsPtr` (u32 arrays in the address space).
 * LSD radix sort, 4 passes of 8 bits; the ping-pong buffers and the 256
 * bucket counters come from the scratch stack and are released before it
 * returns. O(count), no comparisons, no JS objects. After the even number of
 * passes the sorted pairs are back in the caller's buffers.
 */
export function radixSortPairs(scratch: ScratchAllocator, views: SpaceViews, keysPtr: number, valsPtr: number, count: number): void {
  if (count < 2) return;
  const mark = scratch.mark();
  const tmpKeys = scratch.allocate(count * 4, 8);
  const tmpVals = scratch.allocate(count * 4, 8);
  const counts = scratch.allocate(256 * 4, 8) >>> 2;
  // Read the view after the allocations: one of them may have grown the space.
  const u32 = views.u32;
  let srcK = keysPtr >>> 2;
  let srcV = valsPtr >>> 2;
  let dstK = tmpKeys >>> 2;
  let dstV = tmpVals >>> 2;
  for (let shift = 0; shift < 32; shift += 8) {
    u32.fill(0, counts, counts + 256);
    for (let i = 0; i < count; i++) u32[counts + ((u32[srcK + i]! >>> shift) & 255)]!++;
    let sum = 0;
    for (let b = 0; b < 256; b++) {
      const n = u32[counts + b]!;
      u32[counts + b] = sum;
      sum += n;
    }
    for (let i = 0; i < count; i++) {
      const key = u32[srcK + i]!;
      const at = counts + ((key >>> shift) & 255);
      const pos = u32[at]!;
      u32[at] = pos + 1;
      u32[dstK + pos] = key;
      u32[dstV + pos] = u32[srcV + i]!;
    }
    const k = srcK;
    srcK = dstK;
    dstK = k;
    const v = srcV;
    srcV = dstV;
    dstV = v;
  }
  scratch.release(mark);
}
