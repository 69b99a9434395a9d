// The threads bench (issue #14, "Speed"): `npm run bench:threads` in tools/bench.
//   1. scaling: workloads A and B, each worker its own seeded live set, run by
//      1 and by 2 workers at once through three subjects (thread-subjects.ts);
//      ns/op per worker and the throughput of 2 workers over 1 (target >= 1.7x)
//   2. cross-thread free: a free of another thread's block against a local
//      free, and the owner's collection per block (cross-free.ts)
//   3. single thread, shared memory against private, one process per subject
//      and workload (single-thread.ts; target shared <= 1.15x private)
// Measurements alternate (round 1 of everything, round 2, ...), so load from
// elsewhere on a shared machine lands on every subject alike; each table shows
// the median over rounds and the range (min..max) of the per-round figures.
//   node --expose-gc dist/threads/threads-bench.js [--rounds N] [--runs N] [--only A,B]
//     [--subjects heaps,scopes,locked] [--skip scaling,cross,single] [--quick] [--json FILE]
import { Worker } from "node:worker_threads";
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { MemoryGlobals } from "@memkit/memory-globals";
import { median } from "../runner.js";
import { formatNs, formatRatio, formatTable, type Row } from "../table.js";
import { DEFAULT_SEED } from "../workloads.js";
import type { CrossFreeResult } from "./cross-free.js";
import { createRig } from "./rig.js";
import type { ScalingJob, ScalingResult } from "./scaling-worker.js";
import { SINGLE_SUBJECTS, THREAD_SUBJECTS, THREAD_SUBJECT_TITLES, type SingleResult, type SingleSubjectId, type ThreadSubjectId } from "./thread-subjects.js";

type WorkloadAB = "A" | "B";
type Part = "scaling" | "cross" | "single";

interface Options {
  rounds: number;
  runs: number;
  workloads: WorkloadAB[];
  subjects: ThreadSubjectId[];
  skip: Part[];
  quick: boolean;
  json: string | undefined;
}

