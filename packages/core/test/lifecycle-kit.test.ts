import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, SpaceHandle, SpaceViews } from "@memkit/core";
import { ContractViolation, contractChecks, describeAllocatorContract, resolveOptions, runAttachMutations, type ContractSubject } from "@memkit/core/testing";
import { TinyPool, type PoolBugs } from "./fixtures/tiny-pool.js";

const CONTROL = 1024;
const BASE = 65536;

function pool(bugs: PoolBugs = {}, space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 })): ContractSubject & { pool: TinyPool } {
  const p = new TinyPool(space, CONTROL, { blockSize: 1024, capacity: 900, base: BASE }, bugs);
  return {
    pool: p,
    allocator: p,
    check: () => p.check(),
    dispose: () => p.destroy(),
    destroy: () => p.destroy(),
    attach: () => {
      const second = TinyPool.attach(space, CONTROL, bugs);
      return { allocator: second, check: () => second.check(), dispose: () => second.detach() };
    },
  };
}

// The pool keeps the whole contract; a pool serves blocks up to 1 KiB, 1 KiB-aligned.
describeAllocatorContract("TinyPool", () => pool(), { maxAlign: 1024, maxBlockSize: 1024, liveBlocks: 800, randomLive: 400, randomOps: 20_000, tooLargeSize: 1025 });

describe("the lifecycle checks catch broken handles", () => {
  const o = resolveOptions({ maxAlign: 1024, maxBlockSize: 1024 });
  it("a second handle that keeps its counters in JS fails attach", () => {
    expect(() => contractChecks.attach(() => pool({ countersInJs: true }), o)).toThrow(/the handles disagree on live blocks/);
  });

  it("an untyped error after destroy fails after-destroy", () => {
    expect(() => contractChecks["after-destroy"](() => pool({ untypedAfterDestroy: true }), o)).toThrow(ContractViolation);
    expect(() => contractChecks["after-destroy"](() => pool({ untypedAfterDestroy: true }), o)).toThrow(/expected DestroyedError \(ERR_DESTROYED\), got Error/);
  });

  it("a destroyed pool refuses new handles, and a detached handle leaves the pool working", () => {
    const subject = pool();
    const p = subject.pool.allocate(10);
    const second = TinyPool.attach(subject.pool.space, CONTROL);
    second.detach();
    expect(() => second.allocate(8)).toThrow(DestroyedError);
    expect(subject.pool.owns(p)).toBe(true);
    subject.pool.destroy();
    expect(() => TinyPool.attach(subject.pool.space, CONTROL)).toThrow(/was destroyed/);
  });

  it("lookup finds this thread's live handle on a control block; destroying through one handle ends them all", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
    const first = new TinyPool(space, CONTROL, { blockSize: 64, capacity: 100, base: BASE });
    const second = TinyPool.attach(space, CONTROL);
    expect(SpaceHandle.lookup(space, CONTROL, TinyPool)).toBe(first);
    expect(SpaceHandle.lookup(space, CONTROL + 64, TinyPool)).toBeUndefined();
    second.detach();
    expect(SpaceHandle.lookup(space, CONTROL, TinyPool)).toBe(first);
    const third = TinyPool.attach(space, CONTROL);
    third.destroy();
    expect(first.alive).toBe(false);
    expect(() => first.allocate(8)).toThrow(DestroyedError);
    expect(SpaceHandle.lookup(space, CONTROL, TinyPool)).toBeUndefined();
  });

  it("a handle follows growth through the shared views and stops following once it ends", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 4 << 20 });
    const views = SpaceViews.of(space);
    const before = views.holderCount;
    const p = new TinyPool(space, CONTROL, { blockSize: 64, capacity: 100, base: BASE });
    expect(views.holderCount).toBe(before + 1);
    const a = p.allocate(64);
    space.grow(1 << 20);
    const b = p.allocate(64);
    p.deallocate(a);
    p.check();
    p.deallocate(b);
    p.destroy();
    expect(views.holderCount).toBe(before);
  });
});

describe("runAttachMutations", () => {
  const target = (bugs: PoolBugs = {}) => ({
    build(seed: number) {
      const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
      const p = new TinyPool(space, CONTROL, { blockSize: 256, capacity: 64, base: BASE });
      const live: [number, number][] = [];
      for (let i = 0; i < 20 + (seed % 20); i++) live.push([p.allocate(200), 256]);
      for (let i = 0; i < live.length; i += 3) p.deallocate(live[i]![0]);
      const kept = live.filter((_, i) => i % 3 !== 0);
      p.detach();
      return { space, controlPtr: CONTROL, regions: [[CONTROL, CONTROL + TinyPool.controlBytes(64)]] as const, live: kept, reserved: [[CONTROL, CONTROL + TinyPool.controlBytes(64)]] as const };
    },
    attach(space: AddressSpace, ptr: number) {
      const p = TinyPool.attach(space, ptr, bugs);
      return { allocator: p, check: () => p.check() };
    },
  });

  it("a pool that checks what it reads ends every damaged case safely", () => {
    const outcome = runAttachMutations(target(), { cases: 240 });
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(240);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
    expect(Object.values(outcome.byKind)).toEqual([60, 60, 60, 60]);
  });

  it("a pool that trusts its state words is caught handing out a live block or a block past its pool", () => {
    // Without the attach checks a damaged bump or free head is only found when it hands out a bad block.
    const trusting = target({ trustingAttach: true });
    const noCheck = { ...trusting, attach: (space: AddressSpace, ptr: number) => ({ allocator: TinyPool.attach(space, ptr, { trustingAttach: true }), check: () => undefined }) };
    expect(() => runAttachMutations(noCheck, { cases: 240 })).toThrow(ContractViolation);
  });

  it("a non-Corruption error at attach is a violation", () => {
    const wrong = { ...target(), attach: () => {
      throw new TypeError("x is undefined");
    } };
    expect(() => runAttachMutations(wrong, { cases: 4 })).toThrow(/attach threw TypeError/);
    const right = { ...target(), attach: () => {
      throw new CorruptionError("damaged");
    } };
    expect(runAttachMutations(right, { cases: 4 }).refusedAtAttach).toBe(4);
  });
});
