import { formatBytes, formatCount } from "@memkit/core";
import { budgetOf } from "./budgets.js";
import { labelText, talliesOf } from "./labels.js";
import {
  D_ALLOC_BYTES,
  D_TEMP_BYTES,
  D_TEMP_COUNT,
  D_ALLOC_COUNT,
  D_FREE_COUNT,
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
  OFF,
  ROW_MASK,
  R_WORD,
  S_STAGE,
  W_FRAME,
} from "./layout.js";
import { addLaneReserved } from "./lane-walks.js";
import { blockBytes } from "./leaks.js";
import { LEVELS } from "./options.js";
import { recordAt, recordCount } from "./records.js";
import { readString } from "./strings.js";
import { childrenByRow, isScope, levelOf, nameOfPath, pathOf, rowF64, rowWord, type TreeView } from "./tree-view.js";
import type { LabelReport, ScopeReport, TracingLevel } from "./types.js";

/** What a report says of a scope that is gone (disposed): its name, path and last level. */
export interface GoneScope {
  name: string;
  path: string;
  tracing: TracingLevel;
}

/** Builds the JSON report of the subtree of the scope at `row` (one walk over the records for reserved bytes). */
export function buildReport(view: TreeView, row: number, gen: number, gone: GoneScope): ScopeReport {
  if (!isScope(view, row, gen)) return emptyReport(gone, view.u32[view.cw + W_FRAME]!);
  // Bytes taken from the backing per row, in one pass over the records.
  const reserved = new Map<number, number>();
  const count = recordCount(view);
  for (let i = 0; i < count; i++) {
    const r = view.i32[recordAt(view, i) + R_WORD]! & ROW_MASK;
    reserved.set(r, (reserved.get(r) ?? 0) + blockBytes(view, i));
  }
  addLaneReserved(view, reserved);
  const top = node(view, row, reserved, childrenByRow(view));
  top.frame = view.u32[view.cw + W_FRAME]!;
  return top;
}

function emptyReport(gone: GoneScope, frame: number): ScopeReport {
  return {
    name: gone.name,
    path: gone.path,
    tracing: gone.tracing,
    liveBytes: 0,
    liveCount: 0,
    peakLiveBytes: 0,
    peakFrame: 0,
    allocCount: 0,
    freeCount: 0,
    reallocCount: 0,
    allocatedBytes: 0,
    tempFreeCount: 0,
    tempFreeBytes: 0,
    reservedBytes: 0,
    retainedBytes: 0,
    retainedCount: 0,
    totalLiveBytes: 0,
    totalLiveCount: 0,
    totalPeakLiveBytes: 0,
    totalPeakFrame: 0,
    children: [],
    frame,
  };
}

function node(view: TreeView, row: number, reserved: Map<number, number>, children: Map<number, number[]>): ScopeReport {
  const o = rowF64(view, row);
  const at = (field: number): number => view.f64[o + field]!;
  const path = pathOf(view, row);
  const level = levelOf(view, row);
  const report: ScopeReport = {
    name: nameOfPath(path),
    path,
    tracing: LEVELS[level]!,
    liveBytes: at(D_LIVE_BYTES),
    liveCount: at(D_LIVE_COUNT),
    peakLiveBytes: at(D_PEAK_BYTES),
    peakFrame: at(D_PEAK_FRAME),
    allocCount: at(D_ALLOC_COUNT),
    freeCount: at(D_FREE_COUNT),
    reallocCount: at(D_REALLOC_COUNT),
    allocatedBytes: at(D_ALLOC_BYTES),
    tempFreeCount: at(D_TEMP_COUNT),
    tempFreeBytes: at(D_TEMP_BYTES),
    // An "off" scope counts its blocks by the backing's usable sizes already: that is what it reserves.
    reservedBytes: (reserved.get(row) ?? 0) + (level === OFF ? at(D_LIVE_BYTES) - at(D_RETAINED_BYTES) : 0),
    retainedBytes: at(D_RETAINED_BYTES),
    retainedCount: at(D_RETAINED_COUNT),
    totalLiveBytes: at(D_TOTAL_BYTES),
    totalLiveCount: at(D_TOTAL_COUNT),
    totalPeakLiveBytes: at(D_TOTAL_PEAK),
    totalPeakFrame: at(D_TOTAL_PEAK_FRAME),
    children: [],
  };
  const budget = budgetOf(view, row);
  if (budget !== undefined) {
    report.budgetBytes = budget.bytes;
    report.budgetAction = budget.onExceed;
  }
  const stage = view.u32[rowWord(view, row) + S_STAGE]!;
  if (stage !== 0) report.stage = readString(view, stage);
  const labels = labelsOf(view, row);
  if (labels.length > 0) report.labels = labels;
  report.children = (children.get(row) ?? []).map((child) => node(view, child, reserved, children));
  return report;
}

