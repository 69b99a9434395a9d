import { rearmBudget } from "./budgets.js";
import { resetTallyPeaks } from "./labels.js";
import {
  D_EPOCH,
  D_LIVE_BYTES,
  D_PEAK_BYTES,
  D_PEAK_FRAME,
  D_RETAINED_BYTES,
  D_RETAINED_COUNT,
  D_TOTAL_BYTES,
  D_TOTAL_PEAK,
  D_TOTAL_PEAK_FRAME,
  RETAINED,
  R_SITE,
  R_SIZE,
  R_WORD,
  T_RETAINED,
  W_FRAME,
} from "./layout.js";
import { recordAt } from "./records.js";
import { openRetained, setReason, unretainRecord } from "./retained.js";
import { setStage } from "./scope-rows.js";
import { pruneOrphans } from "./sites.js";
import { newString, releaseString, retainString } from "./strings.js";
import { reserveEntries, tableRoom } from "./tables.js";
import { isScope, rowF64, subtreeRows, type TreeMemory } from "./tree-view.js";

/*
 * Changes to a scope that write strings or take table entries (retain,
 * resetPeak): room and texts first (which may run the backing's code), then
 * a fresh look at the record or the scope, then the writes.
 */

/**
 * Retains the live block `ptr` of the scope at `row` with `reason`.
 * `find(ptr)` gives its record index now, or throws (the block went away).
 */
export function retainBlock(mem: TreeMemory, row: number, ptr: number, reason: string | undefined, find: (ptr: number) => number): void {
  for (;;) {
    reserveEntries(mem, T_RETAINED, 1);
    const off = reason === undefined ? 0 : newString(mem, reason);
    let i: number;
    try {
      i = find(ptr);
    } catch (err) {
      releaseString(mem, off);
      throw err;
    }
    const r = recordAt(mem, i);
    if ((mem.i32[r + R_WORD]! & RETAINED) !== 0) {
      // Retained already: a new reason replaces the old one.
      if (off !== 0) setReason(mem, mem.i32[r + R_SITE]!, off);
      return;
    }
    if (tableRoom(mem, T_RETAINED) < 1) {
      releaseString(mem, off);
      continue;
    }
    openRetained(mem, i, row, off);
    const o = rowF64(mem, row);
    mem.f64[o + D_RETAINED_BYTES]! += mem.i32[r + R_SIZE]!;
    mem.f64[o + D_RETAINED_COUNT]!++;
    return;
  }
}

/** Undoes retainBlock for record `i` of the scope at `row`. */
export function unretainBlock(mem: TreeMemory, row: number, i: number): void {
  const r = recordAt(mem, i);
  if ((mem.i32[r + R_WORD]! & RETAINED) === 0) return;
  const size = mem.i32[r + R_SIZE]!;
  unretainRecord(mem, i);
  const o = rowF64(mem, row);
  mem.f64[o + D_RETAINED_BYTES] = mem.f64[o + D_RETAINED_BYTES]! - size;
  mem.f64[o + D_RETAINED_COUNT]!--;
}

/**
 * Starts a new stage for the scope at `row` and its subtree: peaks become
 * the current use, "warn" budgets re-arm, `stage` (when given) labels it.
 */
export function resetPeaks(mem: TreeMemory, row: number, gen: number, stage: string | undefined): void {
  const off = stage === undefined ? 0 : newString(mem, stage);
  if (!isScope(mem, row, gen)) {
    releaseString(mem, off);
    return;
  }
  const frame = mem.u32[mem.cw + W_FRAME]!;
  const f64 = mem.f64;
  for (const r of subtreeRows(mem, row)) {
    const o = rowF64(mem, r);
    f64[o + D_PEAK_BYTES] = f64[o + D_LIVE_BYTES]!;
    f64[o + D_PEAK_FRAME] = frame;
    f64[o + D_TOTAL_PEAK] = f64[o + D_TOTAL_BYTES]!;
    f64[o + D_TOTAL_PEAK_FRAME] = frame;
    f64[o + D_EPOCH]!++;
    resetTallyPeaks(mem, r, frame);
    rearmBudget(mem, r);
    if (off !== 0) {
      retainString(mem, off);
      setStage(mem, r, off);
    }
  }
  releaseString(mem, off);
  pruneOrphans(mem);
}
