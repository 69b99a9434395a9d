import {
  C_ALLOC_BYTES,
  C_FREE_COUNT,
  C_LIVE_BYTES,
  C_LIVE_COUNT,
  C_PEAK_BYTES,
  C_PEAK_FRAME,
  C_REALLOC_COUNT,
  C_RETAINED_BYTES,
  C_RETAINED_COUNT,
  C_TOTAL_BYTES,
  C_TOTAL_COUNT,
  C_TOTAL_PEAK,
  C_TOTAL_PEAK_FRAME,
  C_EPOCH,
  ROW_SHIFT,
  type Registry,
} from "./registry.js";

/*
 * The counters of a scope at tracing "off": it keeps no block records, so
 * each call counts the backing's usable size (the sizes asked for are not
 * known). These are the counter twins of Registry.added/released/resized.
 */

/**
 * Counts a block an "off" scope freed (`bytes`: the backing's usable size;
 * there is no record). Counter twin of Registry.released.
 */
export function releasedUntracked(reg: Registry, row: number, bytes: number): void {
  const c = reg.counters;
  const o = row << ROW_SHIFT;
  c[o] = c[o]! - bytes;
  c[o + C_LIVE_COUNT]!--;
  c[o + C_FREE_COUNT]!++;
  for (let r = row; r >= 0; r = reg.parents[r]!) {
    const p = r << ROW_SHIFT;
    c[p + C_TOTAL_BYTES] = c[p + C_TOTAL_BYTES]! - bytes;
    c[p + C_TOTAL_COUNT]!--;
  }
}

/** Counts a resize by an "off" scope: usable size `oldBytes` became `newBytes`. Counter twin of Registry.resized. */
export function resizedUntracked(reg: Registry, row: number, oldBytes: number, newBytes: number): void {
  const c = reg.counters;
  const frame = reg.frame;
  const delta = newBytes - oldBytes;
  const o = row << ROW_SHIFT;
  const live = c[o]! + delta;
  c[o] = live;
  if (live > c[o + C_PEAK_BYTES]!) {
    c[o + C_PEAK_BYTES] = live;
    c[o + C_PEAK_FRAME] = frame;
  }
  c[o + C_REALLOC_COUNT]!++;
  c[o + C_ALLOC_BYTES]! += newBytes;
  for (let r = row; r >= 0; r = reg.parents[r]!) {
    const p = r << ROW_SHIFT;
    const total = c[p + C_TOTAL_BYTES]! + delta;
    c[p + C_TOTAL_BYTES] = total;
    if (total > c[p + C_TOTAL_PEAK]!) {
      c[p + C_TOTAL_PEAK] = total;
      c[p + C_TOTAL_PEAK_FRAME] = frame;
      c[p + C_EPOCH]!++;
    }
  }
}

/**
 * An "off" row is closing: the blocks it counted (no records to hand to
 * the parent) leave the subtree totals of its ancestors. Frees through
 * the disposed scope still reach the backing, uncounted.
 */
export function dropUntracked(reg: Registry, row: number): void {
  const c = reg.counters;
  const o = row << ROW_SHIFT;
  const bytes = c[o + C_LIVE_BYTES]! - c[o + C_RETAINED_BYTES]!;
  const count = c[o + C_LIVE_COUNT]! - c[o + C_RETAINED_COUNT]!;
  if (count === 0 && bytes === 0) return;
  c[o] = c[o]! - bytes;
  c[o + C_LIVE_COUNT] = c[o + C_LIVE_COUNT]! - count;
  for (let r = row; r >= 0; r = reg.parents[r]!) {
    const p = r << ROW_SHIFT;
    c[p + C_TOTAL_BYTES] = c[p + C_TOTAL_BYTES]! - bytes;
    c[p + C_TOTAL_COUNT] = c[p + C_TOTAL_COUNT]! - count;
  }
}
