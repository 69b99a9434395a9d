import { CorruptionError, OutOfMemoryError, formatBytes, formatSize, hex, peekRemoteFrees, type AllocatorStats, type Ptr } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { CONTROL_TAG, D_LARGE_ALLOCS, D_LARGE_BYTES, D_LARGE_COUNT, D_LARGE_FREES, D_LARGE_PEAK, W_REMOTE_HEAD } from "./layout.js";

/*
 * The large tier: whole page spans tagged `largeOwnerId << 24 | 0`, counted
 * in the control block's float64 slots (`f` is the block's float64 index).
 * Large blocks are rare and slow anyway; none of this is on a hot path.
 */

/** Leases a span for a large block and tags it; OutOfMemoryError names the size asked for. */
export function leaseLarge(pages: PageAllocator, name: string, owner: number, size: number, align: number): Ptr {
  let span: Ptr;
  try {
    span = pages.allocate(size, align);
  } catch (err) {
    if (err instanceof OutOfMemoryError) {
      throw new OutOfMemoryError(`${name}: cannot allocate ${formatSize(size)} (align ${align}) as a large block.\n  ${err.message}`, { cause: err });
    }
    throw err;
  }
  pages.setTag(span, owner);
  return span;
}

/** Counts a large span of `bytes` handed out. */
export function countLargeAlloc(f64: Float64Array, f: number, bytes: number): void {
  f64[f + D_LARGE_BYTES]! += bytes;
  f64[f + D_LARGE_COUNT]!++;
  f64[f + D_LARGE_ALLOCS]!++;
  if (f64[f + D_LARGE_BYTES]! > f64[f + D_LARGE_PEAK]!) f64[f + D_LARGE_PEAK] = f64[f + D_LARGE_BYTES]!;
}

/** Counts a large span of `bytes` freed. */
export function countLargeFree(f64: Float64Array, f: number, bytes: number): void {
  f64[f + D_LARGE_BYTES]! -= bytes;
  f64[f + D_LARGE_COUNT]!--;
  f64[f + D_LARGE_FREES]!++;
}

/** Counts a large span that grew or shrank by `delta` bytes. */
export function countLargeResize(f64: Float64Array, f: number, delta: number): void {
  f64[f + D_LARGE_BYTES]! += delta;
  if (f64[f + D_LARGE_BYTES]! > f64[f + D_LARGE_PEAK]!) f64[f + D_LARGE_PEAK] = f64[f + D_LARGE_BYTES]!;
}

/** Starts a new large-span peak at the bytes live now. */
export function resetLargePeak(f64: Float64Array, f: number): void {
  f64[f + D_LARGE_PEAK] = f64[f + D_LARGE_BYTES]!;
}

/** The large tier's stats (usable sizes: whole pages). */
export function largeStats(f64: Float64Array, f: number): AllocatorStats {
  return {
    liveBytes: f64[f + D_LARGE_BYTES]!,
    liveCount: f64[f + D_LARGE_COUNT]!,
    peakLiveBytes: f64[f + D_LARGE_PEAK]!,
    allocCount: f64[f + D_LARGE_ALLOCS]!,
    freeCount: f64[f + D_LARGE_FREES]!,
    reservedBytes: f64[f + D_LARGE_BYTES]!,
  };
}

/** Every live large span, from the page map. */
export function largeSpans(pages: PageAllocator, owner: number): Ptr[] {
  const spans: Ptr[] = [];
  pages.forEachSpan((ptr, _bytes, used, tag) => {
    if (used && tag === (owner << 24) >>> 0) spans.push(ptr);
  });
  return spans;
}

/**
 * The counters against the page map: every live span of `owner` is a large
 * block (data 0) or this allocator's control block (data CONTROL_TAG, at
 * `controlPtr`, exactly one); counts and bytes match, allocs - frees is the
 * live count, the peak is at least the live bytes.
 */
export function checkLarge(pages: PageAllocator, f64: Float64Array, f: number, owner: number, controlPtr: Ptr, name: string): void {
  let count = 0;
  let bytes = 0;
  let controls = 0;
  pages.forEachSpan((ptr, spanBytes, used, tag) => {
    if (!used || tag >>> 24 !== owner) return;
    const data = tag & 0xff_ffff;
    if (data === 0) {
      count++;
      bytes += spanBytes;
    } else if (data === CONTROL_TAG && ptr === controlPtr) {
      controls++;
    } else {
      throw new CorruptionError(`${name}: the page span at ${hex(ptr)} carries this allocator's large-span owner with data ${data}: neither a large block nor its control block.`);
    }
  });
  if (controls !== 1) throw new CorruptionError(`${name}: the page map no longer marks the control block's span at ${hex(controlPtr)}.`);
  const s = largeStats(f64, f);
  const counters = [s.liveBytes, s.liveCount, s.peakLiveBytes, s.allocCount, s.freeCount];
  if (!counters.every((n) => Number.isSafeInteger(n) && n >= 0) || s.liveCount !== count || s.liveBytes !== bytes || s.allocCount - s.freeCount !== count || s.peakLiveBytes < bytes) {
    throw new CorruptionError(
      `${name}: ${count} large spans (${formatBytes(bytes)}) in the page map, but the counters say ${s.liveCount} (${formatBytes(s.liveBytes)}), ` +
        `${s.allocCount} handed out, ${s.freeCount} freed, peak ${formatBytes(s.peakLiveBytes)}.`,
    );
  }
}

/**
 * The remote-free list of large spans (spans other threads freed, not yet
 * collected): every entry a live large span of `owner`, no more entries than
 * live spans (so a cycle ends the walk). The owner only: pushes only prepend.
 */
export function checkLargeRemoteList(pages: PageAllocator, i32: Int32Array, f64: Float64Array, f: number, owner: number, controlPtr: Ptr, name: string): void {
  const live = f64[f + D_LARGE_COUNT]!;
  let n = 0;
  for (let ptr = peekRemoteFrees(i32, (controlPtr >>> 2) + W_REMOTE_HEAD); ptr !== 0; ptr = i32[ptr >>> 2]!) {
    if (pages.tagOf(ptr) !== (owner << 24) >>> 0 || !pages.owns(ptr)) {
      throw new CorruptionError(`${name}: entry ${n} of the large spans' remote-free list, ${hex(ptr >>> 0)}, is not a live large span of this allocator.`);
    }
    if (++n > live) throw new CorruptionError(`${name}: the large spans' remote-free list holds more entries than the ${live} live spans (a cycle, or a span freed twice by other threads).`);
  }
}
