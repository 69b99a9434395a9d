import { decodeAllocLog, AllocLogKind, type AllocLog } from "@memkit/memory-globals";
import { GcObserver } from "../gc-observer.js";
import { runSubject, type SubjectRun } from "../runner.js";
import { SUBJECTS } from "../subjects/registry.js";
import { SubjectUnavailableError, type SubjectFactory } from "../subjects/subject.js";
import { TraceKind, type TraceEvents } from "./format.js";
import { maxAlignOf, traceOps } from "./replay.js";

/*
 * Replays memkit's allocation log (memory-globals' alloc-log.ts, recorded with
 * memory.startRecording()) against allocators side by side, through the same
 * trace loop and measuring pass as the recorded-program workloads: the log's
 * events become the trace format's events (ids mean the same), then each
 * subject replays them. A user's allocator joins through a SubjectFactory
 * (tools/bench's adapter interface: create() returns a Subject with
 * alloc/allocAligned/free/realloc/write/read/footprint).
 */

/** The allocators a replay compares by default (bench subject ids). */
export const REPLAY_SUBJECTS: readonly string[] = ["memkit-generic", "memkit-heap", "memkit-slot", "as-tlsf"];

/** An allocator to replay against: a registered subject id, or a user's adapter. */
export interface ReplayTarget {
  id: string;
  label: string;
  load: () => Promise<SubjectFactory>;
  /** Largest block and alignment it serves (a log asking more is skipped with a note). */
  serves?: { maxSize?: number; maxAlign?: number };
}

/** One allocator's figures on the log. */
export interface ReplayRow {
  id: string;
  label: string;
  /** The run, or why there is none ("not built yet: ...", "serves blocks up to 1024 B; the log asks 4096 B"). */
  run?: SubjectRun;
  skipped?: string;
}

/** The log's events in the trace format (alignments above 8 become ALIGNED events). */
export function allocLogEvents(log: AllocLog): TraceEvents {
  const n = log.count;
  const kinds = new Uint8Array(n);
  const sizes = new Int32Array(n);
  const alignLog2 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = log.kinds[i];
    if (k === AllocLogKind.FREE) kinds[i] = TraceKind.FREE;
    else if (k === AllocLogKind.REALLOC) kinds[i] = TraceKind.REALLOC;
    else if (log.alignLog2[i]! > 3) {
      kinds[i] = TraceKind.ALIGNED;
      alignLog2[i] = log.alignLog2[i]!;
    } else kinds[i] = TraceKind.ALLOC;
    sizes[i] = log.sizes[i]!;
  }
  return { count: n, kinds, ids: log.ids.slice(), sizes, alignLog2, idCount: log.idCount };
}

/** The registered subjects with these ids, as replay targets. */
export function registeredTargets(ids: readonly string[] = REPLAY_SUBJECTS): ReplayTarget[] {
  return ids.map((id) => {
    const entry = SUBJECTS.find((s) => s.id === id);
    if (entry === undefined) throw new RangeError(`no bench subject ${JSON.stringify(id)} (known: ${SUBJECTS.map((s) => s.id).join(", ")})`);
    return { id, label: entry.label, load: entry.load, ...(entry.serves === undefined ? {} : { serves: entry.serves }) };
  });
}

/** Replays the log bytes against each target in turn: `runs` timed runs each (median ns/op), then the measuring pass (peak footprint). */
export async function replayAllocLog(bytes: Uint8Array, targets: readonly ReplayTarget[] = registeredTargets(), runs = 5): Promise<{ log: AllocLog; rows: ReplayRow[] }> {
  const log = decodeAllocLog(bytes);
  const ops = traceOps(allocLogEvents(log));
  const workload = { id: "T1" as const, seed: 0, title: `${log.header.label}: ${log.count} events`, ops };
  let maxSize = 0;
  for (let i = 0; i < ops.count; i++) maxSize = Math.max(maxSize, Math.abs(ops.sizes[i]!));
  const maxAlign = maxAlignOf(ops);
  const gc = new GcObserver();
  const rows: ReplayRow[] = [];
  try {
    for (const t of targets) {
      if (t.serves?.maxSize !== undefined && maxSize > t.serves.maxSize) {
        rows.push({ id: t.id, label: t.label, skipped: `serves blocks up to ${t.serves.maxSize} B; the log asks ${maxSize} B` });
        continue;
      }
      if (t.serves?.maxAlign !== undefined && maxAlign > t.serves.maxAlign) {
        rows.push({ id: t.id, label: t.label, skipped: `serves alignments up to ${t.serves.maxAlign}; the log asks ${maxAlign}` });
        continue;
      }
      let factory: SubjectFactory;
      try {
        factory = await t.load();
      } catch (err) {
        if (!(err instanceof SubjectUnavailableError)) throw err;
        rows.push({ id: t.id, label: t.label, skipped: err.message });
        continue;
      }
      const run = await runSubject(factory, workload, undefined, { warmup: { runs: 1, minOps: 50_000, maxMs: 300 }, runs }, gc);
      factory.dispose?.();
      rows.push({ id: t.id, label: t.label, run });
    }
  } finally {
    gc.disconnect();
  }
  return { log, rows };
}
