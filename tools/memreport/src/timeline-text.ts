import { formatBytes, formatCount } from "@memkit/core";
import type { MemoryReport, TimelineReport } from "./report-types.js";
import { table } from "./text.js";

/*
 * The timeline as text: per scope, its own live bytes at the first and last
 * frame sampled, the least and most, and allocations and frees per frame;
 * then the leak suspects (scopes whose live bytes kept rising).
 */

/** Lines of the timeline section, or none when the report has no timeline. */
export function formatTimeline(report: MemoryReport): string[] {
  const t = report.timeline;
  if (t === undefined) return [];
  if (t.frames.length === 0) return ["Timeline: no frame sampled yet (samples are taken at memory.beginFrame())"];
  const n = t.frames.length;
  const rows = t.scopes.map((s) => [
    s.path,
    formatBytes(s.liveBytes[0]!),
    formatBytes(s.liveBytes[n - 1]!),
    formatBytes(Math.min(...s.liveBytes)),
    formatBytes(Math.max(...s.liveBytes)),
    perFrame(s.allocs),
    perFrame(s.frees),
  ]);
  const left = t.scopesLeftOut > 0 ? `; ${formatCount(t.scopesLeftOut)} scope rows past its capacity left out` : "";
  const lines = [
    `Timeline: ${formatCount(n)} frames sampled (${formatCount(t.frames[0]!)}-${formatCount(t.frames[n - 1]!)}, ring of ${formatCount(t.capacity)}${left}); own live bytes per scope`,
    table(["scope", "first", "last", "least", "most", "allocs/frame", "frees/frame"], rows),
    "",
    ...formatLeakSuspects(t),
    "",
    ...formatChurn(t),
  ];
  return lines;
}

/** Scopes ranked by the blocks that came and went within a frame (at most), with the hint. */
export function formatChurn(t: TimelineReport, top = 10): string[] {
  if (t.churn.length === 0) return ["Churn: no scope allocated and freed in the same frame"];
  const rows = t.churn.slice(0, top).map((c) => [c.path, formatCount(c.blocks), c.perFrame.toFixed(1), `${formatCount(c.frames)} of ${formatCount(t.frames.length)}`]);
  return [
    "Churn: blocks allocated and freed in the same frame (at most: min(allocs, frees) per frame); " +
      "blocks that live within a frame belong in memory.frame or memory.scratch, which free in bulk",
    table(["scope", "blocks", "per frame", "frames"], rows),
  ];
}

function perFrame(counts: readonly number[]): string {
  return (counts.reduce((a, b) => a + b, 0) / counts.length).toFixed(1);
}

/** The leak-suspect lines (also used by the HTML page's note). */
export function formatLeakSuspects(t: TimelineReport): string[] {
  const window = `the last ${formatCount(Math.min(t.leakWindow, t.frames.length))} frames`;
  if (t.leakSuspects.length === 0) {
    return t.frames.length < 8 ? [`Leak suspects: too few frames sampled to tell (8 needed)`] : [`Leak suspects: none (no scope's live bytes kept rising over ${window})`];
  }
  const rows = t.leakSuspects.map((s) => [
    s.path,
    `${formatCount(s.fromFrame)}-${formatCount(s.toFrame)}`,
    `${formatBytes(s.fromBytes)} -> ${formatBytes(s.toBytes)}`,
    `${formatCount(s.fromCount)} -> ${formatCount(s.toCount)}`,
    `${formatBytes(Math.round(s.bytesPerFrame))}/frame`,
  ]);
  return [
    `Leak suspects: own live bytes kept rising over ${window} without returning (free what is no longer needed, or dispose the scope)`,
    table(["scope", "frames", "live bytes", "blocks", "growth"], rows),
  ];
}
