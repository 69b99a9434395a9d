import { formatBytes, formatCount } from "@memkit/core";
import { diffReports, formatReportDiff, parseFoldedStacks, type ReportDiff, type ScopeDelta } from "@memkit/trace-allocator";
import { scopePaths, splitStack } from "./folded.js";
import type { AllocatorReport, MemoryReport } from "./report-types.js";
import { table } from "./text.js";

/*
 * What grew or shrank between two reports: the scope tree through the trace
 * allocator's diffReports, the own live bytes of each scope sorted by change,
 * the live bytes per call stack (when both reports captured stacks), and
 * each allocator's live and reserved bytes.
 */

/** One scope whose own live bytes changed. */
export interface ScopeChange {
  path: string;
  status: ScopeDelta["status"];
  beforeBytes: number;
  afterBytes: number;
  deltaBytes: number;
  deltaCount: number;
}

/** One call stack whose live bytes changed. */
export interface StackChange {
  /** Scope path the stack was captured in. */
  scope: string;
  /** The blocks' label (a container's name), when they have one. */
  label?: string;
  /** Call frames, outermost first (empty for blocks without a captured stack). */
  calls: string[];
  before: number;
  after: number;
  delta: number;
}

/** One allocator's change. */
export interface AllocatorChange {
  name: string;
  before?: AllocatorReport;
  after?: AllocatorReport;
  deltaLiveBytes: number;
  deltaReservedBytes: number;
}

/** What {@link diffMemoryReports} returns. */
export interface MemoryReportDiff {
  before: { label: string; frame: number; createdAt: string; liveBytes: number; liveCount: number };
  after: { label: string; frame: number; createdAt: string; liveBytes: number; liveCount: number };
  /** The scope trees compared by the trace allocator's diffReports. */
  scopes: ReportDiff;
  /** Scopes whose own live bytes grew / shrank, largest change first. */
  grew: ScopeChange[];
  shrank: ScopeChange[];
  /** Live bytes per call stack, largest change first; undefined unless both reports have call stacks. */
  stacks?: { grew: StackChange[]; shrank: StackChange[] };
  /** Why `stacks` is missing, when it is. */
  stacksMissing?: string;
  /** Allocators whose live or reserved bytes changed (or that exist in one report only). */
  allocators: AllocatorChange[];
}

/** True when the report's live folded stacks hold call frames past the scope paths (tracing "callstacks"). */
export function hasCallStacks(report: MemoryReport): boolean {
  const paths = scopePaths(report.scopes);
  return parseFoldedStacks(report.folded.liveBytes).some((line) => splitStack(line.frames, paths).calls.length > 0);
}

function side(r: MemoryReport): MemoryReportDiff["before"] {
  return { label: r.label, frame: r.frame, createdAt: r.createdAt, liveBytes: r.scopes.totalLiveBytes, liveCount: r.scopes.totalLiveCount };
}

const byChange = (a: { delta?: number; deltaBytes?: number }, b: { delta?: number; deltaBytes?: number }): number =>
  Math.abs(b.delta ?? b.deltaBytes ?? 0) - Math.abs(a.delta ?? a.deltaBytes ?? 0);

/** Compares two memory reports (the earlier first). */
export function diffMemoryReports(before: MemoryReport, after: MemoryReport): MemoryReportDiff {
  const scopes = diffReports(before.scopes, after.scopes);
  const changes: ScopeChange[] = scopes.scopes
    .filter((s) => s.delta.liveBytes !== 0)
    .map((s) => ({
      path: s.path,
      status: s.status,
      beforeBytes: s.before?.liveBytes ?? 0,
      afterBytes: s.after?.liveBytes ?? 0,
      deltaBytes: s.delta.liveBytes,
      deltaCount: s.delta.liveCount,
    }));
  const diff: MemoryReportDiff = {
    before: side(before),
    after: side(after),
    scopes,
    grew: changes.filter((c) => c.deltaBytes > 0).sort(byChange),
    shrank: changes.filter((c) => c.deltaBytes < 0).sort(byChange),
    allocators: diffAllocators(before.allocators, after.allocators),
  };
  const beforeStacks = hasCallStacks(before);
  const afterStacks = hasCallStacks(after);
  if (beforeStacks && afterStacks) diff.stacks = diffStacks(before, after);
  else {
    const which = !beforeStacks && !afterStacks ? "neither report has" : !beforeStacks ? "the earlier report has no" : "the later report has no";
    diff.stacksMissing = `${which} call stacks (take both with tracing "callstacks")`;
  }
  return diff;
}

function diffStacks(before: MemoryReport, after: MemoryReport): { grew: StackChange[]; shrank: StackChange[] } {
  const paths = scopePaths(after.scopes, scopePaths(before.scopes));
  const values = new Map<string, { frames: string[]; before: number; after: number }>();
  const add = (text: string, which: "before" | "after"): void => {
    for (const line of parseFoldedStacks(text)) {
      const key = line.frames.join(";");
      let v = values.get(key);
      if (v === undefined) {
        v = { frames: line.frames, before: 0, after: 0 };
        values.set(key, v);
      }
      v[which] += line.value;
    }
  };
  add(before.folded.liveBytes, "before");
  add(after.folded.liveBytes, "after");
  const changes: StackChange[] = [];
  for (const v of values.values()) {
    if (v.after === v.before) continue;
    const { scope, label, calls } = splitStack(v.frames, paths);
    const change: StackChange = { scope, calls, before: v.before, after: v.after, delta: v.after - v.before };
    if (label !== undefined) change.label = label;
    changes.push(change);
  }
  return { grew: changes.filter((c) => c.delta > 0).sort(byChange), shrank: changes.filter((c) => c.delta < 0).sort(byChange) };
}

