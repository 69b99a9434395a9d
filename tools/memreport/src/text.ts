import { formatBytes, formatCount, hex } from "@memkit/core";
import { formatReport } from "@memkit/trace-allocator";
import { summarizeMap } from "./map-summary.js";
import type { MemoryReport } from "./report-types.js";
import { heaviestStages, stageMatrix } from "./stages.js";

/*
 * The plain-text report: a header, the scope tree (the trace allocator's own
 * formatReport), peaks per stage, allocator figures and a memory-map summary.
 */

/** A right-aligned text table; the first column is left-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** A percentage with one decimal: `37.5%`. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? "-" : `${((100 * part) / whole).toFixed(1)}%`;
}

/** One line describing where and how the report was taken. */
export function describeReport(report: MemoryReport): string {
  const o = report.options;
  return (
    `frame ${formatCount(report.frame)}, ${report.createdAt}, tracing ${o.tracing}, debug ${o.debug ? "on" : "off"}, ` +
    `${formatBytes(o.pageSize)} pages, space ${formatBytes(report.memoryMap.byteLength)} of ${formatBytes(report.memoryMap.maximumBytes)}`
  );
}

/** The whole report as text (what `memreport report.json` prints). */
export function formatText(report: MemoryReport): string {
  const parts = [`memkit memory report: ${report.label}`, `  ${describeReport(report)}`, "", "Scopes", formatReport(report.scopes)];
  parts.push("", ...formatStages(report));
  parts.push("", ...formatAllocators(report));
  parts.push("", ...formatMapSummary(report));
  return parts.join("\n") + "\n";
}

function formatStages(report: MemoryReport): string[] {
  if (report.stages.length === 0) return ["Stages: none recorded (memory.beginStage(name) / endStage())"];
  const { stages, paths, cell } = stageMatrix(report.stages);
  const heaviest = heaviestStages(report.stages);
  const rows = paths.map((path) => [
    path,
    ...stages.map((s, i) => {
      const c = cell(path, i);
      return c === undefined ? "" : `${formatBytes(c.peakLiveBytes)}${heaviest.get(path) === i ? " *" : "  "}`;
    }),
  ]);
  const header = ["scope", ...stages.map((s) => `${s.name} (${s.startFrame}-${s.endFrame})`)];
  return ["Stages: peak live bytes of each scope's subtree (* = the scope's heaviest stage)", table(header, rows)];
}

function formatAllocators(report: MemoryReport): string[] {
  if (report.allocators.length === 0) return ["Allocators: none listed"];
  const rows = report.allocators.map((a) => {
    const s = a.storage;
    return [
      a.name,
      formatBytes(a.liveBytes),
      formatCount(a.liveCount),
      formatBytes(a.peakLiveBytes),
      formatBytes(a.reservedBytes),
      s === undefined ? "" : formatBytes(s.totalFreeBytes),
      s === undefined ? "" : formatBytes(s.largestFreeBlock),
      s === undefined ? "" : `${(100 * s.fragmentation).toFixed(1)}%`,
    ];
  });
  return ["Allocators", table(["name", "live", "blocks", "peak", "reserved", "free", "largest free", "fragmentation"], rows)];
}

function formatMapSummary(report: MemoryReport): string[] {
  const map = report.memoryMap;
  const sum = summarizeMap(map);
  const rows = sum.owners.map((o) => [
    o.name,
    formatCount(o.spans),
    formatCount(o.pages),
    formatBytes(o.bytes),
    o.measuredPages === 0 ? "" : `${formatBytes(o.usedBytes)} (${percent(o.usedBytes, o.measuredPages * map.pageSize)})`,
  ]);
  rows.push(["free", formatCount(sum.free.spans), formatCount(sum.free.pages), formatBytes(sum.free.bytes), sum.free.spans === 0 ? "" : `largest ${formatBytes(sum.free.largest)}`]);
  const lines = [
    `Memory map: ${formatBytes(map.pageSize)} pages, ${hex(0)}-${hex(map.byteLength)} (${formatBytes(map.byteLength)} of ${formatBytes(map.maximumBytes)} maximum)`,
    table(["owner", "spans", "pages", "bytes", "in use (pages with a figure)"], rows),
  ];
  if (map.regions.length > 0) lines.push(`regions: ${map.regions.map((r) => `${r.name} ${hex(r.start)} ${formatBytes(r.bytes)}`).join(", ")}`);
  return lines;
}
