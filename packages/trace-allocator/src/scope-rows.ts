import {
  DISPOSED,
  D_LIMIT,
  D_PEAK_FRAME,
  D_TOTAL_PEAK_FRAME,
  GEN_MASK,
  GEN_SHIFT,
  LEVEL_MASK,
  LIVE,
  S_BACKING,
  S_COUNTDOWN,
  S_PARENT,
  S_PATH,
  S_SAMPLE,
  S_SERIAL,
  S_STAGE,
  S_STATE,
  T_ROWS,
  W_FRAME,
  W_SERIAL,
  stateWord,
} from "./layout.js";
import { dropTallies } from "./labels.js";
import { releaseString, retainString, stringEquals } from "./strings.js";
import { bumpEpoch, freeEntry, takeEntry } from "./tables.js";
import { isLiveRow, parentOf, rowCount, rowF64, rowWord, stateOf, type TreeView } from "./tree-view.js";

/*
 * Scope rows (layout.ts): one ROWS entry per live scope, with its counters.
 * A row given back keeps its generation, one higher, so handles and sites
 * that still name the row see it now means something else.
 */

/** What a new row starts with. */
export interface NewRow {
  parent: number;
  /** String offset of the path; the row takes over its one holder. */
  path: number;
  level: number;
  sampleEvery: number;
  backing: number;
  /** BUDGETED and ROW_GUARDED bits to start with. */
  flags: number;
}

/** Opens a row (one ROWS entry must be reserved). Returns the row; its generation is in its STATE. */
export function openRow(view: TreeView, spec: NewRow): number {
  const row = takeEntry(view, T_ROWS);
  const u32 = view.u32;
  const rw = rowWord(view, row);
  const gen = (u32[rw + S_STATE]! >>> GEN_SHIFT) & GEN_MASK;
  u32[rw + S_STATE] = stateWord(gen, spec.level, spec.flags);
  view.i32[rw + S_PARENT] = spec.parent;
  u32[rw + S_PATH] = spec.path;
  u32[rw + S_SAMPLE] = spec.sampleEvery;
  u32[rw + S_COUNTDOWN] = 1;
  u32[rw + S_BACKING] = spec.backing;
  const serial = u32[view.cw + W_SERIAL]!;
  u32[view.cw + W_SERIAL] = serial + 1;
  u32[rw + S_SERIAL] = serial;
  const o = rowF64(view, row);
  const f64 = view.f64;
  const frame = u32[view.cw + W_FRAME]!;
  f64[o + D_LIMIT] = Infinity;
  f64[o + D_PEAK_FRAME] = frame;
  f64[o + D_TOTAL_PEAK_FRAME] = frame;
  bumpEpoch(view);
  return row;
}

/** Gives `row` back: its tallies and strings go, its generation goes up. */
export function closeRow(view: TreeView, row: number): void {
  dropTallies(view, row);
  const rw = rowWord(view, row);
  const u32 = view.u32;
  releaseString(view, u32[rw + S_PATH]!);
  releaseString(view, u32[rw + S_STAGE]!);
  const gen = ((u32[rw + S_STATE]! >>> GEN_SHIFT) + 1) & GEN_MASK;
  freeEntry(view, T_ROWS, row, (gen << GEN_SHIFT) >>> 0);
  bumpEpoch(view);
}

/** Marks a row disposed (the root keeps its row, and its blocks, after dispose()). */
export function markDisposed(view: TreeView, row: number): void {
  const rw = rowWord(view, row);
  view.u32[rw + S_STATE] = view.u32[rw + S_STATE]! | DISPOSED;
  bumpEpoch(view);
}

/** Sets or clears the bits in `mask` of a row's STATE. */
export function setStateBits(view: TreeView, row: number, mask: number, on: boolean): void {
  const rw = rowWord(view, row);
  const s = view.u32[rw + S_STATE]!;
  view.u32[rw + S_STATE] = (on ? s | mask : s & ~mask) >>> 0;
  bumpEpoch(view);
}

/** The live child of `parent` whose path is `path`, or -1. */
export function findChildRow(view: TreeView, parent: number, path: string): number {
  const n = rowCount(view);
  for (let r = 0; r < n; r++) {
    if (r === parent || !isLiveRow(view, r) || parentOf(view, r) !== parent) continue;
    if (stringEquals(view, view.u32[rowWord(view, r) + S_PATH]!, path)) return r;
  }
  return -1;
}

/** Replaces the stage string of `row` (the row takes over the new string's holder). */
export function setStage(view: TreeView, row: number, stage: number): void {
  const rw = rowWord(view, row);
  releaseString(view, view.u32[rw + S_STAGE]!);
  view.u32[rw + S_STAGE] = stage;
}

/** One more holder of `row`'s path string; returns its offset. */
export function holdPath(view: TreeView, row: number): number {
  const off = view.u32[rowWord(view, row) + S_PATH]!;
  retainString(view, off);
  return off;
}

/** True when a row's STATE says live and not disposed. */
export function isOpen(view: TreeView, row: number): boolean {
  const s = stateOf(view, row);
  return (s & LIVE) !== 0 && (s & DISPOSED) === 0;
}

/** Sets a row's tracing level (layout.ts: OFF, COUNTS, CALLSTACKS). */
export function setLevel(view: TreeView, row: number, level: number): void {
  const rw = rowWord(view, row);
  view.u32[rw + S_STATE] = ((view.u32[rw + S_STATE]! & ~LEVEL_MASK) | level) >>> 0;
  bumpEpoch(view);
}
