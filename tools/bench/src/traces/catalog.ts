import { readFileSync } from "node:fs";
import { formatCount } from "@memkit/core";
import { readTrace } from "./reader.js";
import { traceOps } from "./replay.js";
import type { Trace } from "./format.js";
import type { Workload } from "../workloads.js";

/** The recorded-program workloads. */
export type TraceId = "T1" | "T2";

export const TRACE_IDS: readonly TraceId[] = ["T1", "T2"];

/** The committed traces (tools/bench/traces/, made by `npm run traces:record`). */
export const TRACE_FILES: Readonly<Record<TraceId, string>> = { T1: "sqlite.trace.gz", T2: "gxx.trace.gz" };

/** Events a --quick run replays of each trace (a prefix). */
export const QUICK_TRACE_EVENTS = 20_000;

/** tools/bench/traces/, from src/traces or dist/traces alike. */
export const TRACES_DIR = new URL("../../traces/", import.meta.url);

const cache = new Map<TraceId, Trace>();

/** Reads and decodes a committed trace (once per process). */
export function loadTrace(id: TraceId): Trace {
  let trace = cache.get(id);
  if (!trace) {
    trace = readTrace(readFileSync(new URL(TRACE_FILES[id], TRACES_DIR)));
    cache.set(id, trace);
  }
  return trace;
}

/** A trace as a bench workload: all its events, or a prefix of `QUICK_TRACE_EVENTS` for --quick. */
export function traceWorkload(id: TraceId, quick: boolean): Workload {
  const { header, events } = loadTrace(id);
  const ops = traceOps(events, quick ? QUICK_TRACE_EVENTS : events.count);
  const prefix = ops.count < events.count ? ` (first ${formatCount(ops.count)})` : "";
  return { id, seed: 0, title: `${header.program}: ${formatCount(events.count)} recorded events${prefix}`, ops };
}
