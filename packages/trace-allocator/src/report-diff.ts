import { InvalidArgumentError, describe, formatBytes, formatCount } from "@memkit/core";
import type { ScopeReport } from "./types.js";

/** The numbers of one scope that {@link diffReports} compares. */
export interface ScopeNumbers {
  liveBytes: number;
  liveCount: number;
  totalLiveBytes: number;
  totalLiveCount: number;
  peakLiveBytes: number;
  totalPeakLiveBytes: number;
  allocCount: number;
  freeCount: number;
  reallocCount: number;
  allocatedBytes: number;
  retainedBytes: number;
}

const FIELDS: readonly (keyof ScopeNumbers)[] = [
  "liveBytes",
  "liveCount",
  "totalLiveBytes",
  "totalLiveCount",
  "peakLiveBytes",
  "totalPeakLiveBytes",
  "allocCount",
  "freeCount",
  "reallocCount",
  "allocatedBytes",
  "retainedBytes",
];

/** How one scope changed between two reports. */
export interface ScopeDelta {
  path: string;
  name: string;
  /** Depth below the compared root (0 for the root). */
  depth: number;
  /** `added`: only in the later report; `removed`: only in the earlier one. */
  status: "added" | "removed" | "changed" | "unchanged";
  before?: ScopeNumbers;
  after?: ScopeNumbers;
  /** after - before (a missing side counts as zeros). */
  delta: ScopeNumbers;
}

/** What {@link diffReports} returns. */
export interface ReportDiff {
  /** Frames the two reports were taken in, when they say. */
  fromFrame?: number;
  toFrame?: number;
  /** Every scope of either report, parents before children (the later report's order, removed scopes after their siblings). */
  scopes: ScopeDelta[];
}

function numbers(r: ScopeReport): ScopeNumbers {
  const out = {} as ScopeNumbers;
  for (const f of FIELDS) out[f] = r[f];
  return out;
}

function checkReport(r: unknown, which: string): asserts r is ScopeReport {
  if (typeof r !== "object" || r === null || typeof (r as ScopeReport).path !== "string" || !Array.isArray((r as ScopeReport).children)) {
    throw new InvalidArgumentError(`diffReports: ${which} must be a report() result (an object with path and children), received ${describe(r)}.`);
  }
}

/**
 * Compares two reports of the same tree (JSON from `report()`, possibly
 * stored and reloaded): per scope, matched by path, what changed. A pure
 * function: "what grew between frame 100 and frame 5,000".
 */
export function diffReports(before: ScopeReport, after: ScopeReport): ReportDiff {
  checkReport(before, "before");
  checkReport(after, "after");
  const diff: ReportDiff = { scopes: [] };
  if (before.frame !== undefined) diff.fromFrame = before.frame;
  if (after.frame !== undefined) diff.toFrame = after.frame;
  const visit = (a: ScopeReport | undefined, b: ScopeReport | undefined, depth: number): void => {
    const any = (b ?? a)!;
    const delta = {} as ScopeNumbers;
    for (const f of FIELDS) delta[f] = (b?.[f] ?? 0) - (a?.[f] ?? 0);
    const status = a === undefined ? "added" : b === undefined ? "removed" : FIELDS.some((f) => delta[f] !== 0) ? "changed" : "unchanged";
    const entry: ScopeDelta = { path: any.path, name: any.name, depth, status, delta };
    if (a !== undefined) entry.before = numbers(a);
    if (b !== undefined) entry.after = numbers(b);
    diff.scopes.push(entry);
    const earlier = new Map((a?.children ?? []).map((c) => [c.name, c]));
    const later = b?.children ?? [];
    for (const child of later) visit(earlier.get(child.name), child, depth + 1);
    const seen = new Set(later.map((c) => c.name));
    for (const child of a?.children ?? []) if (!seen.has(child.name)) visit(child, undefined, depth + 1);
  };
  visit(before, after, 0);
  return diff;
}

function signedBytes(n: number): string {
  return n > 0 ? `+${formatBytes(n)}` : n < 0 ? formatBytes(n) : "0 B";
}

function signedCount(n: number): string {
  return n > 0 ? `+${formatCount(n)}` : formatCount(n);
}

/**
 * The diff as an aligned text table: per scope the change in subtree live
 * bytes, own live bytes, subtree blocks, subtree peak, allocations and frees.
 * Unchanged scopes are left out unless `all` is set.
 *
 * ```
 * scope (frame 100 -> 5000)  live      self      blocks  peak      allocs  frees
 * root                       +2.00 KiB 0 B       +2      +2.00 KiB +0      +0
 *   level (new)              +2.00 KiB +2.00 KiB +2      +2.00 KiB +2      +0
 * ```
 */
export function formatReportDiff(diff: ReportDiff, options: { all?: boolean } = {}): string {
  const shown = diff.scopes.filter((s) => options.all === true || s.status !== "unchanged");
  const frames = diff.fromFrame !== undefined && diff.toFrame !== undefined ? ` (frame ${diff.fromFrame} -> ${diff.toFrame})` : "";
  const header = [`scope${frames}`, "live", "self", "blocks", "peak", "allocs", "frees"];
  const rows = shown.map((s) => [
    `${"  ".repeat(s.depth)}${s.name}${s.status === "added" ? " (new)" : s.status === "removed" ? " (gone)" : ""}`,
    signedBytes(s.delta.totalLiveBytes),
    signedBytes(s.delta.liveBytes),
    signedCount(s.delta.totalLiveCount),
    signedBytes(s.delta.totalPeakLiveBytes),
    signedCount(s.delta.allocCount),
    signedCount(s.delta.freeCount),
  ]);
  if (rows.length === 0) return `${header[0]!}: no change`;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
