import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, OutOfMemoryError, THREAD_SLOTS, ThreadState, ThreadTable } from "@memkit/core";
import { Worker, bundleWorker, nextMessage } from "./fixtures/bundle-worker.js";

const TABLE = 1024;

function table(shared = false): ThreadTable {
  const space = AddressSpace.create({ initialBytes: 1 << 16, maximumBytes: 1 << 20, shared });
  return ThreadTable.create(space, TABLE);
}

describe("ThreadTable", () => {
  it("claims slots in order with a generation, a name and zeroed figures; end, declareDead and release move the state", () => {
    const t = table();
    const a = t.claim("main");
    const b = t.claim("jobs-1 ☃");
    expect([a.slot, a.generation, b.slot, b.generation]).toEqual([0, 1, 1, 1]);
    expect([t.stateOf(0), t.nameOf(0), t.nameOf(1), t.nameOf(2)]).toEqual([ThreadState.LIVE, "main", "jobs-1 ☃", ""]);
    t.recordAllocate(b, 100);
    t.recordAllocate(b, 50);
    t.recordFree(b, 100);
    expect(t.figuresOf(1)).toEqual({ liveBytes: 50, peakLiveBytes: 150, allocCount: 2, freeCount: 1 });
    t.resetPeak(b);
    expect(t.figuresOf(1).peakLiveBytes).toBe(50);
    // A free by another thread goes to words of its own (written under a lock), never to the owner's.
    t.recordAllocate(b, 30);
    t.recordFreeOf(1, 0, 20);
    t.recordFreeOf(1, 1, 10);
    expect(t.figuresOf(1)).toEqual({ liveBytes: 50, peakLiveBytes: 80, allocCount: 3, freeCount: 3 });
    t.recordAllocate(b, 40); // the peak counts what other threads freed
    expect(t.figuresOf(1).peakLiveBytes).toBe(90);
    t.resetPeak(b);
    expect(t.figuresOf(1).peakLiveBytes).toBe(90);
    t.setResource(b, "heap", 0x4000);
    expect(t.resourceOf(1, "heap")).toBe(0x4000);
    expect(() => t.release(1)).toThrow(InvalidArgumentError); // live
    t.endSeat(b);
    t.endSeat(b); // idempotent
    expect(t.stateOf(1)).toBe(ThreadState.ENDED);
    expect(t.declareDead(1, 1)).toBe(false); // only LIVE threads die
    expect(t.release(1)).toBe(true);
    expect(t.release(1)).toBe(false);
    const c = t.claim("again");
    expect([c.slot, c.generation, t.resourceOf(1, "heap"), t.figuresOf(1).allocCount]).toEqual([1, 2, 0, 0]);
    expect(() => t.endSeat(b)).toThrow(/no longer this seat's/); // b's generation is gone
    expect(t.declareDead(1, 1)).toBe(false); // wrong generation: a no-op
    expect(t.stateOf(1)).toBe(ThreadState.LIVE);
    expect(t.declareDead(1, 2)).toBe(true);
    expect(t.declareDead(1, 2)).toBe(true); // idempotent
    expect(t.isDead(1, 2)).toBe(true);
    expect(t.stateOf(1)).toBe(ThreadState.DEAD);
    expect(t.release(1)).toBe(true);
    expect(t.claim("third").generation).toBe(3);
  });

  it("release with an heir hands the ended thread's page-map owners to the heir, and only those", () => {
    const t = table();
    const main = t.claim("main");
    const dead = t.claim("dead");
    const heir = t.claim("heir");
    t.setOwnerThread(7, dead);
    t.setOwnerThread(8, dead);
    t.setOwnerThread(9, main);
    t.endSeat(dead);
    expect(t.release(1, heir)).toBe(true);
    expect([t.threadOfOwner(7), t.threadOfOwner(8), t.threadOfOwner(9), t.threadOfOwner(10)]).toEqual([2, 2, 0, -1]);
    // A second release finds the slot FREE and changes nothing; a thread that claims it notes its own owners.
    expect(t.release(1, main)).toBe(false);
    expect(t.threadOfOwner(7)).toBe(2);
    const next = t.claim("next");
    t.setOwnerThread(11, next);
    expect([next.slot, t.threadOfOwner(11), t.threadOfOwner(7)]).toEqual([1, 1, 2]);
    expect(() => t.release(1, { slot: 40, generation: 1 } as never)).toThrow(InvalidArgumentError);
  });

  it("says how many threads hold a full table and how to make room; a released slot is claimed again", () => {
    const t = table();
    const seats = Array.from({ length: THREAD_SLOTS }, (_, i) => t.claim(`t${i}`));
    t.endSeat(seats[5]!);
    let err: unknown;
    try {
      t.claim("one too many");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(String(err)).toMatch(/all 64 thread slots are taken \(63 live, 1 ended or dead, not yet released\)/);
    expect(String(err)).toMatch(/release\(\) the slots of ended and dead ones/);
    t.release(5);
    expect(t.claim("fits").slot).toBe(5);
  });

  it("refuses bad input with typed errors and attaches only to a table", () => {
    const t = table();
    expect(() => t.claim("x".repeat(29))).toThrow(/at most 28/);
    expect(() => t.claim(7 as never)).toThrow(InvalidArgumentError);
    for (const bad of [-1, 64, 1.5, "1", 10n]) expect(() => t.stateOf(bad as never)).toThrow(InvalidArgumentError);
    expect(() => t.declareDead(0, -1)).toThrow(InvalidArgumentError);
    const other = ThreadTable.create(t.space, TABLE + ThreadTable.bytes);
    expect(() => t.endSeat(other.claim("elsewhere"))).toThrow(/a seat claimed from this table/);
    expect(() => ThreadTable.create(t.space, 1028)).toThrow(InvalidArgumentError);
    expect(() => ThreadTable.attach(t.space, TABLE + 8)).toThrow(CorruptionError);
    const second = ThreadTable.attach(t.space, TABLE);
    t.claim("seen by both");
    expect(second.nameOf(0)).toBe("seen by both");
    t.space.u32[(TABLE >>> 2) + 6 + 24 * 3] = 7; // slot 3's state word: state 7
    expect(() => ThreadTable.attach(t.space, TABLE)).toThrow(/slot 3 holds state 7/);
    t.destroy();
    expect(() => second.claim("late")).toThrow(DestroyedError);
    expect(() => ThreadTable.attach(t.space, TABLE)).toThrow(/destroyed/);
  });
});

describe("ThreadTable across worker threads", () => {
  let script = "";
  const workers: Worker[] = [];
  beforeAll(async () => {
    script = await bundleWorker(new URL("./fixtures/lock-worker.ts", import.meta.url));
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });

  it("gives 4 workers claiming, ending and releasing at once a distinct (slot, generation) for every claim", async () => {
    for (let round = 0; round < 2; round++) {
      const t = table(true);
      const flags = (TABLE + ThreadTable.bytes + 64) >>> 2;
      const answers = [0, 1, 2, 3].map((i) => {
        const w = new Worker(script, { workerData: { role: "claim", name: `w${i}`, iterations: 5000, memory: t.space.memory, tablePtr: TABLE, lockPtr: 0, capacity: 0, record: 0, flags } });
        workers.push(w);
        return nextMessage<string[]>(w);
      });
      await new Promise((resolve) => setTimeout(resolve, 50)); // let them reach the start line
      Atomics.store(t.space.i32, flags, 1);
      const got = (await Promise.all(answers)).flat();
      expect(got.length).toBe(4 * 5000);
      expect(new Set(got).size).toBe(got.length);
      for (let slot = 0; slot < THREAD_SLOTS; slot++) expect(t.stateOf(slot)).toBe(ThreadState.FREE);
      await Promise.all(workers.splice(0).map((w) => w.terminate()));
    }
  });
});
