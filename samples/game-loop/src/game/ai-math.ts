import { KEEP_DISTANCE, LOSE_SIGHT, SIGHT, WAYPOINT_REACHED } from "./config.js";
import { BODY_WORDS, TVX, TVY, X, Y } from "./physics.js";

/*
 * The AI's arithmetic on raw words: `Ai` and the job kernels' copy of its
 * steps (src/jobs) both call these, so a frame run on workers senses and
 * moves every unit exactly as the one-thread frame does. The steering
 * functions write the body's target velocity at f64 words `o + TVX` and
 * `o + TVY`.
 */

/**
 * Of `count` candidate bodies (indexes in u32 words from `candidates`), the
 * nearest to (x, y) within SIGHT, or -1; the first of equals wins.
 */
export function nearest(f64: Float64Array, u32: Uint32Array, bodies: number, candidates: number, count: number, x: number, y: number): number {
  let best = -1;
  let bestD2 = SIGHT * SIGHT;
  for (let c = 0; c < count; c++) {
    const j = u32[candidates + c]!;
    const ex = f64[bodies + j * BODY_WORDS + X]! - x;
    const ey = f64[bodies + j * BODY_WORDS + Y]! - y;
    const d2 = ex * ex + ey * ey;
    if (d2 < bestD2) {
      best = j;
      bestD2 = d2;
    }
  }
  return best;
}

/**
 * Closes on a foe `ex, ey` away at `speed`, backs off at half speed inside
 * 0.6 of KEEP_DISTANCE, holds in between. False, and nothing written, when
 * the foe is out of sight (beyond LOSE_SIGHT).
 */
export function engage(f64: Float64Array, o: number, ex: number, ey: number, speed: number): boolean {
  const d2 = ex * ex + ey * ey;
  if (!(d2 <= LOSE_SIGHT * LOSE_SIGHT)) return false;
  let s = 0;
  if (d2 > 1e-9) {
    const d = Math.sqrt(d2);
    if (d > KEEP_DISTANCE) s = speed / d;
    else if (d < KEEP_DISTANCE * 0.6) s = (-speed * 0.5) / d;
  }
  f64[o + TVX] = ex * s;
  f64[o + TVY] = ey * s;
  return true;
}

/**
 * Walks from (x, y) at `speed` toward waypoint `pos` of a path of `length`
 * points (x, y pairs from f64 word `path`), aiming at the next one once
 * within WAYPOINT_REACHED; stands at the path's end. Returns the waypoint
 * aimed at now, for the caller to keep.
 */
export function followPath(f64: Float64Array, o: number, x: number, y: number, speed: number, path: number, pos: number, length: number): number {
  if (pos < length) {
    let ex = f64[path + pos * 2]! - x;
    let ey = f64[path + pos * 2 + 1]! - y;
    if (ex * ex + ey * ey < WAYPOINT_REACHED * WAYPOINT_REACHED) {
      pos++;
      if (pos < length) {
        ex = f64[path + pos * 2]! - x;
        ey = f64[path + pos * 2 + 1]! - y;
      }
    }
    const d2 = ex * ex + ey * ey;
    if (pos < length && d2 > 1e-9) {
      const s = speed / Math.sqrt(d2);
      f64[o + TVX] = ex * s;
      f64[o + TVY] = ey * s;
      return pos;
    }
  }
  f64[o + TVX] = 0;
  f64[o + TVY] = 0;
  return pos;
}
