// memkit's allocator benchmark: `npm run bench` (see README.md).
import { cpus } from "node:os";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatBytes, formatCount } from "@memkit/core";
import { GcObserver, collectGarbage } from "./gc-observer.js";
import { FULL_WARMUP, SubjectBench } from "./runner.js";
import type { BenchClock, SubjectRun, WarmUpPlan } from "./runner.js";
import { PEER_IDS, PEER_SHORT, SUBJECTS } from "./subjects/registry.js";
import type { SubjectEntry } from "./subjects/registry.js";
import { SubjectUnavailableError } from "./subjects/subject.js";
import type { SubjectFactory } from "./subjects/subject.js";
import { formatNs, formatRatio, formatTable } from "./table.js";
import { runBothModes } from "./both-modes.js";
import { BENCH_MODES, enterMode } from "./modes.js";
import type { BenchMode } from "./modes.js";
import { TRACE_IDS, traceWorkload } from "./traces/catalog.js";
import type { TraceId } from "./traces/catalog.js";
import { maxAlignOf } from "./traces/replay.js";
import type { Row } from "./table.js";
import { REFERENCE_NS, evaluateTargets } from "./targets.js";
import type { TargetResult } from "./targets.js";
import { ALL_WORKLOAD_IDS, DEFAULT_SEED, FULL_PARAMS, QUICK_PARAMS, generateWorkload, liveProfile } from "./workloads.js";
import type { Workload, WorkloadId } from "./workloads.js";

/** What the command line chose. */
export interface BenchOptions {
  /** Workloads to run, in order. */
  workloads: WorkloadId[];
  /** Timed runs per subject and workload (the median is reported). */
  runs: number;
  /** Untimed warm-up runs before them. */
  warmups: number;
  /** Small workloads and one run: a smoke test, not a measurement. */
  quick: boolean;
  seed: number;
  /** Subject ids to run (default: all registered). */
  subjects: string[] | undefined;
  /** Where to write the JSON report. */
  json: string | undefined;
  /** Run in this mode in this process; undefined: run each mode in a child process and print both. */
  mode: BenchMode | undefined;
  /** Without --mode: how many times both modes run, alternating; the summary gives each ratio's median over them. */
  rounds: number;
  /** What a run's time is: wall time, or this process's CPU time (user + system; steadier on a loaded machine). */
  clock: BenchClock;
  /** A child of the both-modes run: print the workload tables only (the parent prints the targets and the notes). */
  part: boolean;
}

export const USAGE = `usage: node --expose-gc dist/main.js [options]
  --only A,C,T1     run only these workloads (A..E synthetic, T1 SQLite trace, T2 g++ trace)
  --runs N          timed runs per subject and workload, median reported (default 5)
  --warmup N        untimed warm-up runs first: at least N (default 1), more until 5,000,000 ops or 1.5 s
  --quick           small workloads, 1 run: a fast smoke run (numbers are not meaningful)
  --subjects a,b    run only these subjects (${SUBJECTS.map((s) => s.id).join(", ")})
  --seed N          workload seed (default 0x${DEFAULT_SEED.toString(16)})
  --json FILE       also write the results as JSON
  --clock C         wall (default) or cpu: time runs by this process's CPU time (user + system), which a
                    machine loaded by other jobs disturbs less (descheduled time is not counted)
  --mode M          run in this process in mode attached (no ArrayBuffer ever detached) or detached
                    (one detached first); without it, each mode and workload runs in a child process and both modes are printed
  --rounds N        without --mode: run both modes N times, alternating (attached, detached, attached, ...),
                    and judge the targets by each ratio's median over the rounds (default 1)
  --part            with --mode: print the workload tables only (how the both-modes run calls its children)
  --help            this text`;

