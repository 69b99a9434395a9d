import { InvalidArgumentError } from "@memkit/core";
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
  S_COUNTDOWN,
  S_SAMPLE,
  T_RETAINED,
  W_FRAME,
} from "./layout.js";
import { LEVELS, checkLevel, checkSampleEvery } from "./options.js";
import { recordAt } from "./records.js";
import { openRetained, setReason, unretainRecord } from "./retained.js";
import { setLevel, setStage } from "./scope-rows.js";
import { pruneOrphans } from "./sites.js";
import { newString, releaseString, retainString } from "./strings.js";
import { reserveEntries, tableRoom } from "./tables.js";
import { isScope, levelOf, rowF64, rowWord, subtreeRows, type TreeMemory } from "./tree-view.js";
import type { TracingLevel } from "./types.js";

/*
 * Changes to a scope beyond its blocks: those that write strings or take
 * table entries (retain, resetPeak) make room and texts first (which may run
 * the backing's code), then look at the record or the scope again, then
 * write; switching the tracing level writes the row's words.
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

/**
 * Switches `row` (the scope at `path`) between "counts" and "callstacks",
 * with a new sampling rate when `sampleEvery` is given. "off" is fixed at
 * creation: InvalidArgumentError for a switch to or from it, or bad values.
 */
export function switchTracing(mem: TreeMemory, path: string, row: number, level: TracingLevel, sampleEvery: number | undefined): void {
  const rw = rowWord(mem, row);
  const every = sampleEvery ?? mem.u32[rw + S_SAMPLE]!;
  checkLevel(path, level);
  checkSampleEvery(path, every);
  const current = LEVELS[levelOf(mem, row)]!;
  if ((level === "off") !== (current === "off")) {
    throw new InvalidArgumentError(
      `${path}: cannot switch tracing from ${JSON.stringify(current)} to ${JSON.stringify(level)}: "off" is chosen when a scope is created.\n` +
        `  Create the scope with the level it needs (child(name, { tracing })).`,
    );
  }
  setLevel(mem, row, LEVELS.indexOf(level));
  mem.u32[rw + S_SAMPLE] = every;
  mem.u32[rw + S_COUNTDOWN] = 1;
}

