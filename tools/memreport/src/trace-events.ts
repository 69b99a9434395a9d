import { InvalidArgumentError } from "@memkit/core";
import type { MemoryReport, TimelineReport } from "./report-types.js";

/*
 * The timeline in the Chrome trace event format (the JSON Object Format of
 * "Trace Event Format", which Perfetto and Chrome DevTools' performance panel
 * load): counter events ("ph": "C") whose args are the series of one track,
 * complete events ("ph": "X") for stages, instant events ("ph": "i") for leak
 * suspects, and metadata ("ph": "M") naming the process and threads.
 * Timestamps are microseconds of the sampling process's `performance.now()`
 * clock (timeline.timeMs).
 */

/** One event of the trace (the fields this export writes). */
export interface TraceEvent {
  name: string;
  ph: "C" | "X" | "i" | "M";
  /** Microseconds. */
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  dur?: number;
  s?: "g" | "p" | "t";
  args: Record<string, number | string>;
}

/** The whole file. */
export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: "ms";
  otherData: Record<string, string>;
}

const PID = 1;
const TID_MEMORY = 1;
const TID_STAGES = 2;

/** Counter tracks the export writes, by name. */
export const TRACE_COUNTERS = {
  liveBytes: "memkit live bytes by scope",
  allocs: "memkit allocations per frame by scope",
  allocators: "memkit allocators (bytes)",
} as const;

/** The report's timeline as a trace file. InvalidArgumentError when the report has none. */
export function timelineTraceEvents(report: MemoryReport): TraceFile {
  const t = report.timeline;
  if (t === undefined) {
    throw new InvalidArgumentError(
      `the report "${report.label}" has no timeline: take it from a memory made with MemoryGlobals.init({ timeline: true }).`,
    );
  }
  const ts = (i: number): number => Math.round(t.timeMs[i]! * 1000);
  const events: TraceEvent[] = [
    { name: "process_name", ph: "M", ts: 0, pid: PID, tid: 0, args: { name: `memkit: ${report.label}` } },
    { name: "thread_name", ph: "M", ts: 0, pid: PID, tid: TID_MEMORY, args: { name: "memory" } },
    { name: "thread_name", ph: "M", ts: 0, pid: PID, tid: TID_STAGES, args: { name: "stages" } },
  ];
  for (let i = 0; i < t.frames.length; i++) {
    events.push(counter(TRACE_COUNTERS.liveBytes, ts(i), perScope(t, i, "liveBytes")));
    events.push(counter(TRACE_COUNTERS.allocs, ts(i), perScope(t, i, "allocs")));
    const a = t.allocators;
    events.push(
      counter(TRACE_COUNTERS.allocators, ts(i), {
        "pages handed out": a.pagesBytes[i]!,
        "generic reserved": a.genericReservedBytes[i]!,
        "frame live": a.frameLiveBytes[i]!,
        "scratch peak": a.scratchPeakBytes[i]!,
      }),
    );
  }
  for (const stage of report.stages) {
    const from = t.frames.findIndex((f) => f >= stage.startFrame);
    let to = t.frames.findIndex((f) => f >= stage.endFrame);
    if (to < 0) to = t.frames.length - 1;
    if (from < 0 || t.frames[from]! > stage.endFrame) continue;
    events.push({ name: stage.name, cat: "stage", ph: "X", ts: ts(from), dur: Math.max(0, ts(to) - ts(from)), pid: PID, tid: TID_STAGES, args: { startFrame: stage.startFrame, endFrame: stage.endFrame } });
  }
  for (const s of t.leakSuspects) {
    const at = t.frames.indexOf(s.toFrame);
    events.push({
      name: `leak suspect: ${s.path}`,
      cat: "leak",
      ph: "i",
      s: "g",
      ts: ts(at < 0 ? t.frames.length - 1 : at),
      pid: PID,
      tid: TID_MEMORY,
      args: { path: s.path, fromFrame: s.fromFrame, toFrame: s.toFrame, fromBytes: s.fromBytes, toBytes: s.toBytes, bytesPerFrame: s.bytesPerFrame },
    });
  }
  return { traceEvents: events, displayTimeUnit: "ms", otherData: { producer: "memkit memreport", schema: report.schema, label: report.label } };
}

function counter(name: string, ts: number, args: Record<string, number>): TraceEvent {
  return { name, cat: "memory", ph: "C", ts, pid: PID, tid: TID_MEMORY, args };
}

function perScope(t: TimelineReport, i: number, field: "liveBytes" | "allocs"): Record<string, number> {
  const args: Record<string, number> = {};
  for (const s of t.scopes) args[s.path] = s[field][i]!;
  return args;
}