/** Parses argv (without node and script); throws an Error with a usable message on bad input. Returns undefined for --help. */
export function parseArgs(argv: readonly string[]): BenchOptions | undefined {
  const o: BenchOptions = { workloads: [...ALL_WORKLOAD_IDS], runs: 5, warmups: 1, quick: false, seed: DEFAULT_SEED, subjects: undefined, json: undefined, mode: undefined, rounds: 1, clock: "wall", part: false };
  let runsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    switch (arg) {
      case "--help":
      case "-h":
        return undefined;
      case "--quick":
        o.quick = true;
        break;
      case "--only": {
        const ids = value().toUpperCase().split(",").map((s) => s.trim()).filter(Boolean);
        for (const id of ids) if (!ALL_WORKLOAD_IDS.includes(id as WorkloadId)) throw new Error(`--only: unknown workload "${id}" (expected some of ${ALL_WORKLOAD_IDS.join(",")})`);
        o.workloads = ALL_WORKLOAD_IDS.filter((w) => ids.includes(w));
        break;
      }
      case "--runs":
        o.runs = positiveInt(arg, value());
        runsGiven = true;
        break;
      case "--warmup":
        o.warmups = nonNegativeInt(arg, value());
        break;
      case "--seed":
        o.seed = nonNegativeInt(arg, value()) >>> 0;
        break;
      case "--subjects": {
        const ids = value().split(",").map((s) => s.trim()).filter(Boolean);
        for (const id of ids) if (!SUBJECTS.some((s) => s.id === id)) throw new Error(`--subjects: unknown subject "${id}" (known: ${SUBJECTS.map((s) => s.id).join(", ")})`);
        o.subjects = ids;
        break;
      }
      case "--json":
        o.json = value();
        break;
      case "--clock": {
        const c = value();
        if (c !== "wall" && c !== "cpu") throw new Error(`--clock: expected wall or cpu, received "${c}"`);
        o.clock = c;
        break;
      }
      case "--mode": {
        const m = value();
        if (!BENCH_MODES.includes(m as BenchMode)) throw new Error(`--mode: expected ${BENCH_MODES.join(" or ")}, received "${m}"`);
        o.mode = m as BenchMode;
        break;
      }
      case "--rounds":
        o.rounds = positiveInt(arg, value());
        break;
      case "--part":
        o.part = true;
        break;
      default:
        throw new Error(`unknown option "${arg}"\n${USAGE}`);
    }
  }
  if (o.part && o.mode === undefined) throw new Error("--part is for a child of the both-modes run: give it --mode");
  if (o.mode !== undefined && o.rounds > 1) throw new Error(`--rounds runs both modes in child processes: drop --mode ${o.mode}, or drop --rounds`);
  if (o.quick && !runsGiven) o.runs = 1;
  return o;
}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, received "${text}"`);
  return n;
}

function nonNegativeInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, received "${text}"`);
  return n;
}

/** One row of the results: a run, or why there is none. */
export type ResultRow =
  | ({ subject: string; label: string; kind: SubjectEntry["kind"]; workload: WorkloadId } & SubjectRun)
  | { subject: string; label: string; kind: SubjectEntry["kind"]; workload: WorkloadId; error: string }
  | { subject: string; label: string; kind: SubjectEntry["kind"]; workload: WorkloadId; skipped: string };

/** Everything a bench run produced (also the JSON report). */
export interface BenchReport {
  meta: {
    date: string;
    node: string;
    v8: string;
    cpu: string;
    cores: number;
    exposeGc: boolean;
    seed: number;
    runs: number;
    warmups: number;
    quick: boolean;
    /** The mode this process ran in ("attached" also for an in-process run without --mode). */
    mode: BenchMode;
    /** Whether a buffer was detached in this process before the run (true in detached mode). */
    bufferDetached: boolean;
    clock: BenchClock;
  };
  workloads: { id: WorkloadId; title: string; seed: number; ops: number }[];
  /** Subjects that could not be loaded, with the reason. */
  unavailable: Record<string, string>;
  results: ResultRow[];
  targets: TargetResult[];
}

