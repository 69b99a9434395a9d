import { AddressSpace, SharedLock, ThreadTable } from "@memkit/core";
import { GenericAllocator, createRemoteRoutes } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { startWorkers } from "@memkit/test-workers";
import { describe, expect, it } from "vitest";
import { TraceAllocator } from "../src/index.js";
import {
  CTRL,
  C_DONE,
  C_LIVE,
  C_ROUTES,
  C_TREE,
  INITIAL_BYTES,
  LOCK,
  LOCK_CAPACITY,
  MAX_BYTES,
  PAGES_CONTROL,
  SCOPES,
  TABLE,
  W_ALLOCS,
  W_BAD,
  W_DOUBLE,
  W_FREED,
  W_FREES,
  W_GEN,
  W_OOM,
  W_OPS,
  W_OVER,
  W_SLOT,
  workerWord,
  type ScopesJob,
} from "./workers/layout.js";

// Scopes of one tree shared by real worker threads (README "Threads"): every worker has its own
// generic allocator (routed to its peers'), its own handle on the tree lock, and attaches to the
// tree the main thread created with sharedBacking.

const WORKER = new URL("./workers/scopes-worker.ts", import.meta.url);
const ctrl = CTRL >>> 2;

interface Rig {
  space: AddressSpace;
  table: ThreadTable;
  root: TraceAllocator;
  lock: SharedLock;
}

function rig(budget?: number): Rig {
  const space = AddressSpace.create({ initialBytes: INITIAL_BYTES, maximumBytes: MAX_BYTES, shared: true });
  const table = ThreadTable.create(space, TABLE);
  const seat = table.claim("main");
  const pages = new PageAllocator(space, { controlPtr: PAGES_CONTROL, thread: seat });
  const routes = createRemoteRoutes(pages);
  const generic = new GenericAllocator(pages, { name: "generic@main", routes });
  const lock = new SharedLock(space, LOCK, LOCK_CAPACITY, { thread: seat, name: "tree" });
  // A small first records table, so the workers grow it (from their own backings) while they run.
  const root = new TraceAllocator(generic, { lock, sharedBacking: true, initialCapacity: 16 });
  root.child("physics").child("broadphase");
  root.child("ai", budget === undefined ? {} : { budget });
  space.u32[ctrl + C_TREE] = root.controlPtr;
  space.u32[ctrl + C_ROUTES] = routes;
  return { space, table, root, lock };
}

function jobs(r: Rig, mode: ScopesJob["mode"], workers: number, ops: number, extra: Partial<ScopesJob> = {}): ScopesJob[] {
  return Array.from({ length: workers }, (_, worker) => ({ memory: r.space.memory, mode, worker, workers, ops, seed: 1000 + worker * 77, ...extra }));
}

const field = (r: Rig, w: number, f: number): number => Atomics.load(r.space.u32, workerWord(w, f));

/** Each scope's live bytes and blocks are what the workers said they still hold; returns the total bytes. */
function expectHeldTotals(r: Rig): number {
  let total = 0;
  SCOPES.forEach((path, s) => {
    const stats = r.root.openScope(path).stats();
    expect({ path, bytes: stats.liveBytes, count: stats.liveCount }).toEqual({ path, bytes: r.space.u32[ctrl + C_LIVE + s * 2], count: r.space.u32[ctrl + C_LIVE + s * 2 + 1] });
    total += stats.liveBytes;
  });
  return total;
}

