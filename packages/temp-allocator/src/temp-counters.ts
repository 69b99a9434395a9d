import type { AllocatorStats } from "@memkit/core";
import { D_FREES, W_LIVE_BYTES, W_LIVE_COUNT, W_META_BYTES, W_PEAK_BYTES, W_RESERVED } from "./temp-layout.js";

/*
 * The counters both temp allocators keep in their control block
 * (temp-layout.ts): live count and bytes, the peak, and the blocks reclaimed.
 * `w` is the control block's u32 index, `d` its float64 index.
 */

/** Stats from the counters: every block allocated is either still live or was freed (popped, released or recycled). */
export function tempStats(u32: Uint32Array, f64: Float64Array, w: number, d: number): AllocatorStats {
  const live = u32[w + W_LIVE_COUNT]!;
  const bytes = u32[w + W_LIVE_BYTES]!;
  const frees = f64[d + D_FREES]!;
  return {
    liveBytes: bytes,
    liveCount: live,
    peakLiveBytes: Math.max(u32[w + W_PEAK_BYTES]!, bytes),
    allocCount: live + frees,
    freeCount: frees,
    reservedBytes: u32[w + W_RESERVED]! + u32[w + W_META_BYTES]!,
  };
}

/** The peak is kept lazily: noted wherever liveBytes falls, so allocate does no compare. */
export function notePeak(u32: Uint32Array, w: number): void {
  if (u32[w + W_LIVE_BYTES]! > u32[w + W_PEAK_BYTES]!) u32[w + W_PEAK_BYTES] = u32[w + W_LIVE_BYTES]!;
}

/** A live block was resized in place by `delta` bytes (the peak is noted first when it shrinks). */
export function resizeLive(u32: Uint32Array, w: number, delta: number): void {
  if (delta < 0) notePeak(u32, w);
  u32[w + W_LIVE_BYTES] = u32[w + W_LIVE_BYTES]! + delta;
}

/** `count` blocks of `bytes` in all were reclaimed. */
export function countFreed(u32: Uint32Array, f64: Float64Array, w: number, d: number, count: number, bytes: number): void {
  notePeak(u32, w);
  u32[w + W_LIVE_COUNT] = u32[w + W_LIVE_COUNT]! - count;
  u32[w + W_LIVE_BYTES] = u32[w + W_LIVE_BYTES]! - bytes;
  f64[d + D_FREES] = f64[d + D_FREES]! + count;
}

/** Forgets the peak: peakLiveBytes restarts from the current liveBytes. */
export function resetPeak(u32: Uint32Array, w: number): void {
  u32[w + W_PEAK_BYTES] = u32[w + W_LIVE_BYTES]!;
}
