import { describe, expect, it } from "vitest";
import { AddressSpace, AllocatorError, CorruptionError, InvalidArgumentError, SharedLock, ThreadTable } from "@memkit/core";

// SharedLock within one thread: the log, its limits, re-entrance, rollback and
// recovery from a dead holder (two seats of one thread stand for two threads).

const TABLE = 1024;
const LOCK = 8192;
const DATA = 4096; // word index of the protected words

function setup(capacity = 8): { space: AddressSpace; table: ThreadTable; lock: SharedLock } {
  const space = AddressSpace.create({ initialBytes: 1 << 16, maximumBytes: 1 << 20, shared: true });
  const table = ThreadTable.create(space, TABLE);
  return { space, table, lock: new SharedLock(space, LOCK, capacity, { thread: table.claim("a"), name: "test" }) };
}

describe("SharedLock", () => {
  it("throws CorruptionError naming the lock before a write that would overflow the log; rollback then undoes the section", () => {
    const { space, lock } = setup(4);
    const u32 = space.u32;
    u32.fill(9, DATA, DATA + 16);
    lock.acquire();
    lock.write(u32, DATA, 1);
    lock.write(u32, DATA + 1, 2);
    lock.fill(u32, DATA + 4, 8, 3); // one range: two entries
    expect(() => lock.write(u32, DATA + 2, 4)).toThrow(CorruptionError);
    expect(() => lock.write(u32, DATA + 2, 4)).toThrow(/SharedLock test at 0x00002000: the section's undo log is full \(4 entries\)/);
    expect(u32[DATA + 2]).toBe(9); // not written
    lock.rollback();
    expect(Array.from(u32.subarray(DATA, DATA + 16))).toEqual(new Array(16).fill(9));
    lock.release();
    expect(lock.holder).toBe(0);
  });

  it("refuses to be acquired again by its holder (any handle of the same seat) instead of deadlocking", () => {
    const { space, table, lock } = setup();
    lock.acquire();
    expect(() => lock.acquire()).toThrow(AllocatorError);
    expect(() => lock.acquire()).toThrow(/not re-entrant/);
    const sameSeat = new SharedLock(space, LOCK, 8, { thread: lock.thread! });
    expect(() => sameSeat.acquire()).toThrow(/already holds it/);
    expect(() => sameSeat.tryAcquire()).toThrow(/already holds it/);
    lock.release();
    expect(() => lock.release()).toThrow(/does not hold it/);
    const anon1 = new SharedLock(space, LOCK, 8);
    const anon2 = new SharedLock(space, LOCK, 8);
    expect(anon1.holderId).toBe(anon2.holderId); // one anonymous id per thread
    anon1.acquire();
    expect(() => anon2.acquire()).toThrow(/anonymous holder/);
    anon1.release();
    expect(table.stateOf(0)).toBe(1);
  });

  it("takes over from a dead holder: the logged words come back newest-first, a range as one entry", () => {
    const { space, table, lock } = setup(16);
    const u32 = space.u32;
    u32.set([10, 11, 12, 13], DATA);
    u32.fill(7, DATA + 8, DATA + 40);
    lock.acquire();
    lock.write(u32, DATA, 100);
    lock.write(u32, DATA, 200);
    lock.fill(u32, DATA + 8, 32, 1);
    lock.write(u32, DATA + 3, 300);
    // The holder's thread is gone: another thread takes over.
    const seat = lock.thread!;
    const other = new SharedLock(space, LOCK, 16, { thread: table.claim("b") });
    expect(other.tryAcquire()).toBe(false); // live: never robbed
    table.declareDead(seat.slot, seat.generation);
    other.acquire();
    expect(Array.from(u32.subarray(DATA, DATA + 4))).toEqual([10, 11, 12, 13]);
    expect(u32.subarray(DATA + 8, DATA + 40).every((w) => w === 7)).toBe(true);
    expect(other.takeovers).toBe(1);
    other.release();
  });

  it("a damaged log of a dead holder is a CorruptionError for every taker, and writes nothing", () => {
    const { space, table, lock } = setup();
    const u32 = space.u32;
    lock.acquire();
    lock.write(u32, DATA, 5);
    u32[(LOCK >>> 2) + 6] = 0x3fff_fff0; // the entry's word index: outside the space
    table.declareDead(lock.thread!.slot, lock.thread!.generation);
    const other = new SharedLock(space, LOCK, 8, { thread: table.claim("b"), words: [0, (1 << 20) >>> 2] });
    expect(() => other.acquire()).toThrow(/names words .* outside/);
    expect(() => other.acquire()).toThrow(CorruptionError);
    expect(u32[DATA]).toBe(5);
  });

  it("refuses bad options with typed errors", () => {
    const { space, table } = setup();
    expect(() => new SharedLock(space, LOCK + 4, 8)).toThrow(InvalidArgumentError);
    expect(() => new SharedLock(space, LOCK, 1)).toThrow(InvalidArgumentError);
    expect(() => new SharedLock(space, (1 << 16) - 8, 8)).toThrow(/run past/);
    expect(() => new SharedLock(space, LOCK, 8, { thread: { slot: 0 } as never })).toThrow(InvalidArgumentError);
    const elsewhere = ThreadTable.create(space, 16384);
    expect(() => new SharedLock(space, LOCK, 8, { thread: elsewhere.claim("x") })).toThrow(/come from the thread table at 0x00000400/);
    space.u32[(LOCK >>> 2) + 1] = 9;
    expect(() => new SharedLock(space, LOCK, 8, { thread: table.claim("y") })).toThrow(CorruptionError);
  });
});