/** Runs the benchmark and prints the tables through `print` (one call per block of lines). */
export async function runBench(options: BenchOptions, print: (text: string) => void = console.log): Promise<BenchReport> {
  // First, before any subject is loaded: the mode is a property of the whole process.
  const mode = options.mode ?? "attached";
  const bufferDetached = enterMode(mode);
  if (mode === "detached" && !bufferDetached) throw new Error("--mode detached: transferring a buffer did not detach it");
  const exposeGc = collectGarbage();
  const cpuList = cpus();
  const report: BenchReport = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      v8: process.versions.v8,
      cpu: cpuList[0]?.model.trim() ?? "unknown",
      cores: cpuList.length,
      exposeGc,
      seed: options.seed,
      runs: options.runs,
      warmups: options.warmups,
      quick: options.quick,
      mode,
      bufferDetached,
      clock: options.clock,
    },
    workloads: [],
    unavailable: {},
    results: [],
    targets: [],
  };
  const m = report.meta;
  if (!options.part) print(
    `memkit bench  ${m.date}\n` +
      `node ${m.node} (V8 ${m.v8}), ${m.cpu} x ${m.cores}, seed 0x${m.seed.toString(16)}, ` +
      `mode ${m.mode}${m.bufferDetached ? " (one ArrayBuffer detached: V8 checks every typed-array access)" : " (no ArrayBuffer detached)"}, ` +
      `${m.clock === "cpu" ? "CPU time, " : ""}median of ${m.runs} run${m.runs === 1 ? "" : "s"} after warm-up (>= ${m.warmups} run${m.warmups === 1 ? "" : "s"}${options.quick ? "" : `, up to ${formatCount(FULL_WARMUP.minOps)} ops or ${FULL_WARMUP.maxMs} ms`})` +
      (options.quick ? ", QUICK (smoke run: small workloads, numbers not meaningful)" : "") +
      (exposeGc ? "" : "\nwarning: run with node --expose-gc so runs start from a collected heap and the GC footprint is retained bytes"),
  );

  const { entries, factories, unavailable } = await loadSubjects(options.subjects);
  report.unavailable = unavailable;

  const gc = new GcObserver();
  try {
    for (const id of options.workloads) {
      const workload = loadWorkload(id, options.seed, options.quick);
      report.workloads.push({ id, title: workload.title, seed: workload.seed, ops: workload.ops.count });
      const rows = await runWorkload(workload, entries, factories, options, gc);
      report.results.push(...rows);
      print(`\n${id}  ${workload.title}\n${workloadTable(id, entries, rows, report.unavailable)}`);
    }
  } finally {
    gc.disconnect();
  }

  report.targets = reportTargets(report, entries);
  if (!options.part) print(targetsText(report) + "\n" + notes(entries, factories));
  if (options.json !== undefined) {
    await writeFile(options.json, JSON.stringify(report, null, 2) + "\n");
    if (!options.part) print(`\nJSON report written to ${options.json}`);
  }
  return report;
}

/** The selected subjects (all registered ones for undefined), their factories, and why any did not load. */
export async function loadSubjects(ids: readonly string[] | undefined): Promise<{
  entries: SubjectEntry[];
  factories: Map<string, SubjectFactory>;
  unavailable: Record<string, string>;
}> {
  const entries = SUBJECTS.filter((s) => ids === undefined || ids.includes(s.id));
  const factories = new Map<string, SubjectFactory>();
  const unavailable: Record<string, string> = {};
  for (const entry of entries) {
    try {
      factories.set(entry.id, await entry.load());
    } catch (error) {
      unavailable[entry.id] = error instanceof SubjectUnavailableError ? error.message : `failed to load: ${errorText(error)}`;
    }
  }
  return { entries, factories, unavailable };
}

/** The targets judged on a report's results (`entries`: the subjects it selected). */
export function reportTargets(report: BenchReport, entries: readonly SubjectEntry[]): TargetResult[] {
  const find = (subject: string, workload: WorkloadId): SubjectRun | undefined => {
    const row = report.results.find((r) => r.subject === subject && r.workload === workload);
    return row && "nsPerOp" in row ? row : undefined;
  };
  return evaluateTargets({
    run: find,
    missing: (subject) => {
      if (report.unavailable[subject] !== undefined) return report.unavailable[subject];
      if (!entries.some((e) => e.id === subject)) return "not selected (--subjects)";
      const failed = report.results.find((r): r is Extract<ResultRow, { error: string }> => r.subject === subject && "error" in r);
      return failed && `failed: ${failed.error}`;
    },
    memkitIds: entries.filter((e) => e.kind === "memkit").map((e) => e.id),
  });
}

