import { Worker } from "node:worker_threads";
import { DoubleFreeError, InvalidPointerError, SharedLock, type ThreadSeat } from "@memkit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TraceAllocator } from "../src/index.js";
import { COUNTER_SHIFT, C_ALLOC_BYTES, C_ALLOC_COUNT, C_FREE_BYTES, C_FREE_COUNT, E_PTR, E_SIZE, E_WORD, L_FREE, L_OPS, L_ROWS_PTR, L_USED, laneCode } from "../src/lane-layout.js";
import { entryWord, laneOf } from "../src/lanes.js";
import { HEADER_BYTES, ROW_MASK } from "../src/layout.js";
import { sharedRig, type SharedRig } from "./helpers.js";

// Lanes (lane-layout.ts): a seated thread's common blocks are recorded without the tree lock. Two
// seats on one JS thread stand for two threads here (each its own SharedLock handle, so its own
// lane); tests with real workers are threads.test.ts.

type Rig = SharedRig;
const rig = sharedRig;

/** A second "thread": another seat, its own handle on the tree lock and on the tree. */
function thread(r: Rig, name: string): { seat: ThreadSeat; root: TraceAllocator } {
  const seat = r.table.claim(name);
  const lock = new SharedLock(r.space, 8192, 8, { thread: seat, name: "tree" });
  return { seat, root: TraceAllocator.attach(r.space, r.root.controlPtr, { backing: r.generic, lock }) };
}

const isLaneBlock = (r: Rig, ptr: number): boolean => r.space.i32[(ptr - HEADER_BYTES) >> 2]! < 0;

function fill(r: Rig, ptr: number, size: number, seed: number): void {
  for (let k = 0; k < size; k++) r.space.u8[ptr + k] = (seed + k * 7) & 255;
}
function holds(r: Rig, ptr: number, size: number, seed: number): boolean {
  for (let k = 0; k < size; k++) if (r.space.u8[ptr + k] !== ((seed + k * 7) & 255)) return false;
  return true;
}

/**
 * Finishes, on a real worker thread after `ms`, a lane free the test began by hand: the counters,
 * the entry back on the lane's free list, OPS even again (what laneFree does after its claim).
 */
const FINISH_FREE = `
const { parentPort, workerData: d } = require("node:worker_threads");
const i32 = new Int32Array(d.buffer);
const f64 = new Float64Array(d.buffer);
parentPort.postMessage("ready");
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, d.ms);
f64[d.c + d.C_FREE_COUNT] += 1;
f64[d.c + d.C_FREE_BYTES] += d.size;
i32[d.r + d.E_SIZE] = i32[d.lw + d.L_FREE];
i32[d.lw + d.L_FREE] = d.e + 1;
Atomics.store(i32, d.lw + d.L_OPS, d.ops + 2);
`;

