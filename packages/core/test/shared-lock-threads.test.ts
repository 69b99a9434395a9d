import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AddressSpace, AllocatorError, SharedLock, ThreadState, ThreadTable } from "@memkit/core";
import { Worker, bundleWorker, nextMessage } from "./fixtures/bundle-worker.js";

// SharedLock between real worker threads: mutual exclusion, a holder that dies
// mid-section, a slow holder that is not robbed, and a thread that may not block.

const TABLE = 1024;
const LOCK = TABLE + ThreadTable.bytes + 8 - (ThreadTable.bytes % 8);
const CAPACITY = 32;
const RECORD = (LOCK + SharedLock.bytes(CAPACITY) + 64) >>> 2; // word index of the protected words
const FLAGS = RECORD + 64;

let script = "";
const workers: Worker[] = [];

beforeAll(async () => {
  script = await bundleWorker(new URL("./fixtures/lock-worker.ts", import.meta.url));
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
  vi.restoreAllMocks();
});

function setup(): { space: AddressSpace; table: ThreadTable } {
  const space = AddressSpace.create({ initialBytes: 1 << 16, maximumBytes: 1 << 20, shared: true });
  return { space, table: ThreadTable.create(space, TABLE) };
}

function start(space: AddressSpace, role: string, name: string, extra: object = {}): Worker {
  const worker = new Worker(script, {
    workerData: { role, name, memory: space.memory, tablePtr: TABLE, lockPtr: LOCK, capacity: CAPACITY, record: RECORD, flags: FLAGS, ...extra },
  });
  workers.push(worker);
  return worker;
}

describe("SharedLock across worker threads", () => {
  it("excludes: 4 workers incrementing a 4-word record through the lock never see its invariant broken, and no increment is lost", async () => {
    const { space } = setup();
    const iterations = 4000;
    const u32 = space.u32;
    u32[RECORD + 2] = 0;
    u32[RECORD + 3] = 0x5a5a5a5a;
    const running = [0, 1, 2, 3].map((i) => start(space, "stress", `stress-${i}`, { iterations }));
    const results = running.map((w) => nextMessage<{ broken: number }>(w));
    Atomics.store(space.i32, FLAGS, 1);
    for (const r of await Promise.all(results)) expect(r.broken).toBe(0);
    const total = 4 * iterations;
    expect([u32[RECORD], u32[RECORD + 1], u32[RECORD + 2], u32[RECORD + 3]]).toEqual([total, total, Math.imul(total, 7) >>> 0, (total ^ 0x5a5a5a5a) >>> 0]);
    expect(new SharedLock(space, LOCK, CAPACITY).holder).toBe(0);
  });

  it("recovers from a holder that dies mid-section: the waiter restores every logged word and proceeds", async () => {
    const { space, table } = setup();
    const u32 = space.u32;
    const before = Array.from({ length: 12 }, (_, i) => 1000 + i);
    u32.set(before.slice(0, 4), RECORD);
    u32.fill(5, RECORD + 4, RECORD + 12); // the range entry's words all hold one value
    u32.set(before.slice(0, 4), RECORD);
    const expected = Array.from(u32.subarray(RECORD, RECORD + 12));
    const dying = start(space, "die-holding", "doomed");
    const seat = await nextMessage<{ slot: number; generation: number }>(dying);
    expect(u32[RECORD]).toBe(333); // its writes landed
    const waiter = start(space, "acquire-once", "waiter");
    await nextMessage(waiter); // it is trying to acquire now
    const answer = nextMessage<{ seen: number[]; takeovers: number }>(waiter);
    await dying.terminate();
    expect(table.declareDead(seat.slot, seat.generation)).toBe(true);
    const { seen, takeovers } = await answer;
    expect(seen).toEqual(expected);
    expect(takeovers).toBe(1);
    expect(u32[RECORD + 3]).toBe(999); // and the waiter's own section committed
    const main = new SharedLock(space, LOCK, CAPACITY, { thread: table.claim("main") });
    main.acquire(); // free, and the log is empty
    main.rollback();
    expect(u32[RECORD + 3]).toBe(999);
    main.release();
    expect(table.stateOf(seat.slot)).toBe(ThreadState.DEAD);
  });

  it("never robs a slow live holder, nor one declared dead under another generation", async () => {
    const { space, table } = setup();
    const holder = start(space, "hold-until-told", "slow");
    const seat = await nextMessage<{ slot: number; generation: number }>(holder);
    const waiter = start(space, "acquire-once", "waiter");
    await nextMessage(waiter);
    const answered = vi.fn();
    const answer = nextMessage<{ seen: number[] }>(waiter).then((m) => {
      answered();
      return m;
    });
    expect(table.declareDead(seat.slot, seat.generation + 1)).toBe(false);
    const main = new SharedLock(space, LOCK, CAPACITY, { thread: table.claim("main") });
    for (let i = 0; i < 20; i++) {
      expect(main.tryAcquire()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(answered).not.toHaveBeenCalled();
    expect(main.holder).toBe((seat.slot + 1) | (seat.generation << 8));
    const released = nextMessage(holder);
    Atomics.store(space.i32, FLAGS + 1, 1);
    await released;
    const { seen } = await answer;
    expect(seen[0]).toBe(7); // the holder's write was committed, not undone
    expect(main.takeovers).toBe(0);
  });

  it("gives up waiting for a holder that does not come back (maxWaitMs): an AllocatorError naming it, nothing changed, and works once it lets go", async () => {
    const { space, table } = setup();
    const holder = start(space, "hold-until-told", "stuck");
    await nextMessage(holder);
    const main = new SharedLock(space, LOCK, CAPACITY, { thread: table.claim("main"), maxWaitMs: 100 });
    let error: unknown;
    try {
      main.acquire();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AllocatorError);
    expect(String(error)).toMatch(/thread "stuck" .* has held it for \d+ ms; nothing was changed[\s\S]*threadEnded/);
    expect(main.held).toBe(false);
    const released = nextMessage(holder);
    Atomics.store(space.i32, FLAGS + 1, 1);
    await released;
    main.acquire();
    expect(main.held).toBe(true);
    main.release();
    expect(() => new SharedLock(space, LOCK, CAPACITY, { maxWaitMs: -1 })).toThrow(/maxWaitMs/);
  });

  it("never calls Atomics.wait when the thread may not block (probe forced), and does when it may", async () => {
    for (const mayBlock of [false, true]) {
      const { space, table } = setup();
      const holder = start(space, "hold-past-start", "holder");
      await nextMessage(holder);
      const lock = new SharedLock(space, LOCK, CAPACITY, { thread: table.claim("main"), mayBlock });
      const wait = vi.spyOn(Atomics, "wait");
      Atomics.store(space.i32, FLAGS, 1);
      lock.acquire(); // the worker holds it for a while longer
      lock.release();
      expect(wait.mock.calls.length > 0).toBe(mayBlock);
      wait.mockRestore();
      await new Promise((resolve) => holder.once("exit", resolve));
    }
  });
});
