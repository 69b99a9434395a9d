// One thread of the scope-counter bench (scope-counters.ts): runs `pairs`
// allocate/free counter updates on a 3-level scope chain in shared memory
// with one strategy, and reports its ns per pair.
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { STRATEGIES, type CounterJob } from "./scope-counters-strategies.js";

const job = workerData as CounterJob;
const run = STRATEGIES[job.strategy];
// Wait for every thread to be ready, so the timed loops overlap.
const sync = new Int32Array(job.sync);
Atomics.add(sync, 0, 1);
while (Atomics.load(sync, 1) === 0) Atomics.wait(sync, 1, 0, 1);
const start = performance.now();
run(job);
const ns = ((performance.now() - start) * 1e6) / job.pairs;
parentPort!.postMessage(ns);