/** A report's targets table. */
export function targetsText(report: BenchReport): string {
  return (
    `\nTargets, mode ${report.meta.mode} (memkit generic allocator, tracing off, vs AS TLSF in this run; a MISS is reported, never fails the build)\n` +
    formatTable(
      ["target", "bound", "status", "measured"],
      report.targets.map((t) => [t.what, t.target, t.status, t.measured]),
      ["l", "l", "l", "l"],
    )
  );
}

/** A synthetic workload generated from the seed, or a committed trace (the seed does not apply). */
export function loadWorkload(id: WorkloadId, seed: number, quick: boolean): Workload {
  if (TRACE_IDS.includes(id as TraceId)) return traceWorkload(id as TraceId, quick);
  return generateWorkload(id as Exclude<WorkloadId, TraceId>, seed, quick ? QUICK_PARAMS : FULL_PARAMS);
}

/** Why a subject cannot serve a workload (its largest block or alignment), or undefined when it can. */
export function outOfReach(entry: SubjectEntry, workload: Workload, cap: number | undefined): string | undefined {
  const serves = entry.serves;
  if (!serves) return undefined;
  const maxSize = liveProfile(workload.ops, cap === undefined ? workload.ops.count : Math.min(cap, workload.ops.count)).maxSize;
  if (serves.maxSize !== undefined && maxSize > serves.maxSize) return `n/a: blocks up to ${formatBytes(maxSize)}, serves <= ${formatBytes(serves.maxSize)}`;
  const align = maxAlignOf(workload.ops);
  if (serves.maxAlign !== undefined && align > serves.maxAlign) return `n/a: alignment up to ${align}, serves <= ${serves.maxAlign}`;
  return undefined;
}

/**
 * Runs every loaded subject that supports the workload: all warm-ups first,
 * then the timed runs interleaved (run r of every subject before run r + 1),
 * then each subject's measuring pass. A subject that throws gets an error row.
 */
async function runWorkload(
  workload: Workload,
  entries: readonly SubjectEntry[],
  factories: ReadonlyMap<string, SubjectFactory>,
  options: BenchOptions,
  gc: GcObserver,
): Promise<ResultRow[]> {
  const id = workload.id;
  const benches: { entry: SubjectEntry; bench: SubjectBench; error?: string }[] = [];
  const rows: ResultRow[] = [];
  for (const entry of entries) {
    const factory = factories.get(entry.id);
    if (!entry.workloads.includes(id) || !factory) continue;
    const skipped = outOfReach(entry, workload, entry.opCap?.[id]);
    if (skipped !== undefined) rows.push({ subject: entry.id, label: entry.label, kind: entry.kind, workload: id, skipped });
    else benches.push({ entry, bench: new SubjectBench(factory, workload, entry.opCap?.[id], gc, options.clock, true) });
  }
  const step = async (b: (typeof benches)[number], timed: boolean): Promise<void> => {
    if (b.error !== undefined) return;
    try {
      await b.bench.runOnce(timed);
    } catch (error) {
      b.error = errorText(error);
    }
  };
  const warmup: WarmUpPlan = { ...FULL_WARMUP, runs: options.warmups, minOps: options.quick ? 0 : FULL_WARMUP.minOps };
  for (const b of benches) {
    try {
      await b.bench.warmUp(warmup);
    } catch (error) {
      b.error = errorText(error);
    }
  }
  for (let r = 0; r < options.runs; r++) for (const b of benches) await step(b, true);
  for (const b of benches) {
    const base = { subject: b.entry.id, label: b.entry.label, kind: b.entry.kind, workload: id };
    if (b.error === undefined) {
      try {
        rows.push({ ...base, ...(await b.bench.finish()) });
        continue;
      } catch (error) {
        b.error = errorText(error);
      }
    }
    rows.push({ ...base, error: b.error });
  }
  gc.clear();
  return rows;
}

