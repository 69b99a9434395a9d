import {
  DISPOSED,
  D_ALLOC_COUNT,
  D_BUDGET,
  D_FREE_COUNT,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_TOTAL_BYTES,
  HAS_BUDGET,
  LIVE,
  ROW_F64_SHIFT,
  ROW_WORD_SHIFT,
  S_BUDGET_FLAGS,
  S_PARENT,
  S_SERIAL,
  S_STATE,
  W_ROWS_PTR,
} from "./layout.js";
import { pathOf, rowCount, rowWord, type TreeView } from "./tree-view.js";

/*
 * A cold copy of every scope row's counters into a caller's Float64Array,
 * for per-frame timelines (memory-globals' timeline ring). It reads the rows
 * where they are and creates no JS objects, so a game loop can take it every
 * frame; the hot paths are untouched.
 *
 *   ROW_SAMPLE_FIELDS numbers per row, row r at r * ROW_SAMPLE_FIELDS:
 *   +0 serial + 1 (0: the row holds no open scope)   +1 parent row (-1: the root)
 *   +2 own live bytes   +3 own live blocks   +4 subtree live bytes
 *   +5 allocations ever  +6 frees ever      +7 budget bytes (0: none)
 */

/** Numbers per row in a sample. */
export const ROW_SAMPLE_FIELDS = 8;
export const RS_SERIAL = 0;
export const RS_PARENT = 1;
export const RS_LIVE_BYTES = 2;
export const RS_LIVE_COUNT = 3;
export const RS_TOTAL_BYTES = 4;
export const RS_ALLOCS = 5;
export const RS_FREES = 6;
export const RS_BUDGET = 7;

/**
 * Writes the rows that fit into `out` (rows past `out.length / ROW_SAMPLE_FIELDS`
 * are left out) and returns the rows ever used, so a caller whose array was
 * short can grow it and sample again.
 */
export function sampleRows(view: TreeView, out: Float64Array): number {
  const n = rowCount(view);
  const fit = Math.min(n, Math.floor(out.length / ROW_SAMPLE_FIELDS));
  const u32 = view.u32;
  const i32 = view.i32;
  const f64 = view.f64;
  // rowWord / rowF64 spelled out once: the rows table does not move while the tree is entered.
  const words = u32[view.cw + W_ROWS_PTR]! >>> 2;
  const doubles = words >>> 1;
  for (let r = 0; r < fit; r++) {
    const o = r * ROW_SAMPLE_FIELDS;
    const rw = words + (r << ROW_WORD_SHIFT);
    const state = u32[rw + S_STATE]!;
    if ((state & LIVE) === 0 || (state & DISPOSED) !== 0) {
      out[o + RS_SERIAL] = 0;
      continue;
    }
    const d = doubles + (r << ROW_F64_SHIFT);
    out[o + RS_SERIAL] = u32[rw + S_SERIAL]! + 1;
    out[o + RS_PARENT] = i32[rw + S_PARENT]!;
    out[o + RS_LIVE_BYTES] = f64[d + D_LIVE_BYTES]!;
    out[o + RS_LIVE_COUNT] = f64[d + D_LIVE_COUNT]!;
    out[o + RS_TOTAL_BYTES] = f64[d + D_TOTAL_BYTES]!;
    out[o + RS_ALLOCS] = f64[d + D_ALLOC_COUNT]!;
    out[o + RS_FREES] = f64[d + D_FREE_COUNT]!;
    out[o + RS_BUDGET] = (u32[rw + S_BUDGET_FLAGS]! & HAS_BUDGET) !== 0 ? f64[d + D_BUDGET]! : 0;
  }
  return n;
}

/** The path of the open scope in `row` whose serial is `serial`, or undefined when the row now holds another scope or none. */
export function pathOfSerial(view: TreeView, row: number, serial: number): string | undefined {
  if (row < 0 || row >= rowCount(view)) return undefined;
  const rw = rowWord(view, row);
  const state = view.u32[rw + S_STATE]!;
  if ((state & LIVE) === 0 || view.u32[rw + S_SERIAL]! !== serial) return undefined;
  return pathOf(view, row);
}
