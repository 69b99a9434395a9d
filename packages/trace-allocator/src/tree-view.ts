import type { Allocator } from "@memkit/core";
import {
  GEN_MASK,
  GEN_SHIFT,
  LEVEL_MASK,
  LIVE,
  ROW_F64_SHIFT,
  ROW_WORD_SHIFT,
  S_PARENT,
  S_PATH,
  S_SERIAL,
  S_STATE,
  TW_PTR,
  TW_USED,
  T_ROWS,
  W_ROWS_PTR,
  tableWord,
} from "./layout.js";
import { readString } from "./strings.js";

/*
 * How every module reads a tree: through the memory layout (layout.ts), with
 * the views of a live handle. The JS side of a tree adds only what memory
 * cannot hold: the texts of call stacks this thread captured, and the
 * backing allocator objects.
 */

/** Views of the space and the control block of a tree. Views are read fresh at each use (the space may grow). */
export interface TreeView {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /** Word index of the control block (controlPtr / 4). */
  readonly cw: number;
  /** Text of call stack `id` when this thread captured it (stacks stay JS-side), else undefined. */
  stackText(id: number): string | undefined;
  /** The allocator of backing id `id` (0: the tree's backing). Throws InvalidArgumentError when this thread has none. */
  backingOf(id: number): Allocator;
}

/** A view that may also change the tree: the allocator its own state is leased from. */
export interface TreeMemory extends TreeView {
  readonly metaBacking: Allocator;
}

/** Word index of row `row`. */
export function rowWord(view: TreeView, row: number): number {
  return (view.u32[view.cw + W_ROWS_PTR]! >>> 2) + (row << ROW_WORD_SHIFT);
}

/** Float64 index of row `row`. */
export function rowF64(view: TreeView, row: number): number {
  return (view.u32[view.cw + W_ROWS_PTR]! >>> 3) + (row << ROW_F64_SHIFT);
}

/** Rows ever used (the high-water mark): every row number is below it. */
export function rowCount(view: TreeView): number {
  return view.u32[view.cw + tableWord(T_ROWS, TW_USED)]!;
}

/** True when `row` holds a scope now. */
export function isLiveRow(view: TreeView, row: number): boolean {
  return row >= 0 && row < rowCount(view) && (view.u32[rowWord(view, row) + S_STATE]! & LIVE) !== 0;
}

/** The STATE word of `row`. */
export function stateOf(view: TreeView, row: number): number {
  return view.u32[rowWord(view, row) + S_STATE]!;
}

/** The generation of `row`. */
export function genOf(view: TreeView, row: number): number {
  return (stateOf(view, row) >>> GEN_SHIFT) & GEN_MASK;
}

/** The tracing level number of `row` (layout.ts: OFF, COUNTS, CALLSTACKS). */
export function levelOf(view: TreeView, row: number): number {
  return stateOf(view, row) & LEVEL_MASK;
}

/** True when `row` is the live scope of generation `gen`. */
export function isScope(view: TreeView, row: number, gen: number): boolean {
  if (row < 0 || row >= rowCount(view)) return false;
  const state = stateOf(view, row);
  return (state & LIVE) !== 0 && ((state >>> GEN_SHIFT) & GEN_MASK) === gen;
}

/** The parent row of `row` (-1 for the root). */
export function parentOf(view: TreeView, row: number): number {
  return view.i32[rowWord(view, row) + S_PARENT]!;
}

/** The scope path of a live row. */
export function pathOf(view: TreeView, row: number): string {
  return readString(view, view.u32[rowWord(view, row) + S_PATH]!);
}

/** The last segment of a path. */
export function nameOfPath(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** True when `row` is `ancestor` or below it (bounded: a damaged cycle ends the walk). */
export function isWithin(view: TreeView, row: number, ancestor: number): boolean {
  const limit = rowCount(view);
  for (let r = row, steps = 0; r >= 0 && steps <= limit; r = parentOf(view, r), steps++) if (r === ancestor) return true;
  return false;
}

/** Rows of `row` and its ancestors, innermost first. */
export function chainOf(view: TreeView, row: number): number[] {
  const rows: number[] = [];
  const limit = rowCount(view);
  for (let r = row; r >= 0 && rows.length <= limit; r = parentOf(view, r)) rows.push(r);
  return rows;
}

/** Live child rows of every live row, each list in creation order (one pass over the rows). */
export function childrenByRow(view: TreeView): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  const n = rowCount(view);
  for (let r = 0; r < n; r++) {
    if (!isLiveRow(view, r)) continue;
    const p = parentOf(view, r);
    if (p < 0 || p === r) continue;
    const list = byParent.get(p);
    if (list === undefined) byParent.set(p, [r]);
    else list.push(r);
  }
  const serial = (r: number): number => view.u32[rowWord(view, r) + S_SERIAL]!;
  for (const list of byParent.values()) list.sort((a, b) => serial(a) - serial(b));
  return byParent;
}

/** Live child rows of `row`, in creation order. */
export function childRows(view: TreeView, row: number): number[] {
  return childrenByRow(view).get(row) ?? [];
}

/** `row` and its live descendants, parents before children, siblings in creation order. */
export function subtreeRows(view: TreeView, row: number): number[] {
  const byParent = childrenByRow(view);
  const out: number[] = [];
  const seen = new Set<number>();
  const walk = (r: number): void => {
    if (seen.has(r)) return; // a damaged parent cycle: check() reports it
    seen.add(r);
    out.push(r);
    for (const c of byParent.get(r) ?? []) walk(c);
  };
  walk(row);
  return out;
}

/** Byte address of entry `id` of table `t` whose entries are `bytes` long. */
export function entryAt(view: TreeView, t: number, id: number, bytes: number): number {
  return view.u32[view.cw + tableWord(t, TW_PTR)]! + id * bytes;
}
