import {
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_COUNT,
} from "./layout.js";
import { parentOf, rowF64, type TreeView } from "./tree-view.js";

/*
 * The counters of a scope at tracing "off": it keeps no block records, so
 * each call counts the backing's usable size (the sizes asked for are not
 * known). An allocation and a free count through ScopeState's steps (no
 * record, no site), a resize through resize-counts.ts's countResize; these
 * are the steps only "off" takes.
 */

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
