import { AllocatorError, InvalidArgumentError } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";
import { Worker, bundleWorker, nextMessage } from "@memkit/test-workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ThreadsJob } from "./fixtures/threads-worker.js";

let script: string;
beforeAll(async () => {
  script = await bundleWorker(new URL("./fixtures/threads-worker.ts", import.meta.url));
});

afterEach(() => {
  // A failed test must not leave the next one unable to init.
  const m = MemoryGlobals.current;
  if (m !== undefined) {
    for (const t of m.threads()) if (t.state === "live" && t.name !== "main") m.threadEnded(t.name);
    try {
      m.shutdown();
    } catch {
      // leaks or a failed check: the test already said so
    }
  }
});

function job(memory: MemoryGlobals, threadName: string, kind: ThreadsJob["kind"], extra: Partial<ThreadsJob> = {}): ThreadsJob {
  return {
    share: memory.share(),
    threadName,
    kind,
    seed: [...threadName].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261), // a different stream per thread
    ops: 0,
    outbox: new SharedArrayBuffer(8),
    inbox: new SharedArrayBuffer(8),
    ptr: 0,
    barrier: new SharedArrayBuffer(16),
    rounds: 0,
    ...extra,
  };
}

describe("MemoryGlobals on a shared memory", () => {
  it("share() on a private memory is an InvalidArgumentError that says why", () => {
    const memory = MemoryGlobals.init({ maximumBytes: 64 << 20 });
    expect(() => memory.share()).toThrow(InvalidArgumentError);
    expect(() => memory.share()).toThrow(/shared: true/);
    memory.shutdown();
  });

  it("attach refuses what is not a share, and a private memory", () => {
    expect(() => MemoryGlobals.attach({} as never, { threadName: "x" })).toThrow(InvalidArgumentError);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    expect(() => MemoryGlobals.attach({ memory, rootPtr: 8, maximumBytes: 131072 }, { threadName: "x" })).toThrow(/not shared/);
  });

  it("a thread's high-water mark restarts with resetThreadPeak() and at each stage", () => {
    const memory = MemoryGlobals.init({ shared: true, maximumBytes: 64 << 20 });
    const physics = memory.scope("physics");
    const big = physics.allocate(100_000);
    const small = physics.allocate(1000);
    physics.deallocate(big);
    const main = (): { liveBytes: number; peakLiveBytes: number } => memory.threads()[0]!;
    expect(main()).toMatchObject({ liveBytes: 1000, peakLiveBytes: 101_000 });
    memory.resetThreadPeak();
    expect(main()).toMatchObject({ liveBytes: 1000, peakLiveBytes: 1000 });
    const again = physics.allocate(5000);
    physics.deallocate(again);
    expect(main().peakLiveBytes).toBe(6000);
    memory.beginStage("play");
    expect(main().peakLiveBytes).toBe(1000);
    memory.endStage();
    physics.deallocate(small);
    physics.dispose();
    memory.shutdown();
  });

  it("debug with shared is refused at init, saying what to do", () => {
    expect(() => MemoryGlobals.init({ shared: true, debug: true })).toThrow(/debug: true cannot be combined with shared: true/);
  });

  it("snapshot() of a shared memory maps its pages (the page lock is taken once, not again per owner name)", () => {
    const memory = MemoryGlobals.init({ shared: true, maximumBytes: 64 << 20 });
    const physics = memory.scope("physics");
    const blocks = [16, 3000, 200_000].map((size) => physics.allocate(size));
    const snapshot = memory.snapshot("shared");
    expect(snapshot.memoryMap.spans.length).toBeGreaterThan(0);
    expect(Object.values(snapshot.memoryMap.owners)).toContain("untagged");
    expect(Object.keys(snapshot.memoryMap.owners).length).toBeGreaterThan(2);
    for (const p of blocks) physics.deallocate(p);
    physics.dispose();
    memory.shutdown();
  });

  it("two workers x 200k mixed ops through shared scopes, 30% of frees on the other thread, reallocations among them: patterns hold, check() passes, totals exact", async () => {
    const memory = MemoryGlobals.init({ shared: true, initialBytes: 4 << 20, maximumBytes: 512 << 20 });
    const physics = memory.scope("physics");
    const mine = physics.allocate(1000); // a block of the main thread, live throughout
    const boxes = [new SharedArrayBuffer(4 * (2 + 3 * 120_000)), new SharedArrayBuffer(4 * (2 + 3 * 120_000))];
    const workers = ["jobs-1", "jobs-2"].map(
      (name, i) => new Worker(script, { workerData: job(memory, name, "mixed", { ops: 200_000, outbox: boxes[i]!, inbox: boxes[1 - i]! }) }),
    );
    const results = await Promise.all(workers.map((w) => nextMessage<{ freedForOthers: number; reallocated: number; badPatterns: number }>(w)));
    await Promise.all(workers.map((w) => w.terminate()));
    for (const r of results) expect(r.badPatterns).toBe(0);
    for (const r of results) expect(r.reallocated).toBeGreaterThan(10_000);
    expect(results[0]!.freedForOthers + results[1]!.freedForOthers).toBeGreaterThan(5000);
    expect(memory.space.byteLength).toBeGreaterThan(4 << 20); // the memory grew while they ran
    memory.check();
    const report = memory.report();
    const physicsRow = report.children.find((c) => c.name === "physics")!;
    expect(physicsRow.liveBytes).toBe(1000);
    expect(physicsRow.liveCount).toBe(1);
    expect(report.liveCount).toBe(0); // the root's own blocks: every one the workers allocated there was freed
    expect(report.totalLiveCount).toBe(1);
    expect(report.totalLiveBytes).toBe(1000);
    const threads = memory.threads();
    expect(threads.map((t) => `${t.name}:${t.state}`).sort()).toEqual(["jobs-1:ended", "jobs-2:ended", "main:live"]);
    // Each free counts in the thread that allocated the block, whichever thread freed it.
    const byName = new Map(threads.map((t) => [t.name, t]));
    expect(byName.get("main")!.liveBytes).toBe(1000);
    expect(byName.get("main")!.scopes).toEqual([{ path: "root/physics", liveBytes: 1000, liveCount: 1 }]);
    for (const name of ["jobs-1", "jobs-2"]) {
      const t = byName.get(name)!;
      expect(t.liveBytes).toBe(0);
      expect(t.allocCount).toBeGreaterThan(100_000);
      expect(t.freeCount).toBe(t.allocCount);
      expect(t.peakLiveBytes).toBeGreaterThan(0);
      expect(t.scopes).toEqual([]);
    }
    expect(memory.formatReport()).toMatch(/jobs-1 \[ended\] +live 0 B/);
    physics.deallocate(mine);
    physics.dispose();
    memory.shutdown();
  }, 120_000);

  it("a block freed by two threads at once is one free and one DoubleFreeError, every round", async () => {
    const memory = MemoryGlobals.init({ shared: true, maximumBytes: 64 << 20 });
    const physics = memory.scope("physics");
    const barrier = new SharedArrayBuffer(16); // [arrived, round released, the block, frees done]
    const b = new Int32Array(barrier);
    const rounds = 200;
    const workers = ["a", "b"].map((name) => new Worker(script, { workerData: job(memory, name, "double-free", { barrier, rounds }) }));
    const done = Promise.all(workers.map((w) => nextMessage<{ freed: number; doubleFrees: number; other: number }>(w)));
    for (let round = 0; round < rounds; round++) {
      Atomics.store(b, 2, physics.allocate(16 + (round % 100)));
      while (Atomics.load(b, 0) < 2 * (round + 1)) await new Promise((r) => setTimeout(r, 0));
      Atomics.store(b, 1, round + 1);
      Atomics.notify(b, 1);
      // Both freed (or failed to) before the next block replaces this one.
      while (Atomics.load(b, 3) < 2 * (round + 1)) await new Promise((r) => setTimeout(r, 0));
    }
    const [x, y] = await done;
    await Promise.all(workers.map((w) => w.terminate()));
    expect(x!.other + y!.other).toBe(0);
    expect(x!.freed + y!.freed).toBe(rounds);
    expect(x!.doubleFrees + y!.doubleFrees).toBe(rounds);
    expect(memory.report().liveCount).toBe(0);
    memory.check();
    physics.dispose();
    memory.shutdown();
  }, 120_000);

  it("a worker terminated mid-run deadlocks no one: declared dead, its heap adopted by the next thread, check() passes", async () => {
    const memory = MemoryGlobals.init({ shared: true, maximumBytes: 256 << 20 });
    memory.scope("physics");
    for (const delay of [5, 23, 61]) {
      const victim = new Worker(script, { workerData: job(memory, `victim-${delay}`, "forever") });
      expect(await nextMessage<string>(victim)).toBe("attached");
      await new Promise((r) => setTimeout(r, delay));
      await victim.terminate();
      expect(memory.threadEnded(`victim-${delay}`)).toBe(true);
      // The main thread goes on through the same scope (and takes the tree lock over if the victim held it).
      const p = memory.openScope("physics").allocate(64);
      memory.openScope("physics").deallocate(p);
    }
    // A worker attaching now adopts a dead victim's heap and works through it.
    const boxes = [new SharedArrayBuffer(4 * (2 + 3 * 20_000)), new SharedArrayBuffer(4 * (2 + 3 * 20_000))];
    const workers = ["after-1", "after-2"].map((name, i) => new Worker(script, { workerData: job(memory, name, "mixed", { ops: 20_000, outbox: boxes[i]!, inbox: boxes[1 - i]! }) }));
    const results = await Promise.all(workers.map((w) => nextMessage<{ badPatterns: number }>(w)));
    await Promise.all(workers.map((w) => w.terminate()));
    for (const r of results) expect(r.badPatterns).toBe(0);
    memory.check();
    const states = memory.threads().map((t) => t.state);
    expect(states.filter((s) => s === "dead").length).toBeLessThanOrEqual(1); // two of three dead heaps were adopted
    // What the victims held is still live in the scope: their blocks were never freed, and count as theirs
    // (or as the heap's adopter's).
    expect(memory.report().children.find((c) => c.name === "physics")!.liveCount).toBeGreaterThan(0);
    const held = memory.threads().reduce((sum, t) => sum + t.scopes.reduce((s2, x) => s2 + x.liveCount, 0), 0);
    expect(held).toBe(memory.report().totalLiveCount);
    expect(() => memory.shutdown()).toThrow(AllocatorError); // leaks of the victims
  }, 120_000);

  it("a dead thread's heap that fails its check is fenced off, and its blocks still count for a live thread", async () => {
    const memory = MemoryGlobals.init({ shared: true, maximumBytes: 128 << 20 });
    memory.scope("physics");
    const victim = new Worker(script, { workerData: job(memory, "victim", "forever") });
    expect(await nextMessage<string>(victim)).toBe("attached");
    await victim.terminate();
    expect(memory.threadEnded("victim")).toBe(true);
    // Break one slab of the victim's slot tier (its magic word), so the next thread's check refuses the heap.
    const pages = memory.pages;
    const own = memory.generic.slots.ownerId;
    const slabBytes = memory.generic.slots.slabBytes;
    const spans: [ptr: number, owner: number][] = [];
    pages.forEachSpan((ptr, bytes, used, tag) => {
      if (used && bytes === slabBytes && tag >>> 24 !== own && (tag & 0xff_ffff) !== 0) spans.push([ptr, tag >>> 24]);
    });
    const slab = spans.find(([, owner]) => pages.ownerName(owner) === "generic.slots")?.[0] ?? 0;
    expect(slab).toBeGreaterThan(0);
    memory.space.u32[(slab + slabBytes - 64 + 13 * 4) >>> 2] = 0;
    // The next thread to attach tries the victim's heap, refuses it and makes its own. Nothing claims the
    // victim's freed slot afterwards, so its blocks count only if they were handed to the adopter.
    const adopter = new Worker(script, { workerData: job(memory, "adopter", "forever") });
    expect(await nextMessage<string>(adopter)).toBe("attached");
    await adopter.terminate();
    expect(memory.threadEnded("adopter")).toBe(true);
    const threads = memory.threads();
    expect(threads.map((t) => t.name)).not.toContain("victim"); // its slot was freed for the next claim
    const held = threads.reduce((sum, t) => sum + t.scopes.reduce((s2, x) => s2 + x.liveCount, 0), 0);
    expect(held).toBe(memory.report().totalLiveCount);
    expect(threads.find((t) => t.name === "adopter")!.scopes.find((x) => x.path.endsWith("physics"))!.liveCount).toBeGreaterThan(1000); // its own and the victim's
  }, 60_000);

  it("save() and shutdown() refuse while another thread is attached", async () => {
    const memory = MemoryGlobals.init({ shared: true, maximumBytes: 64 << 20 });
    memory.scope("physics");
    const victim = new Worker(script, { workerData: job(memory, "busy", "forever") });
    expect(await nextMessage<string>(victim)).toBe("attached");
    expect(() => memory.save()).toThrow(/busy/);
    expect(() => memory.shutdown()).toThrow(/still attached/);
    await victim.terminate();
    memory.threadEnded("busy");
    expect(() => memory.shutdown()).toThrow(AllocatorError); // the victim's blocks leak
  }, 60_000);

  it("a shared memory saved and restored keeps its scopes and blocks; the restoring thread has a seat, and workers attach to it", async () => {
    const memory = MemoryGlobals.init({ shared: true, maximumBytes: 128 << 20 });
    const physics = memory.scope("physics");
    const kept = physics.allocate(777);
    memory.space.u8.fill(0x5a, kept, kept + 777);
    const bytes = memory.save();
    physics.deallocate(kept);
    physics.dispose();
    memory.shutdown();

    const restored = MemoryGlobals.restore(bytes);
    expect(restored.threads().map((t) => `${t.name}:${t.state}`)).toEqual(["main:live"]);
    expect(restored.space.u8[kept + 776]).toBe(0x5a);
    const boxes = [new SharedArrayBuffer(4 * (2 + 3 * 10_000)), new SharedArrayBuffer(4 * (2 + 3 * 10_000))];
    const workers = ["r-1", "r-2"].map((name, i) => new Worker(script, { workerData: job(restored, name, "mixed", { ops: 10_000, outbox: boxes[i]!, inbox: boxes[1 - i]! }) }));
    const results = await Promise.all(workers.map((w) => nextMessage<{ badPatterns: number }>(w)));
    await Promise.all(workers.map((w) => w.terminate()));
    for (const r of results) expect(r.badPatterns).toBe(0);
    restored.check();
    const again = restored.openScope("physics");
    expect(again.stats().liveCount).toBe(1);
    again.deallocate(kept);
    again.dispose();
    restored.shutdown();
  }, 120_000);
});