function parse(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : argv[i + 1];
  };
  const int = (name: string, fallback: number): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} needs a positive integer, received ${v}`);
    return n;
  };
  const list = <T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] => {
    const v = value(name);
    if (v === undefined) return [...fallback];
    const items = v.split(",") as T[];
    for (const item of items) if (!allowed.includes(item)) throw new Error(`${name}: ${item} is not one of ${allowed.join(", ")}`);
    return items;
  };
  const quick = argv.includes("--quick");
  return {
    rounds: int("--rounds", quick ? 1 : 3),
    runs: int("--runs", quick ? 1 : 5),
    workloads: list<WorkloadAB>("--only", ["A", "B"], ["A", "B"]),
    subjects: list<ThreadSubjectId>("--subjects", THREAD_SUBJECTS, THREAD_SUBJECTS),
    skip: list<Part>("--skip", ["scaling", "cross", "single"], []),
    quick,
    json: value("--json"),
  };
}

const WORKER_URL = new URL("./scaling-worker.js", import.meta.url);

/** A worker's seed: each worker replays a live set of its own. */
const seedOf = (index: number): number => (DEFAULT_SEED + Math.imul(index, 0x1000193)) >>> 0;

/** Runs `jobs` as workers at once and returns their results in order. */
async function runWorkers<T>(jobs: ScalingJob[]): Promise<T[]> {
  const workers = jobs.map((job) => new Worker(WORKER_URL, { workerData: job }));
  try {
    return await Promise.all(
      workers.map(
        (w) =>
          new Promise<T>((resolve, reject) => {
            w.once("message", resolve);
            w.once("error", reject);
            w.once("exit", (code) => reject(new Error(`a bench worker exited with code ${code} before reporting`)));
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The shared memory a measurement runs on, and how to end it once its workers are done. */
function makeShare(subject: ThreadSubjectId): { share: ScalingJob["share"]; end: () => void } {
  if (subject === "private") return { share: undefined, end: () => undefined };
  if (subject === "scopes") {
    const memory = MemoryGlobals.init({ shared: true, initialBytes: 64 << 20, maximumBytes: 1 << 30 });
    return {
      share: memory.share(),
      end: () => {
        memory.check();
        memory.shutdown();
      },
    };
  }
  const rig = createRig(subject === "locked" ? "locked" : "heaps");
  return {
    share: rig.share,
    end: () => {
      rig.generic?.check();
      rig.pages.check();
    },
  };
}

function baseJob(mode: ScalingJob["mode"], subject: ThreadSubjectId, workload: WorkloadAB, threads: number, o: Options): Omit<ScalingJob, "index" | "seed" | "share" | "sync"> {
  return { mode, subject, threads, workload, quick: o.quick, runs: o.runs, blocks: o.quick ? 1000 : 10_000, reps: o.quick ? 3 : 25, exchange: new SharedArrayBuffer(4 * (o.quick ? 1000 : 10_000)) };
}

/** One scaling measurement: per-worker ns/op (median of its runs, mean over workers) and throughput in ops/us (median over runs of all ops / wall time). */
interface ScalingPoint {
  nsPerOp: number;
  opsPerUs: number;
  gcEvents: number;
  verifyErrors: number;
}

async function measureScaling(subject: ThreadSubjectId, workload: WorkloadAB, threads: number, o: Options): Promise<ScalingPoint> {
  const { share, end } = makeShare(subject);
  const sync = new SharedArrayBuffer(4);
  const jobs = Array.from({ length: threads }, (_, index): ScalingJob => ({ ...baseJob("scaling", subject, workload, threads, o), index, seed: seedOf(index), share, sync }));
  const results = await runWorkers<ScalingResult>(jobs);
  end();
  const perRun: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const start = Math.min(...results.map((x) => x.windows[r]![0]));
    const stop = Math.max(...results.map((x) => x.windows[r]![1]));
    const ops = results.reduce((sum, x) => sum + x.ops, 0);
    perRun.push(ops / ((stop - start) * 1000));
  }
  return {
    nsPerOp: results.reduce((sum, x) => sum + median(x.runsNsPerOp), 0) / threads,
    opsPerUs: median(perRun),
    gcEvents: results.reduce((sum, x) => sum + x.gcEvents, 0),
    verifyErrors: results.reduce((sum, x) => sum + x.verifyErrors, 0),
  };
}

interface CrossPoint {
  localNs: number;
  remoteNs: number;
  collectNs: number;
  shortCollects: number;
  gcEvents: number;
}

async function measureCross(subject: ThreadSubjectId, workload: WorkloadAB, o: Options): Promise<CrossPoint> {
  const { share, end } = makeShare(subject);
  const sync = new SharedArrayBuffer(4);
  const base = baseJob("cross-free", subject, workload, 2, o);
  const jobs = [0, 1].map((index): ScalingJob => ({ ...base, index, seed: seedOf(0), share, sync }));
  const [owner, other] = await runWorkers<CrossFreeResult>(jobs);
  end();
  return { localNs: owner!.localNs, remoteNs: other!.remoteNs, collectNs: owner!.collectNs, shortCollects: owner!.shortCollects, gcEvents: owner!.gcEvents + other!.gcEvents };
}

/** Runs single-thread.ts for one subject in a child process. */
function runSingle(id: SingleSubjectId, workloads: readonly WorkloadAB[], o: Options): Promise<Record<string, SingleResult>> {
  const script = fileURLToPath(new URL("./single-thread.js", import.meta.url));
  const args = ["--expose-gc", script, "--subject", id, "--only", workloads.join(","), "--runs", String(o.runs), ...(o.quick ? ["--quick"] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`single-thread.js --subject ${id} exited with code ${code}`));
      const last = out.trim().split("\n").pop()!;
      resolve((JSON.parse(last) as { results: Record<string, SingleResult> }).results);
    });
  });
}

/** "median (min..max)" of per-round values. */
function spread(values: readonly number[], format: (v: number) => string): string {
  if (values.length === 1) return format(values[0]!);
  return `${format(median(values))} (${format(Math.min(...values))}..${format(Math.max(...values))})`;
}

const o = parse(process.argv.slice(2));
const startLoad = loadavg();
console.log(
  `threads bench: ${cpus().length} cores, load average ${startLoad.map((l) => l.toFixed(1)).join(" ")}; ${o.rounds} round(s), ${o.runs} timed run(s) per measurement${o.quick ? " (--quick: numbers are not meaningful)" : ""}`,
);

const scaling = new Map<string, { one: ScalingPoint; two: ScalingPoint }[]>();
const cross = new Map<string, CrossPoint[]>();
const single = new Map<string, SingleResult[]>();
for (let round = 1; round <= o.rounds; round++) {
  console.log(`round ${round}/${o.rounds} (load average ${loadavg()[0]!.toFixed(1)})`);
  if (!o.skip.includes("scaling")) {
    for (const w of o.workloads) {
      for (const s of o.subjects) {
        const one = await measureScaling(s, w, 1, o);
        const two = await measureScaling(s, w, 2, o);
        const key = `${s}/${w}`;
        scaling.set(key, [...(scaling.get(key) ?? []), { one, two }]);
      }
    }
  }
  if (!o.skip.includes("cross")) {
    for (const w of o.workloads) {
      for (const s of o.subjects.filter((x) => x === "heaps" || x === "scopes")) {
        const key = `${s}/${w}`;
        cross.set(key, [...(cross.get(key) ?? []), await measureCross(s, w, o)]);
      }
    }
  }
  if (!o.skip.includes("single")) {
    // One process per subject and workload: a second MemoryGlobals memory in one process runs the
    // shared paths slower than the first (docs/perf-log.md, "Lanes"), and an engine makes one.
    for (const id of SINGLE_SUBJECTS) {
      for (const w of o.workloads) {
        const results = await runSingle(id, [w], o);
        const key = `${id}/${w}`;
        single.set(key, [...(single.get(key) ?? []), results[w]!]);
      }
    }
  }
}

const report: Record<string, unknown> = { cores: cpus().length, loadStart: startLoad, loadEnd: loadavg(), options: o };

if (scaling.size > 0) {
  const rows: Row[] = [];
  const json: Record<string, unknown> = {};
  for (const w of o.workloads) {
    for (const s of o.subjects) {
      const points = scaling.get(`${s}/${w}`)!;
      const ratios = points.map((p) => p.two.opsPerUs / p.one.opsPerUs);
      // The same round's control ratio: what the machine gave two threads with nothing shared.
      const control = scaling.get(`private/${w}`);
      const vsControl = control === undefined || s === "private" ? undefined : ratios.map((r, k) => r / (control[k]!.two.opsPerUs / control[k]!.one.opsPerUs));
      const gc = points.reduce((sum, p) => sum + p.one.gcEvents + p.two.gcEvents, 0);
      const verify = points.reduce((sum, p) => sum + p.one.verifyErrors + p.two.verifyErrors, 0);
      const target = s === "locked" ? "baseline" : s === "private" ? "control" : median(ratios) >= 1.7 ? "PASS" : "MISS";
      rows.push([
        w,
        s,
        spread(
          points.map((p) => p.one.nsPerOp),
          formatNs,
        ),
        spread(
          points.map((p) => p.two.nsPerOp),
          formatNs,
        ),
        spread(ratios, formatRatio),
        vsControl === undefined ? "-" : spread(vsControl, formatRatio),
        target,
        String(gc),
        String(verify),
      ]);
      json[`${s}/${w}`] = points;
    }
  }
  console.log(`\n1. Scaling: ns/op per worker with 1 and 2 workers, and 2-worker throughput / 1-worker (all ops / wall time); target >= 1.7`);
  console.log(
    formatTable(["wl", "subject", "1 worker ns/op", "2 workers ns/op", "2w/1w throughput", "/ control's", "target", "GC", "bad blocks"], rows, ["l", "l", "r", "r", "r", "r", "l", "r", "r"]),
  );
  console.log("  / control's: the ratio over the private control's ratio in the same round (1.00: sharing costs no scaling; the machine may give less than 2 cores)");
  for (const s of o.subjects) console.log(`  ${s}: ${THREAD_SUBJECT_TITLES[s]}`);
  report.scaling = json;
}

if (cross.size > 0) {
  const rows: Row[] = [];
  for (const [key, points] of cross) {
    const [s, w] = key.split("/");
    rows.push([
      w!,
      s!,
      spread(
        points.map((p) => p.localNs),
        formatNs,
      ),
      spread(
        points.map((p) => p.remoteNs),
        formatNs,
      ),
      spread(
        points.map((p) => p.remoteNs / p.localNs),
        formatRatio,
      ),
      spread(
        points.map((p) => p.collectNs),
        formatNs,
      ),
      String(points.reduce((sum, p) => sum + p.shortCollects, 0)),
      String(points.reduce((sum, p) => sum + p.gcEvents, 0)),
    ]);
  }
  console.log(`\n2. Cross-thread free: ns per free of the owner's own block (local), of another thread's block (remote: pushed to its owner's list), and per block the owner collects`);
  console.log(formatTable(["wl", "subject", "local free", "remote free", "remote/local", "collect/block", "short collects", "GC"], rows, ["l", "l", "r", "r", "r", "r", "r", "r"]));
  report.cross = Object.fromEntries(cross);
}

