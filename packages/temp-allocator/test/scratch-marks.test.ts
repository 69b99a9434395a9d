// Marks of a scratch allocator: taken, released, nested, checked, and encoded as small integers.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "@memkit/core";
import { ScratchAllocator, type ScratchMark } from "@memkit/temp-allocator";
import { catchError, expectIntact, hold, makePages, scratchRig } from "./helpers.js";

describe("ScratchAllocator marks", () => {
  it("release frees everything allocated after the mark and nothing before", () => {
    const { scratch } = scratchRig();
    const before = hold(scratch, scratch.allocate(100), 100);
    const m = scratch.mark();
    expect(typeof m).toBe("number");
    const after: number[] = [];
    for (let i = 0; i < 50; i++) after.push(scratch.allocate(200));
    expect(scratch.stats().liveCount).toBe(51);
    scratch.release(m);
    expect(scratch.stats()).toMatchObject({ liveCount: 1, liveBytes: 100, freeCount: 50 });
    for (const p of after) expect(scratch.owns(p)).toBe(false);
    expectIntact(scratch, before);
    // The stack reuses the memory right after the kept block.
    expect(scratch.allocate(200)).toBe(after[0]);
    scratch.check();
  });

  it("nests: inner marks release first, the outer release drops inner marks", () => {
    const { scratch } = scratchRig();
    const m1 = scratch.mark();
    const a = scratch.allocate(8);
    const m2 = scratch.mark();
    const b = scratch.allocate(8);
    const m3 = scratch.mark();
    scratch.allocate(8);
    expect(scratch.markDepth).toBe(3);
    scratch.release(m3);
    expect(scratch.owns(b)).toBe(true);
    scratch.release(m1);
    expect(scratch.markDepth).toBe(0);
    expect(scratch.owns(a)).toBe(false);
    // m2 was dropped by releasing m1 (taken after it).
    const err = catchError(() => scratch.release(m2));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/not live here/);
    scratch.check();
  });

  it("refuses a mark released twice, an invalidated one, a foreign one and non-marks, and keeps working", () => {
    const { scratch, pages } = scratchRig();
    const keep = hold(scratch, scratch.allocate(64), 64);
    const m = scratch.mark();
    scratch.allocate(10);
    scratch.release(m);
    expect(() => scratch.release(m)).toThrow(InvalidArgumentError);
    // A new mark lands in the same slot: the old value still does not match.
    const fresh = scratch.mark();
    expect(() => scratch.release(m)).toThrow(InvalidArgumentError);
    const other = new ScratchAllocator(pages);
    const foreign = other.mark();
    const err = catchError(() => scratch.release(foreign));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain("another ScratchAllocator");
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60, "x" as unknown as number]) {
      expect(() => scratch.release(bad as ScratchMark)).toThrow(InvalidArgumentError);
    }
    // A mark from before a reset is stale too.
    scratch.reset();
    expect(() => scratch.release(fresh)).toThrow(InvalidArgumentError);
    const keep2 = hold(scratch, scratch.allocate(64), 64);
    expect(keep2.ptr).toBe(keep.ptr);
    expect(scratch.stats().liveCount).toBe(1);
    expectIntact(scratch, keep2);
    scratch.check();
  });

  it("reset frees every block and every mark, keeps one chunk and makes the rest spares", () => {
    const { scratch, backing } = scratchRig(4096);
    const first = scratch.allocate(100);
    scratch.mark();
    for (let i = 0; i < 40; i++) scratch.allocate(1000);
    const reserved = scratch.stats().reservedBytes;
    expect(reserved).toBeGreaterThan(4096 * 5);
    scratch.reset();
    expect(scratch.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, freeCount: 41, reservedBytes: reserved });
    expect(scratch.markDepth).toBe(0);
    expect(scratch.allocate(100)).toBe(first);
    // The same workload again reuses the spares: no backing calls.
    const calls = backing.allocateCalls;
    for (let i = 0; i < 40; i++) scratch.allocate(1000);
    expect(backing.allocateCalls).toBe(calls);
    scratch.check();
  });

  it("withMark releases after the body, also when it throws", () => {
    const { scratch } = scratchRig();
    const result = scratch.withMark(() => {
      scratch.allocate(100);
      return 7;
    });
    expect(result).toBe(7);
    expect(scratch.stats().liveCount).toBe(0);
    expect(() =>
      scratch.withMark(() => {
        scratch.allocate(100);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(scratch.stats().liveCount).toBe(0);
    expect(scratch.markDepth).toBe(0);
  });

  it("a mark taken before the first chunk releases to an empty stack", () => {
    const { scratch } = scratchRig(4096);
    const m = scratch.mark();
    for (let i = 0; i < 10; i++) scratch.allocate(1000);
    scratch.release(m);
    expect(scratch.stats().liveCount).toBe(0);
    scratch.check();
    const p = scratch.allocate(8);
    expect(scratch.owns(p)).toBe(true);
  });
});


describe("ScratchAllocator mark encoding", () => {
  it("keeps every mark a small integer (below 2^30) however many are taken, and refuses the 1,025th nested mark", () => {
    const scratch = new ScratchAllocator(makePages());
    for (let i = 0; i < 3000; i++) {
      const m = scratch.mark();
      expect(m).toBeLessThan(2 ** 30);
      expect(m).toBeGreaterThan(0);
      scratch.release(m);
    }
    const held: ScratchMark[] = [];
    for (let i = 0; i < 1024; i++) held.push(scratch.mark());
    expect(() => scratch.mark()).toThrow(/1,024 marks are live at once/);
    scratch.release(held[0]!);
    expect(() => scratch.release(held[1]!)).toThrow(/not live here/);
    scratch.destroy();
  });
});
