import { formatBytes, formatCount } from "@memkit/core";
import { ROW_MASK, R_PTR, R_WORD } from "./block-records.js";
import { blockBytes } from "./leaks.js";
import {
  C_ALLOC_BYTES,
  C_ALLOC_COUNT,
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
  ROW_SHIFT,
  type Registry,
} from "./registry.js";
import { internals, type TraceAllocator } from "./trace-allocator.js";
import type { LabelReport, ScopeReport } from "./types.js";

/** Builds the JSON report of `scope`'s subtree (one walk over the block table for reserved bytes). */
export function buildReport(scope: TraceAllocator): ScopeReport {
  const { reg } = internals(scope);
  // Bytes taken from the backing per row, in one pass over the records.
  const reserved = new Map<number, number>();
  const { data, count } = reg.records;
  for (let i = 0; i < count; i++) {
    const word = data[(i << 2) + R_WORD]!;
    const row = word & ROW_MASK;
    reserved.set(row, (reserved.get(row) ?? 0) + blockBytes(reg, data[(i << 2) + R_PTR]!, word));
  }
  const top = node(scope, reserved);
  top.frame = reg.frame;
  return top;
}

function node(scope: TraceAllocator, reserved: Map<number, number>): ScopeReport {
  const s = internals(scope);
  const c = s.reg.counters;
  const has = s.row >= 0;
  const o = s.row << ROW_SHIFT;
  const at = (field: number): number => (has ? c[o + field]! : 0);
  const report: ScopeReport = {
    name: scope.name,
    path: scope.path,
    tracing: s.level,
    liveBytes: at(C_LIVE_BYTES),
    liveCount: at(C_LIVE_COUNT),
    peakLiveBytes: at(C_PEAK_BYTES),
    peakFrame: at(C_PEAK_FRAME),
    allocCount: at(C_ALLOC_COUNT),
    freeCount: at(C_FREE_COUNT),
    reallocCount: at(C_REALLOC_COUNT),
    allocatedBytes: at(C_ALLOC_BYTES),
    // An "off" scope counts its blocks by the backing's usable sizes already: that is what it reserves.
    reservedBytes: has ? (reserved.get(s.row) ?? 0) + (s.level === "off" ? at(C_LIVE_BYTES) - at(C_RETAINED_BYTES) : 0) : 0,
    retainedBytes: at(C_RETAINED_BYTES),
    retainedCount: at(C_RETAINED_COUNT),
    totalLiveBytes: at(C_TOTAL_BYTES),
    totalLiveCount: at(C_TOTAL_COUNT),
    totalPeakLiveBytes: at(C_TOTAL_PEAK),
    totalPeakFrame: at(C_TOTAL_PEAK_FRAME),
    children: [],
  };
  if (s.budgetBytes !== undefined) {
    report.budgetBytes = s.budgetBytes;
    report.budgetAction = s.budgetAction;
  }
  if (s.stage !== undefined) report.stage = s.stage;
  if (has) {
    const labels = labelsOf(s.reg, s.row);
    if (labels.length > 0) report.labels = labels;
  }
  report.children = scope.children.map((child) => node(child, reserved));
  return report;
}

/** The label figures of `row`: labels with live blocks or a peak, largest first. */
function labelsOf(reg: Registry, row: number): LabelReport[] {
  const out: LabelReport[] = [];
  for (const t of reg.labels.talliesOf(row)) {
    if (t.liveCount === 0 && t.peakBytes === 0) continue;
    out.push({ label: reg.labels.text(t.label)!, liveBytes: t.liveBytes, liveCount: t.liveCount, peakLiveBytes: t.peakBytes, peakFrame: t.peakFrame });
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