if (single.size > 0) {
  const rows: Row[] = [];
  for (const w of o.workloads) {
    for (const kind of ["generic", "default"]) {
      const priv = single.get(`${kind}-private/${w}`)!;
      const shared = single.get(`${kind}-shared/${w}`)!;
      const ratios = priv.map((p, i) => shared[i]!.nsPerOp / p.nsPerOp);
      const gc = [...priv, ...shared].reduce((sum, r) => sum + r.gcEvents, 0);
      rows.push([
        w,
        kind === "generic" ? "GenericAllocator" : "memory.default",
        spread(
          priv.map((p) => p.nsPerOp),
          formatNs,
        ),
        spread(
          shared.map((p) => p.nsPerOp),
          formatNs,
        ),
        spread(ratios, formatRatio),
        median(ratios) <= 1.15 ? "PASS" : "MISS",
        String(gc),
      ]);
    }
  }
  console.log(`\n3. Single thread, one process per subject and workload: ns/op on a private memory and on a shared one; target shared/private <= 1.15`);
  console.log(formatTable(["wl", "allocator", "private ns/op", "shared ns/op", "shared/private", "target", "GC"], rows, ["l", "l", "r", "r", "r", "l", "r"]));
  report.single = Object.fromEntries(single);
}

console.log(`\nmedian (min..max) over ${o.rounds} round(s); load average at the end ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
if (o.json !== undefined) await writeFile(o.json, JSON.stringify(report, null, 2));