describe("lanes: a seated thread's common blocks without the tree lock", () => {
  it("check() waits for a call another thread has in flight on its lane (descheduled mid-free) instead of calling it corruption", async () => {
    const r = rig();
    const other = thread(r, "descheduled");
    const body = other.root.child("body");
    const keep = body.allocate(40);
    const p = body.allocate(200);
    expect(isLaneBlock(r, p)).toBe(true);
    // The other thread's free, up to its claim: OPS odd, the entry's pointer taken; the counters not yet.
    const i32 = r.space.i32;
    const lw = laneOf(r.root, other.seat.slot);
    const e = i32[(p - HEADER_BYTES) >> 2]! & 0xffffff;
    const w = entryWord(i32, lw, e);
    const row = i32[w + E_WORD]! & ROW_MASK;
    const ops = i32[lw + L_OPS]!;
    expect(ops & 1).toBe(0);
    i32[lw + L_OPS] = ops + 1;
    expect(Atomics.compareExchange(i32, w + E_PTR, p, 0)).toBe(p);
    const c = (r.space.u32[lw + L_ROWS_PTR]! >>> 3) + (row << COUNTER_SHIFT);
    const worker = new Worker(FINISH_FREE, {
      eval: true,
      workerData: { buffer: r.space.memory.buffer, ms: 100, c, size: 200, r: w, e, lw, ops, C_FREE_COUNT, C_FREE_BYTES, E_SIZE, L_FREE, L_OPS },
    });
    await new Promise((resolve) => worker.once("message", resolve));
    // Until the worker finishes (100 ms on), the lane holds one block less than its counters say: check() waits it out.
    r.root.check();
    await new Promise((resolve) => worker.once("exit", resolve));
    expect(i32[lw + L_OPS]! & 1).toBe(0);
    r.generic.deallocate(p - HEADER_BYTES); // the backing's part of the free, which laneFree does last
    expect(body.stats()).toMatchObject({ liveCount: 1, liveBytes: 40 });
    body.deallocate(keep);
    r.root.check();
  });


  it("records common blocks in the thread's lane; stats, report and check see them exactly", () => {
    const r = rig();
    const physics = r.root.child("physics");
    const body = physics.child("body");
    const blocks = Array.from({ length: 300 }, (_, k) => body.allocate(8 + (k % 50) * 8, k % 3 === 0 ? 16 : 8));
    expect(blocks.every((p) => isLaneBlock(r, p))).toBe(true);
    expect(blocks.filter((p) => p % 16 === 0).length).toBeGreaterThanOrEqual(100);
    const bytes = blocks.reduce((s, _, k) => s + 8 + (k % 50) * 8, 0);
    expect(body.stats()).toMatchObject({ liveCount: 300, liveBytes: bytes, allocCount: 300, peakLiveBytes: bytes });
    expect(physics.report().totalLiveBytes).toBe(bytes);
    expect(body.report().reservedBytes).toBe(body.stats().reservedBytes);
    expect(body.stats().reservedBytes).toBeGreaterThanOrEqual(bytes + 300 * 8);
    expect(blocks.every((p) => isLaneBlock(r, p))).toBe(true); // reports read the lane where it is
    r.root.check();
    // check() walked the records: the blocks were adopted into them and free through the locked path now.
    expect(blocks.some((p) => isLaneBlock(r, p))).toBe(false);
    const more = Array.from({ length: 40 }, () => body.allocate(24));
    expect(more.every((p) => isLaneBlock(r, p))).toBe(true);
    r.root.markFrame(7);
    const temp = body.allocate(40);
    body.deallocate(temp); // freed in the frame it was allocated in
    for (const p of [...blocks, ...more]) body.deallocate(p);
    expect(body.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, freeCount: 341 });
    expect(body.report().tempFreeCount).toBe(1);
    r.root.check();
    body.dispose();
    physics.dispose();
    r.root.check();
  });

  it("another thread's free of a lane block adopts it: one free, exact counts, and the entry is used again", () => {
    const r = rig();
    const other = thread(r, "jobs-1");
    const ai = r.root.child("ai");
    const theirs = other.root.openScope("ai");
    const blocks = Array.from({ length: 64 }, (_, k) => ({ ptr: ai.allocate(32 + k), size: 32 + k }));
    blocks.forEach((b, k) => fill(r, b.ptr, b.size, k));
    const lane = laneOf(r.root, r.seat.slot);
    const used = r.space.u32[lane + L_USED]!;
    for (const b of blocks.slice(0, 32)) theirs.deallocate(b.ptr);
    expect(ai.stats()).toMatchObject({ liveCount: 32, freeCount: 32 });
    blocks.slice(32).forEach((b, k) => expect(holds(r, b.ptr, b.size, k + 32)).toBe(true));
    // The adopted entries came back through the remote list: new blocks reuse them.
    for (let k = 0; k < 32; k++) ai.allocate(16);
    expect(r.space.u32[lane + L_USED]).toBe(used);
    r.root.check();
    // Their own blocks go to their own lane.
    const mine = theirs.allocate(100);
    expect(r.space.i32[(mine - HEADER_BYTES) >> 2]).toBe(laneCode(other.seat.slot, 0));
    ai.deallocate(mine); // through the scope's other handle: adopted, then freed
    expect(ai.stats().liveCount).toBe(64);
    r.root.check();
  });

  it("a lane block freed twice is one free and a DoubleFreeError from either thread, and nothing changes", () => {
    const r = rig();
    const other = thread(r, "jobs-1");
    const audio = r.root.child("audio");
    const theirs = other.root.openScope("audio");
    const keep = audio.allocate(64);
    fill(r, keep, 64, 3);
    const p = audio.allocate(48);
    audio.deallocate(p);
    expect(() => audio.deallocate(p)).toThrow(DoubleFreeError);
    expect(() => theirs.deallocate(p)).toThrow(DoubleFreeError);
    const q = theirs.allocate(48);
    audio.deallocate(q);
    expect(() => theirs.deallocate(q)).toThrow(DoubleFreeError);
    expect(() => audio.deallocate(keep + 8)).toThrow(InvalidPointerError);
    expect(() => r.root.deallocate(keep)).toThrow(InvalidPointerError); // another scope's block
    expect(audio.stats()).toMatchObject({ liveCount: 1, liveBytes: 64 });
    expect(holds(r, keep, 64, 3)).toBe(true);
    r.root.check();
  });

  it("budgets, labels, alignments above 16 and guarded trees keep to the locked paths", () => {
    const r = rig();
    const world = r.root.child("world", { budget: 4096 });
    const a = world.allocate(100);
    const b = r.root.allocate(100, 64);
    const c = r.root.allocate(100, 8, r.root.labelId("mesh"));
    expect([a, b, c].some((p) => isLaneBlock(r, p))).toBe(false);
    expect(() => world.allocate(4000)).toThrow(/budget/);
    world.setBudget(undefined);
    expect(isLaneBlock(r, world.allocate(10))).toBe(true);
    r.root.check();
  });

  it("a lane whose thread died in the middle of an allocation or a free is repaired at the next fold", () => {
    const r = rig();
    const other = thread(r, "doomed");
    const net = other.root.child("net");
    const blocks = Array.from({ length: 10 }, () => net.allocate(40));
    const i32 = r.space.i32;
    const lane = laneOf(r.root, other.seat.slot);
    // Died in a free: the entry claimed (PTR 0), nothing counted, the backing block not given back.
    const freed = blocks[4]!;
    const fe = i32[(freed - HEADER_BYTES) >> 2]! & 0xffffff;
    i32[entryWord(i32, lane, fe) + E_PTR] = 0;
    // Died in an allocation: the entry and the header written, nothing counted.
    const ptr = r.generic.allocate(56 + HEADER_BYTES, 8) + HEADER_BYTES;
    const e = i32[lane + L_USED]!;
    i32[lane + L_USED] = e + 1;
    const w = entryWord(i32, lane, e);
    i32[w + E_SIZE] = 56;
    i32[w + E_WORD] = net.row;
    i32[(ptr - HEADER_BYTES) >> 2] = laneCode(other.seat.slot, e);
    i32[w + E_PTR] = ptr;
    r.table.declareDead(other.seat.slot, other.seat.generation);
    const mine = r.root.openScope("net");
    expect(mine.stats()).toMatchObject({ liveCount: 10, liveBytes: 9 * 40 + 56 });
    r.root.check();
    for (const p of [...blocks.filter((p) => p !== freed), ptr]) mine.deallocate(p);
    expect(mine.stats().liveCount).toBe(0);
    r.root.check();
  });

  it("a thread that died holding the tree lock in the middle of a lane call: the takeover repairs its lane before it recounts", () => {
    const r = rig();
    const other = thread(r, "doomed");
    const net = other.root.child("net");
    const blocks = Array.from({ length: 10 }, () => net.allocate(40));
    // It took the lock (a lane call on the slow path runs under it) and died after claiming a
    // block's entry, before counting the free.
    const theirs = new SharedLock(r.space, 8192, 8, { thread: other.seat });
    theirs.acquire();
    const i32 = r.space.i32;
    const lane = laneOf(r.root, other.seat.slot);
    const gone = blocks[2]!;
    i32[entryWord(i32, lane, i32[(gone - HEADER_BYTES) >> 2]! & 0xffffff) + E_PTR] = 0;
    r.table.declareDead(other.seat.slot, other.seat.generation);
    r.root.check(); // takes the lock over: lane repaired, folded, then the tree recounted
    const mine = r.root.openScope("net");
    expect(mine.stats()).toMatchObject({ liveCount: 9, liveBytes: 360 });
    r.root.check();
    for (const p of blocks.filter((p) => p !== gone)) mine.deallocate(p);
    expect(mine.stats().liveCount).toBe(0);
    r.root.check();
  });

  it("random work by two threads on shared scopes matches a model: bytes, counts, and check() after every step", () => {
    const op = fc.record({
      thread: fc.integer({ min: 0, max: 1 }),
      scope: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom("alloc", "alloc", "free", "realloc", "stats"),
      size: fc.integer({ min: 0, max: 300 }),
      pick: fc.nat(),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const r = rig();
        const other = thread(r, "jobs-1");
        const names = ["a", "a/b", "c"];
        const mine = [r.root.child("a"), undefined, r.root.child("c")];
        mine[1] = mine[0]!.child("b");
        const handles = [mine as TraceAllocator[], names.map((n) => other.root.openScope(n))];
        const live: { ptr: number; size: number; scope: number; seed: number }[] = [];
        let seed = 0;
        for (const o of ops) {
          const scope = handles[o.thread]![o.scope]!;
          if (o.kind === "alloc" || live.length === 0) {
            const align = o.pick % 4 === 0 ? 16 : 8;
            const ptr = scope.allocate(o.size, align);
            expect(ptr % align).toBe(0);
            fill(r, ptr, o.size, ++seed);
            live.push({ ptr, size: o.size, scope: o.scope, seed });
          } else if (o.kind === "stats") {
            const s = handles[o.thread]![o.scope]!.stats();
            const own = live.filter((b) => b.scope === o.scope);
            expect([s.liveCount, s.liveBytes]).toEqual([own.length, own.reduce((t, b) => t + b.size, 0)]);
          } else {
            const k = o.pick % live.length;
            const b = live[k]!;
            const owner = handles[o.thread]![b.scope]!;
            expect(holds(r, b.ptr, b.size, b.seed)).toBe(true);
            if (o.kind === "free") {
              owner.deallocate(b.ptr);
              live.splice(k, 1);
            } else {
              const align = o.pick % 3 === 0 ? 16 : 8;
              b.ptr = owner.reallocate(b.ptr, o.size, align);
              expect(b.ptr % align).toBe(0);
              fill(r, b.ptr, o.size, (b.seed = ++seed));
              b.size = o.size;
            }
          }
        }
        r.root.check();
        for (let s = 0; s < 3; s++) {
          const own = live.filter((b) => b.scope === s);
          expect(mine[s]!.stats()).toMatchObject({ liveCount: own.length, liveBytes: own.reduce((t, b) => t + b.size, 0) });
        }
        expect(r.root.report().totalLiveBytes).toBe(live.reduce((t, b) => t + b.size, 0));
        for (const b of live) {
          expect(holds(r, b.ptr, b.size, b.seed)).toBe(true);
          handles[1 - (b.seed & 1)]![b.scope]!.deallocate(b.ptr);
        }
        r.root.check();
        expect(r.root.report().totalLiveBytes).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it("a frame mark folds the lanes in: blocks live at the end of a frame count toward its peak", () => {
    const r = rig();
    const fx = r.root.child("fx");
    r.root.markFrame(1);
    const burst = Array.from({ length: 50 }, () => fx.allocate(100));
    r.root.markFrame(2);
    for (const p of burst) fx.deallocate(p);
    expect(fx.stats()).toMatchObject({ liveBytes: 0, peakLiveBytes: 5000 });
    expect(fx.report()).toMatchObject({ peakFrame: 1, totalPeakLiveBytes: 5000 });
    r.root.check();
  });

  it("the lane's counters are the owner's: an allocation adds to them and nothing else writes them", () => {
    const r = rig();
    const ui = r.root.child("ui");
    ui.allocate(10);
    ui.allocate(20);
    const lane = laneOf(r.root, r.seat.slot);
    const c = (r.space.u32[lane + 5]! >>> 3) + (ui.row << COUNTER_SHIFT);
    expect([r.space.f64[c + C_ALLOC_COUNT], r.space.f64[c + C_ALLOC_BYTES]]).toEqual([2, 30]);
  });
});
