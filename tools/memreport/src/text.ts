import { formatBytes, formatCount, hex } from "@memkit/core";
import { formatReport, rankTemporaries } from "@memkit/trace-allocator";
import { summarizeMap } from "./map-summary.js";
import { counted } from "./plural.js";
import type { MemoryReport, SlabReport } from "./report-types.js";
import { heaviestStages, stageMatrix } from "./stages.js";
import { formatTimeline } from "./timeline-text.js";

/*
 * The plain-text report: a header, the scope tree (the trace allocator's own
 * formatReport, with a line per block label), peaks per stage, allocator
 * figures (a slab allocator's empty slabs and size classes) and a memory-map
 * summary.
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
  parts.push("", ...formatTemporaries(report));
  parts.push("", ...formatStages(report));
  if (report.timeline !== undefined) parts.push("", ...formatTimeline(report));
  if (report.threads !== undefined) parts.push("", ...formatThreads(report));
  parts.push("", ...formatAllocators(report));
  parts.push("", ...formatMapSummary(report));
  return parts.join("\n") + "\n";
}

function formatThreads(report: MemoryReport): string[] {
  const threads = report.threads ?? [];
  const rows = threads.map((t) => [
    t.name,
    t.state,
    formatBytes(t.liveBytes),
    formatBytes(t.peakLiveBytes),
    formatCount(t.allocCount),
    formatCount(t.freeCount),
    t.scopes.map((s) => `${s.path} ${formatBytes(s.liveBytes)}`).join(", "),
  ]);
  return ["Threads: live blocks each thread allocated (whichever thread frees them), by scope", table(["thread", "state", "live", "peak", "allocations", "freed", "live by scope"], rows)];
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
      // A slab allocator's free slots are spread over size classes: its "fragmentation" is near 100% whatever happens.
      a.slabs !== undefined ? emptySlabs(a.slabs) : s === undefined ? "" : `${(100 * s.fragmentation).toFixed(1)}%`,
    ];
  });
  const lines = ["Allocators", table(["name", "live", "blocks", "peak", "reserved", "free", "largest free", "fragmentation / empty slabs"], rows)];
  for (const a of report.allocators) if (a.slabs !== undefined) lines.push("", ...formatSlabs(a.name, a.slabs));
  return lines;
}

/** `1 of 8 slabs empty (4.00 KiB)`: the slabs with no slot in use, and the bytes they hold idle. */
function emptySlabs(slabs: SlabReport): string {
  return `${formatCount(slabs.emptySlabs)} of ${counted(slabs.slabs, "slab")} empty (${formatBytes(slabs.emptySlabs * slabs.slabBytes)})`;
}

/** A slab allocator's size classes: what the HTML draws as one bar per class. */
function formatSlabs(name: string, slabs: SlabReport): string[] {
  const head =
    `${name}: slots per size class (${formatBytes(slabs.slabBytes)} slabs; ` +
    `${formatCount(slabs.emptySlabs)} of ${formatCount(slabs.slabs)} empty, ${formatBytes(slabs.emptySlabs * slabs.slabBytes)} idle)`;
  if (slabs.classes.length === 0) return [head, "  no slab in a size class"];
  const rows = slabs.classes.map((c) => [
    `${formatCount(c.slotSize)} B`,
    formatCount(c.slabs),
    formatCount(c.slots),
    formatCount(c.usedSlots),
    formatCount(c.slots - c.usedSlots),
    formatBytes((c.slots - c.usedSlots) * c.slotSize),
  ]);
  // Every column right-aligned (the first too: slot sizes line up by their units).
  const header = ["slot size", "slabs", "slots", "in use", "free", "free bytes"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => "  " + cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [head, line(header), ...rows.map(line)];
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

/** Scopes ranked by the blocks they freed in the frame they allocated them in (exact: each free compares frames). */
export function formatTemporaries(report: MemoryReport, top = 10): string[] {
  // Reports written before the count existed have no tempFreeCount: nothing to rank.
  const ranked = rankTemporaries(report.scopes);
  if (ranked.length === 0) return ["Temporary allocations: none (no block was freed in the frame it was allocated in)"];
  const rows = ranked.slice(0, top).map((t) => [t.path, formatCount(t.count), formatBytes(t.bytes), `${(100 * t.shareOfFrees).toFixed(1)}%`]);
  return [
    "Temporary allocations: blocks freed in the frame they were allocated in; " +
      "they belong in memory.frame (per-frame lists) or memory.scratch (marks), which free in bulk without per-block bookkeeping",
    table(["scope", "blocks", "bytes", "of its frees"], rows),
  ];
}
