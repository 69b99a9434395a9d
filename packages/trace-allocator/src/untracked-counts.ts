import {
  D_ALLOC_BYTES,
  D_EPOCH,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_PEAK_FRAME,
  D_REALLOC_COUNT,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_COUNT,
  D_TOTAL_PEAK,
  D_TOTAL_PEAK_FRAME,
  W_FRAME,
} from "./layout.js";
import { parentOf, rowF64, type TreeView } from "./tree-view.js";

/*
 * The counters of a scope at tracing "off": it keeps no block records, so
 * each call counts the backing's usable size (the sizes asked for are not
 * known). An allocation and a free count through ScopeState's steps (no
 * record, no site); these are the steps only "off" takes.
 */

/** Counts a resize by an "off" scope: usable size `oldBytes` became `newBytes`. */
export function resizedUntracked(view: TreeView, row: number, oldBytes: number, newBytes: number): void {
  const f64 = view.f64;
  const frame = view.u32[view.cw + W_FRAME]!;
  const delta = newBytes - oldBytes;
  const o = rowF64(view, row);
  const live = f64[o + D_LIVE_BYTES]! + delta;
  f64[o + D_LIVE_BYTES] = live;
  if (live > f64[o + D_PEAK_BYTES]!) {
    f64[o + D_PEAK_BYTES] = live;
    f64[o + D_PEAK_FRAME] = frame;
  }
  f64[o + D_REALLOC_COUNT]!++;
  f64[o + D_ALLOC_BYTES]! += newBytes;
  for (let r = row; r >= 0; r = parentOf(view, r)) {
    const p = rowF64(view, r);
    const total = f64[p + D_TOTAL_BYTES]! + delta;
    f64[p + D_TOTAL_BYTES] = total;
    if (total > f64[p + D_TOTAL_PEAK]!) {
      f64[p + D_TOTAL_PEAK] = total;
      f64[p + D_TOTAL_PEAK_FRAME] = frame;
      f64[p + D_EPOCH]!++;
    }
  }
}

/**
 * An "off" row is closing: the blocks it counted (no records to hand to
 * the parent) leave the subtree totals of its ancestors. Frees through
 * the disposed scope still reach the backing, uncounted.
 */
export function dropUntracked(view: TreeView, row: number): void {
  const f64 = view.f64;
  const o = rowF64(view, row);
  const bytes = f64[o + D_LIVE_BYTES]! - f64[o + D_RETAINED_BYTES]!;
  const count = f64[o + D_LIVE_COUNT]! - f64[o + D_RETAINED_COUNT]!;
  if (count === 0 && bytes === 0) return;
  f64[o + D_LIVE_BYTES] = f64[o + D_LIVE_BYTES]! - bytes;
  f64[o + D_LIVE_COUNT] = f64[o + D_LIVE_COUNT]! - count;
  for (let r = row; r >= 0; r = parentOf(view, r)) {
    const p = rowF64(view, r);
    f64[p + D_TOTAL_BYTES] = f64[p + D_TOTAL_BYTES]! - bytes;
    f64[p + D_TOTAL_COUNT] = f64[p + D_TOTAL_COUNT]! - count;
  }
}
