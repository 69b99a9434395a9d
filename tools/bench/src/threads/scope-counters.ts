// Scope counters shared by threads: which layout to build (docs/threads.md,
// "Scopes across threads"). Runs every strategy with 1 and 2 threads on one
// 3-level scope chain and prints ns per allocate/free pair per thread, the
// ratio to one thread, and the ratio to today's plain single-thread counters.
//   node dist/threads/scope-counters.js [--pairs N] [--rounds N]
import { Worker } from "node:worker_threads";
import { formatNs, formatRatio, formatTable } from "../table.js";
import { counterBytes, type CounterJob, type StrategyId } from "./scope-counters-strategies.js";

const STRATEGY_IDS: StrategyId[] = ["plain", "shard", "hybrid", "atomic"];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}

/** Runs `threads` workers of one strategy at once; returns the mean ns per pair per thread. */
async function run(strategy: StrategyId, threads: number, pairs: number): Promise<number> {
  const buffer = new SharedArrayBuffer(counterBytes(threads));
  const sync = new SharedArrayBuffer(8);
  const flags = new Int32Array(sync);
  const results: Promise<number>[] = [];
  const workers: Worker[] = [];
  for (let thread = 0; thread < threads; thread++) {
    const job: CounterJob = { strategy, buffer, sync, thread, pairs };
    const worker = new Worker(new URL("./scope-counters-worker.js", import.meta.url), { workerData: job });
    workers.push(worker);
    results.push(
      new Promise((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      }),
    );
  }
  while (Atomics.load(flags, 0) < threads) await new Promise((r) => setTimeout(r, 1));
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 1);
  const ns = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  return ns.reduce((a, b) => a + b, 0) / threads;
}

const pairs = arg("--pairs", 2_000_000);
const rounds = arg("--rounds", 3);
const best = new Map<string, number>();
for (let round = 0; round < rounds; round++) {
  for (const strategy of STRATEGY_IDS) {
    for (const threads of [1, 2]) {
      const key = `${strategy}/${threads}`;
      const ns = await run(strategy, threads, pairs);
      best.set(key, Math.min(best.get(key) ?? Infinity, ns));
    }
  }
}
const plainNs = best.get("plain/1")!;
const rows = STRATEGY_IDS.map((s) => {
  const one = best.get(`${s}/1`)!;
  const two = best.get(`${s}/2`)!;
  return [s, formatNs(one), formatNs(two), formatRatio(two / one), formatRatio(one / plainNs), formatRatio((2 * one) / two)];
});
console.log(`scope counters, 3 levels, ${pairs.toLocaleString("en-US")} pairs per thread, best of ${rounds} (ns per allocate+free pair per thread)`);
console.log(
  formatTable(["strategy", "1 thread", "2 threads", "2 vs 1 (per thread)", "1 thread vs plain", "2-thread throughput vs 1"], rows, ["l", "r", "r", "r", "r", "r"]),
);
console.log("plain is today's single-thread code and loses updates with 2 threads; shard keeps no exact peak across threads.");