function diffAllocators(before: AllocatorReport[], after: AllocatorReport[]): AllocatorChange[] {
  const earlier = new Map(before.map((a) => [a.name, a]));
  const out: AllocatorChange[] = [];
  const push = (name: string, a: AllocatorReport | undefined, b: AllocatorReport | undefined): void => {
    const deltaLiveBytes = (b?.liveBytes ?? 0) - (a?.liveBytes ?? 0);
    const deltaReservedBytes = (b?.reservedBytes ?? 0) - (a?.reservedBytes ?? 0);
    if (a !== undefined && b !== undefined && deltaLiveBytes === 0 && deltaReservedBytes === 0) return;
    const change: AllocatorChange = { name, deltaLiveBytes, deltaReservedBytes };
    if (a !== undefined) change.before = a;
    if (b !== undefined) change.after = b;
    out.push(change);
  };
  for (const b of after) push(b.name, earlier.get(b.name), b);
  const later = new Set(after.map((a) => a.name));
  for (const a of before) if (!later.has(a.name)) push(a.name, a, undefined);
  return out;
}

/** `+1.00 KiB`, `-96 B`, `0 B`. */
export function signedBytes(n: number): string {
  return n > 0 ? `+${formatBytes(n)}` : formatBytes(n);
}

function signedCount(n: number): string {
  return n > 0 ? `+${formatCount(n)}` : formatCount(n);
}

/** Call frames innermost first (`loadChunk (a.ts:8) < update (b.ts:4) < ...`), at most `max` of them. */
export function describeCalls(calls: readonly string[], max = 4): string {
  if (calls.length === 0) return "(no call stack)";
  const inner = calls.slice(-max).reverse();
  return inner.join(" < ") + (calls.length > max ? ` < ... (${calls.length - max} more)` : "");
}

/** Options of {@link formatMemoryDiff}. */
export interface DiffFormatOptions {
  /** List unchanged scopes in the scope table too. @defaultValue false */
  all?: boolean;
  /** Most call stacks listed per direction. @defaultValue 20 */
  top?: number;
}

/** The diff as text (what `memreport diff a.json b.json` prints). */
export function formatMemoryDiff(diff: MemoryReportDiff, options: DiffFormatOptions = {}): string {
  const top = options.top ?? 20;
  const { before: a, after: b } = diff;
  const out = [
    "memreport diff",
    `  before: ${a.label} (frame ${formatCount(a.frame)}, ${a.createdAt})`,
    `  after:  ${b.label} (frame ${formatCount(b.frame)}, ${b.createdAt})`,
    `  live: ${formatBytes(a.liveBytes)} -> ${formatBytes(b.liveBytes)} (${signedBytes(b.liveBytes - a.liveBytes)}), ` +
      `blocks ${formatCount(a.liveCount)} -> ${formatCount(b.liveCount)} (${signedCount(b.liveCount - a.liveCount)})`,
    "",
    "Scopes (live, blocks and peak are the subtree's; self is the scope's own)",
    formatReportDiff(diff.scopes, { all: options.all === true }),
  ];
  const scopeLines = (label: string, list: ScopeChange[]): string[] =>
    list.map((c) => {
      const tag = c.status === "added" ? " (new)" : c.status === "removed" ? " (gone)" : "";
      return `  ${label}  ${signedBytes(c.deltaBytes).padStart(11)}  ${c.path}${tag}  ${formatBytes(c.beforeBytes)} -> ${formatBytes(c.afterBytes)} (${signedCount(c.deltaCount)} ${Math.abs(c.deltaCount) === 1 ? "block" : "blocks"})`;
    });
  out.push("", "Own live bytes per scope");
  if (diff.grew.length + diff.shrank.length === 0) out.push("  no scope's own live bytes changed");
  out.push(...scopeLines("grew  ", diff.grew), ...scopeLines("shrank", diff.shrank));

  out.push("");
  if (diff.stacks === undefined) out.push(`Call stacks: not compared: ${diff.stacksMissing ?? "no call stacks"}`);
  else {
    const { grew, shrank } = diff.stacks;
    out.push(`Live bytes per call stack (${formatCount(grew.length)} grew, ${formatCount(shrank.length)} shrank; ${top === 1 ? "the largest change" : `the ${top} largest changes`} each way)`);
    if (grew.length + shrank.length === 0) out.push("  no call stack's live bytes changed");
    const stackLines = (label: string, list: StackChange[]): string[] =>
      list
        .slice(0, top)
        .map((c) => `  ${label}  ${signedBytes(c.delta).padStart(11)}  ${c.scope}${c.label === undefined ? "" : ` [${c.label}]`}: ${describeCalls(c.calls)}  ${formatBytes(c.before)} -> ${formatBytes(c.after)}`);
    out.push(...stackLines("grew  ", grew), ...stackLines("shrank", shrank));
  }

  out.push("");
  if (diff.allocators.length === 0) out.push("Allocators: no change in live or reserved bytes");
  else {
    const rows = diff.allocators.map((c) => [
      `${c.name}${c.before === undefined ? " (new)" : c.after === undefined ? " (gone)" : ""}`,
      `${formatBytes(c.before?.liveBytes ?? 0)} -> ${formatBytes(c.after?.liveBytes ?? 0)}`,
      signedBytes(c.deltaLiveBytes),
      `${formatBytes(c.before?.reservedBytes ?? 0)} -> ${formatBytes(c.after?.reservedBytes ?? 0)}`,
      signedBytes(c.deltaReservedBytes),
    ]);
    out.push("Allocators", table(["name", "live", "change", "reserved", "change"], rows));
  }
  return out.join("\n") + "\n";
}
