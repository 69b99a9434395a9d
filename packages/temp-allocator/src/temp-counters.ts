import type { AllocatorStats } from "@memkit/core";

// Counter slots both temp allocators keep in a Float64Array (no boxed doubles
// on the hot path). An allocator may use slots from TEMP_COUNTERS on for its own.
export const LIVE_COUNT = 0;
export const LIVE_BYTES = 1;
export const PEAK_BYTES = 2;
export const FREES = 3;
/** Slots used by the shared counters. */
export const TEMP_COUNTERS = 4;

/** Stats from the shared counters: every block allocated is either still live or was freed (popped, released or recycled). */
export function tempStats(c: Float64Array, reservedBytes: number): AllocatorStats {
  return {
    liveBytes: c[LIVE_BYTES]!,
    liveCount: c[LIVE_COUNT]!,
    peakLiveBytes: Math.max(c[PEAK_BYTES]!, c[LIVE_BYTES]!),
    allocCount: c[LIVE_COUNT]! + c[FREES]!,
    freeCount: c[FREES]!,
    reservedBytes,
  };
}

/** The peak is kept lazily: noted wherever liveBytes falls, so allocate does no compare. */
export function notePeak(c: Float64Array): void {
  if (c[LIVE_BYTES]! > c[PEAK_BYTES]!) c[PEAK_BYTES] = c[LIVE_BYTES]!;
}

/** A live block was resized in place by `delta` bytes (the peak is noted first when it shrinks). */
export function resizeLive(c: Float64Array, delta: number): void {
  if (delta < 0) notePeak(c);
  c[LIVE_BYTES] = c[LIVE_BYTES]! + delta;
}

/** Forgets the peak: peakLiveBytes restarts from the current liveBytes. */
export function resetPeak(c: Float64Array): void {
  c[PEAK_BYTES] = c[LIVE_BYTES]!;
}
