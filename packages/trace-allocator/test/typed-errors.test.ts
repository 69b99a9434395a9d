import { describe, expect, it } from "vitest";
import { AllocatorError, DestroyedError, OutOfMemoryError, formatSize, type Allocator } from "@memkit/core";
import { fillPattern, findPatternMismatch } from "@memkit/core/testing";
import { TraceAllocator, type TracingLevel } from "../src/index.js";
import { makePages, makeRoot, thrown } from "./helpers.js";

/** A value no entry point may answer with a TypeError. */
const hostile: [string, unknown][] = [
  ["a BigInt", 16n],
  ["a Symbol", Symbol("p")],
];

function expectTyped(fn: () => unknown, code?: string): void {
  let err: unknown;
  try {
    fn();
    return; // queries may answer false/undefined instead
  } catch (e) {
    err = e;
  }
  expect(err, String(err)).toBeInstanceOf(AllocatorError);
  if (code !== undefined) expect((err as AllocatorError).code).toBe(code);
}

describe.each<TracingLevel>(["counts", "callstacks", "off"])('typed errors for BigInt and Symbol arguments, tracing "%s"', (tracing) => {
  it.each(hostile)("%s anywhere a number is expected is an AllocatorError (never a TypeError), and the tree still works", (_what, bad) => {
    const { root } = makeRoot({ tracing });
    const scope = root.child("ai", { budget: tracing === "off" ? undefined : 1 << 20 });
    const p = scope.allocate(100);
    fillPattern(scope, p, 100, 2);
    const b = bad as never;
    expectTyped(() => scope.allocate(b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.allocate(8, b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.allocateZeroed(b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.deallocate(b));
    expectTyped(() => scope.reallocate(b, 8));
    expectTyped(() => scope.reallocate(p, b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.reallocate(p, 8, b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.allocatedSize(b));
    expect(scope.owns(b)).toBe(false);
    expect(root.scopeOf(b)).toBeUndefined();
    expect(root.originOf(b)).toBeUndefined();
    expectTyped(() => root.markFrame(b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.setBudget(b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.child("x", { budget: b }), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.disposeAllowingLeaks(b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.setTracing(tracing, b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.resetPeak(b), "ERR_INVALID_ARGUMENT");
    expectTyped(() => scope.child(b), "ERR_INVALID_ARGUMENT");
    if (tracing !== "off") {
      expectTyped(() => scope.retain(b));
      expectTyped(() => scope.unretain(b));
    }
    expectTyped(() => scope.foldedStacks({ metric: b }), "ERR_INVALID_ARGUMENT");
    // Nothing was harmed.
    expect(findPatternMismatch(scope, p, 100, 2)).toBe(-1);
    root.check();
    scope.deallocate(p);
    scope.dispose();
    root.check();
  });
});

describe("use after dispose and after destroy is DestroyedError (ERR_DESTROYED)", () => {
  it.each<TracingLevel>(["counts", "callstacks", "off"])('a disposed scope refuses new work, tracing "%s"', (tracing) => {
    const { root } = makeRoot({ tracing });
    const level = root.child("level");
    level.dispose();
    for (const call of [() => level.allocate(8), () => level.allocateZeroed(8), () => level.reallocate(0, 8), () => level.child("x"), () => level.setBudget(10), () => level.setTracing(tracing)]) {
      const err = thrown(call);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(err.code).toBe("ERR_DESTROYED");
      expect(err.message).toMatch(/^root\/level\.\w+: this scope was disposed; create a new scope/);
    }
  });

  it("a destroyed tree refuses every call in every scope with DestroyedError; its state went back to the backing", () => {
    const { root, pages } = makeRoot();
    const ai = root.child("ai");
    const p = ai.allocate(40);
    const before = pages.stats().liveCount;
    const overhead = root.overhead.blocks;
    root.destroy();
    const calls = [
      () => ai.allocate(8),
      () => root.allocate(8, 64),
      () => ai.deallocate(p),
      () => ai.reallocate(p, 80),
      () => ai.allocatedSize(p),
      () => ai.child("x"),
      () => root.check(),
      () => root.report(),
      () => ai.foldedStacks(),
      () => root.labelId("x"),
      () => root.markFrame(3),
    ];
    for (const call of calls) {
      const err = thrown(call);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(err.message).toContain("the scope tree was destroyed");
    }
    expect(ai.owns(p)).toBe(false);
    // The block the tree left live stays with the backing; the tree's own blocks went back.
    expect(pages.stats().liveCount).toBe(before - overhead);
    expect(pages.owns(p - 8)).toBe(true);
  });
});

describe("out-of-memory messages name the exact size asked", () => {
  it("a budget refusal, a size past the largest allocation, and a backing that is out of memory", () => {
    const { root } = makeRoot({}, 8 << 20);
    const physics = root.child("physics", { budget: 64 << 20 });
    const budget = thrown(() => physics.allocate(67_112_961));
    expect(budget).toBeInstanceOf(OutOfMemoryError);
    expect(budget.message).toContain(`allocating ${formatSize(67_112_961)} would exceed the budget`);
    expect(budget.message).toContain("67,112,961 B (64.0 MiB)");
    const huge = thrown(() => root.allocate(0xffff_fffc));
    expect(huge).toBeInstanceOf(OutOfMemoryError);
    expect(huge.message).toContain(`cannot allocate ${formatSize(0xffff_fffc)} (align 8)`);
    const backing = thrown(() => root.allocate(9_000_001));
    expect(backing).toBeInstanceOf(OutOfMemoryError);
    expect(backing.message).toMatch(/^root: cannot allocate 9,000,001 B \(8\.58 MiB\) \(9,000,009 B \(8\.58 MiB\) with the 8-byte trace header\), align 8: /);
    root.check();
  });
});

describe("allocateZeroed", () => {
  it.each<TracingLevel>(["counts", "off"])('gives a block of zeros even where the memory held old bytes, tracing "%s"', (tracing) => {
    const pages = makePages();
    const root = new TraceAllocator(pages, { tracing });
    const first = root.allocate(200);
    root.space.u8.fill(0xab, first, first + 200);
    root.deallocate(first);
    const dirty = root.allocate(200);
    expect(dirty).toBe(first); // the page allocator hands the same span out again, bytes and all
    expect(root.space.u8[dirty + 10]).toBe(0xab);
    root.deallocate(dirty);
    const zeroed = root.allocateZeroed(200, 16);
    expect(zeroed % 16).toBe(0);
    expect(root.space.u8.subarray(zeroed, zeroed + 200).every((b) => b === 0)).toBe(true);
    expect(root.stats()).toMatchObject({ liveCount: 1 });
    root.deallocate(zeroed);
    root.check();
  });

  it("is a method of every scope (callable where an Allocator is expected to have it)", () => {
    const { root } = makeRoot();
    const zero: (size: number, align?: number) => number = root.child("a").allocateZeroed.bind(root.getChild("a")!);
    const p = zero(24);
    expect((root.getChild("a") as Allocator).owns(p)).toBe(true);
    root.getChild("a")!.deallocate(p);
  });
});