/** The label figures of `row`: labels with live blocks or a peak, largest first. */
function labelsOf(view: TreeView, row: number): LabelReport[] {
  const out: LabelReport[] = [];
  for (const t of talliesOf(view, row)) {
    if (t.liveCount === 0 && t.peakBytes === 0) continue;
    out.push({ label: labelText(view, t.label) ?? "?", liveBytes: t.liveBytes, liveCount: t.liveCount, peakLiveBytes: t.peakBytes, peakFrame: t.peakFrame });
  }
  return out.sort((a, b) => b.liveBytes - a.liveBytes || b.peakLiveBytes - a.peakLiveBytes || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

interface Column {
  title: string;
  cell: (r: ScopeReport) => string;
}

const COLUMNS: Column[] = [
  { title: "live", cell: (r) => formatBytes(r.totalLiveBytes) },
  { title: "self", cell: (r) => formatBytes(r.liveBytes) },
  { title: "blocks", cell: (r) => formatCount(r.totalLiveCount) },
  { title: "peak", cell: (r) => formatBytes(r.totalPeakLiveBytes) },
  { title: "allocs", cell: (r) => formatCount(r.allocCount) },
  { title: "frees", cell: (r) => formatCount(r.freeCount) },
  { title: "retained", cell: (r) => (r.retainedCount > 0 ? formatBytes(r.retainedBytes) : "") },
  {
    title: "budget",
    cell: (r) =>
      r.budgetBytes === undefined
        ? ""
        : `${formatBytes(r.totalLiveBytes)} / ${formatBytes(r.budgetBytes)} (${r.budgetBytes === 0 ? "-" : Math.round((100 * r.totalLiveBytes) / r.budgetBytes) + "%"})`,
  },
];

/**
 * The report as an aligned text tree. `live`, `blocks` and `peak` are the
 * subtree's (the scope and its descendants); `self`, `allocs` and `frees`
 * the scope's own; `budget` is subtree use / budget. Under a scope, a `·`
 * line per block label (`ScopeReport.labels`) gives that label's own live
 * bytes, blocks and peak.
 *
 * ```
 * scope                             live      self  blocks      peak  allocs  frees  budget
 * root                          1.50 KiB     512 B       3  2.00 KiB      10      7
 * └─ physics                    1.00 KiB  1.00 KiB       2  1.50 KiB       5      3  1.00 KiB / 32.0 MiB (0%)
 *      · HashMap<u32, u32> "grid"  768 B               1     768 B
 * ```
 */
export function formatReport(report: ScopeReport): string {
  const rows: { label: string; cells: string[] }[] = [];
  const walk = (r: ScopeReport, prefix: string, childPrefix: string): void => {
    const label = `${prefix}${r.name}${r.stage !== undefined ? ` [${r.stage}]` : ""}${r.tracing === "off" ? " (off)" : ""}`;
    rows.push({ label, cells: COLUMNS.map((c) => c.cell(r)) });
    const guide = `${childPrefix}${r.children.length > 0 ? "│ " : "  "}`;
    for (const l of r.labels ?? []) {
      const cells = COLUMNS.map(() => "");
      cells[0] = formatBytes(l.liveBytes);
      cells[2] = formatCount(l.liveCount);
      cells[3] = formatBytes(l.peakLiveBytes);
      rows.push({ label: `${guide}· ${l.label.replace(/\s+/g, " ")}`, cells });
    }
    r.children.forEach((child, i) => {
      const last = i === r.children.length - 1;
      walk(child, `${childPrefix}${last ? "└─ " : "├─ "}`, `${childPrefix}${last ? "   " : "│  "}`);
    });
  };
  walk(report, "", "");
  // Leave out columns no scope fills (retained, budget) to keep the table narrow.
  const used = COLUMNS.map((_, i) => i < 6 || rows.some((row) => row.cells[i] !== ""));
  const labelWidth = Math.max("scope".length, ...rows.map((r) => r.label.length));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (label: string, cells: string[]): string => {
    let out = label.padEnd(labelWidth);
    cells.forEach((cell, i) => {
      if (!used[i]) return;
      out += "  " + (i === COLUMNS.length - 1 ? cell : cell.padStart(widths[i]!));
    });
    return out.trimEnd();
  };
  return [line("scope", COLUMNS.map((c) => c.title)), ...rows.map((r) => line(r.label, r.cells))].join("\n");
}