describe("scopes shared by worker threads", () => {
  it("3 workers x 60k mixed ops, 30% of frees on another thread: patterns hold, check() passes, live totals and per-thread figures are exact", async () => {
    const r = rig();
    const workers = 3;
    const run = await startWorkers(WORKER, jobs(r, "stress", workers, 60_000));
    await run.exited;
    for (let w = 0; w < workers; w++) {
      expect(field(r, w, W_BAD)).toBe(0);
      expect(field(r, w, W_OPS)).toBe(60_000);
    }
    r.root.check();
    const total = expectHeldTotals(r);
    expect(total).toBeGreaterThan(0);
    expect(r.root.report().totalLiveBytes).toBe(total);
    // Each thread counts the allocations it made and the frees it made; summed, the live bytes are the tree's.
    let threadLive = 0;
    for (let w = 0; w < workers; w++) {
      const figures = r.table.figuresOf(field(r, w, W_SLOT));
      expect(figures.allocCount).toBe(field(r, w, W_ALLOCS));
      expect(figures.freeCount).toBe(field(r, w, W_FREES));
      threadLive += figures.liveBytes;
    }
    expect(threadLive).toBe(total);
  }, 120_000);

  it("the main thread reads (report, stats, check, forEachLiveBlock) while 2 workers work in their lanes: no error, exact totals after", async () => {
    const r = rig();
    const workers = 2;
    const run = await startWorkers(WORKER, jobs(r, "stress", workers, 60_000));
    let done = false;
    void run.exited.finally(() => (done = true));
    let reads = 0;
    const scopes = SCOPES.map((path) => r.root.openScope(path));
    while (!done) {
      // Each read folds the lanes in; check() and the walk also adopt lane blocks the workers may be freeing.
      expect(r.root.report().totalLiveBytes).toBeGreaterThanOrEqual(0);
      for (const scope of scopes) expect(scope.stats().liveCount).toBeGreaterThanOrEqual(0);
      if (reads % 4 === 0) r.root.check();
      if (reads % 8 === 0) r.root.forEachLiveBlock(() => {});
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await run.exited;
    expect(reads).toBeGreaterThan(3);
    for (let w = 0; w < workers; w++) expect([field(r, w, W_BAD), field(r, w, W_OPS)]).toEqual([0, 60_000]);
    r.root.check();
    const total = expectHeldTotals(r);
    expect(r.root.report().totalLiveBytes).toBe(total);
  }, 120_000);

  it("a budget is exact across threads: two workers never see their scope past it, and every refusal is an OutOfMemoryError", async () => {
    const budget = 64 * 1024;
    const r = rig(budget);
    const run = await startWorkers(WORKER, jobs(r, "budget", 2, 20_000, { size: 1000 }));
    await run.exited;
    for (let w = 0; w < 2; w++) {
      expect(field(r, w, W_BAD)).toBe(0);
      expect(field(r, w, W_OVER)).toBe(0);
      expect(field(r, w, W_OOM)).toBeGreaterThan(0);
    }
    const ai = r.root.openScope("ai").stats();
    expect(ai.liveCount).toBe(0);
    expect(ai.peakLiveBytes).toBeLessThanOrEqual(budget);
    expect(ai.peakLiveBytes).toBeGreaterThan(budget - 1000);
    r.root.check();
  }, 120_000);

  it("one block freed by two threads at once is one free and one DoubleFreeError, every round", async () => {
    const r = rig();
    const rounds = 2000;
    const run = await startWorkers(WORKER, jobs(r, "double", 2, rounds));
    await run.exited;
    expect(field(r, 0, W_BAD) + field(r, 1, W_BAD)).toBe(0);
    expect(field(r, 0, W_FREED) + field(r, 1, W_FREED)).toBe(rounds);
    expect(field(r, 0, W_DOUBLE) + field(r, 1, W_DOUBLE)).toBe(rounds);
    expect(r.root.openScope("physics").stats().liveCount).toBe(0);
    r.root.check();
  }, 120_000);

  it("a worker terminated at a random moment: the others go on, and after the repair check() passes", async () => {
    for (const [seed, at] of [
      [1, 3_000],
      [2, 11_000],
      [3, 23_000],
    ] as const) {
      const r = rig();
      const workers = 3;
      const run = await startWorkers(WORKER, jobs(r, "stress", workers, 30_000, { seed }));
      const victim = seed % workers;
      let failed: unknown;
      run.exited.catch((err: unknown) => (failed = err ?? "failed"));
      while (field(r, victim, W_OPS) < at && failed === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
      await run.workers[victim]!.terminate();
      r.table.declareDead(field(r, victim, W_SLOT), field(r, victim, W_GEN));
      // It will not send again: the others may finish.
      Atomics.add(r.space.u32, ctrl + C_DONE, 1);
      await run.exited;
      for (let w = 0; w < workers; w++) if (w !== victim) expect(field(r, w, W_OPS)).toBe(30_000);
      r.root.check();
      expect(r.lock.holder).toBe(0);
    }
  }, 180_000);
});
