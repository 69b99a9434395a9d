import type { TimelineScope } from "./timeline-report.js";

/*
 * Leak suspects from the timeline: scopes whose own live bytes grow across
 * a window of frames without returning. The window is cut into QUARTERS
 * equal parts; a scope is a suspect when the lowest value of each part is
 * higher than the lowest of the part before it (each part's floor rises: a
 * sawtooth of per-frame work that is freed keeps its floor, a level load
 * raises it once and then stays flat) and it ends above the first floor.
 * A long play-through's creep shows up here before teardown's LeakError,
 * which only sees what a scope still holds when it is disposed.
 */

/** Parts the window is cut into. */
const QUARTERS = 4;
/** Fewest samples a window needs (two per part). */
export const MIN_LEAK_WINDOW = 2 * QUARTERS;

/** A scope whose live bytes kept growing over the window. */
export interface LeakSuspect {
  path: string;
  /** The window: the first and last frame looked at. */
  fromFrame: number;
  toFrame: number;
  /** The scope's own live bytes at the window's first floor and at its end. */
  fromBytes: number;
  toBytes: number;
  /** Own live blocks at the start and end of the window. */
  fromCount: number;
  toCount: number;
  /** (toBytes - fromBytes) / frames in the window. */
  bytesPerFrame: number;
}

/** The suspects among `scopes` over the last `window` samples (all of them when fewer), largest growth first. */
export function findLeakSuspects(frames: readonly number[], scopes: readonly TimelineScope[], window: number): LeakSuspect[] {
  const n = Math.min(window, frames.length);
  if (n < MIN_LEAK_WINDOW) return [];
  const start = frames.length - n;
  const out: LeakSuspect[] = [];
  for (const scope of scopes) {
    const bytes = scope.liveBytes;
    let floor = -1;
    let first = 0;
    let rising = true;
    for (let q = 0; q < QUARTERS && rising; q++) {
      const from = start + Math.floor((q * n) / QUARTERS);
      const to = start + Math.floor(((q + 1) * n) / QUARTERS);
      let low = Infinity;
      for (let i = from; i < to; i++) low = Math.min(low, bytes[i]!);
      if (q === 0) first = low;
      else if (low <= floor) rising = false;
      floor = low;
    }
    const last = bytes[frames.length - 1]!;
    if (!rising || last <= first) continue;
    const span = frames[frames.length - 1]! - frames[start]!;
    out.push({
      path: scope.path,
      fromFrame: frames[start]!,
      toFrame: frames[frames.length - 1]!,
      fromBytes: first,
      toBytes: last,
      fromCount: scope.liveCount[start]!,
      toCount: scope.liveCount[frames.length - 1]!,
      bytesPerFrame: span > 0 ? (last - first) / span : 0,
    });
  }
  return out.sort((a, b) => b.toBytes - b.fromBytes - (a.toBytes - a.fromBytes));
}