const HEADER = ["subject", "ops", "ns/op", ...PEER_IDS.map((p) => PEER_SHORT[p] ?? p), "issue ref", "peak footprint", "peak live", "fp/live", "GC events"];
const ALIGN = ["l", "r", "r", ...PEER_IDS.map(() => "r" as const), "r", "r", "r", "r", "r"] as const;

function workloadTable(id: WorkloadId, entries: readonly SubjectEntry[], rows: readonly ResultRow[], unavailable: Record<string, string>): string {
  const peerNs = new Map<string, number>();
  for (const r of rows) if ("nsPerOp" in r && PEER_IDS.includes(r.subject)) peerNs.set(r.subject, r.nsPerOp);
  const out: Row[] = [];
  for (const entry of entries) {
    if (!entry.workloads.includes(id)) continue;
    const reason = unavailable[entry.id];
    if (reason !== undefined) {
      out.push({ label: entry.label, note: reason });
      continue;
    }
    const r = rows.find((x) => x.subject === entry.id);
    if (!r) continue;
    if ("error" in r) {
      out.push({ label: entry.label, note: `failed: ${r.error}` });
      continue;
    }
    if ("skipped" in r) {
      out.push({ label: entry.label, note: r.skipped });
      continue;
    }
    const ref = REFERENCE_NS[entry.id]?.[id] ?? "";
    const hasFootprint = entry.kind !== "baseline";
    out.push([
      entry.label + (r.verifyErrors > 0 ? `  !! ${r.verifyErrors} blocks lost their bytes` : ""),
      formatCount(r.ops) + (r.capped ? " (cap)" : ""),
      formatNs(r.nsPerOp),
      ...PEER_IDS.map((p) => (p === entry.id ? "1" : formatRatio(ratio(r.nsPerOp, peerNs.get(p))))),
      ref,
      hasFootprint ? formatBytes(r.peakFootprint) : "-",
      formatBytes(r.peakLiveBytes),
      hasFootprint ? formatRatio(r.peakFootprint / r.peakLiveBytes) : "-",
      r.gc.count === 0 ? "0" : `${r.gc.count} (${r.gc.minor}/${r.gc.major}/${r.gc.other})`,
    ]);
  }
  return formatTable(HEADER, out, ALIGN);
}

function ratio(a: number, b: number | undefined): number | undefined {
  return b === undefined || b === 0 ? undefined : a / b;
}

/** The notes under the tables: what the columns mean, caps, how each subject's footprint is measured. */
export function notes(entries: readonly SubjectEntry[], factories: ReadonlyMap<string, SubjectFactory>): string {
  const lines = [
    "",
    "Notes",
    "  ns/op: median wall time of the timed runs / ops replayed; every allocation writes its first and last byte.",
    "  xAS, xthi.ng, xGC: this row's ns/op divided by that peer's in the same run (< 1 = faster than the peer).",
    "  issue ref: the issue's ns/op on a comparable 2-core machine, for orientation only.",
    "  peak live: highest sum of requested sizes live at once; fp/live = peak footprint / peak live.",
    "  GC events: PerformanceObserver('gc') entries during the timed runs, total (scavenge/mark-compact/other).",
  ];
  const caps = entries.filter((e) => e.opCap && factories.has(e.id));
  for (const e of caps) {
    lines.push(`  ${e.label}: O(n) per op, so only the first ${Object.entries(e.opCap ?? {}).map(([w, n]) => `${w} ${formatCount(n)}`).join(", ")} ops run (cap), scaled to ns/op.`);
  }
  const seen = new Set<string>();
  for (const e of entries) {
    const f = factories.get(e.id);
    if (!f || e.kind === "baseline" || seen.has(f.footprintNote)) continue;
    seen.add(f.footprintNote);
    lines.push(`  footprint, ${f.footprintNote}.`);
  }
  return lines.join("\n");
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split("\n")[0]}`;
  return String(error);
}

async function cli(): Promise<void> {
  let options: BenchOptions | undefined;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(errorText(error));
    process.exitCode = 2;
    return;
  }
  if (!options) {
    console.log(USAGE);
    return;
  }
  if (options.mode === undefined) {
    process.exitCode = await runBothModes(process.argv.slice(2));
    return;
  }
  await runBench(options);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
