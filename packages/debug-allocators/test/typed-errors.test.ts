import { describe, expect, it } from "vitest";
import { AllocatorError, CorruptionError, DestroyedError, InvalidPointerError, OutOfMemoryError, hex, type Allocator } from "@memkit/core";
import { TraceAllocator, type BudgetWarning } from "@memkit/trace-allocator";
import { CanaryAllocator, EndOfPageAllocator, FillAllocator, QuarantineAllocator, debugWrap } from "../src/index.js";
import { catchError, holdsPattern, makePages, writePattern } from "./support/fixtures.js";

type Wrapper = Allocator & { check(): void; destroy(): void; originOf(ptr: number): unknown };

const kinds: [string, (backing: Allocator) => Wrapper][] = [
  ["CanaryAllocator", (b) => new CanaryAllocator(b)],
  ["EndOfPageAllocator", (b) => new EndOfPageAllocator(b)],
  ["FillAllocator", (b) => new FillAllocator(b)],
  ["QuarantineAllocator", (b) => new QuarantineAllocator(b)],
  ["debugWrap", (b) => debugWrap(b)],
];

describe.each(kinds)("%s", (_name, make) => {
  it("allocatedSize(0) is an InvalidPointerError, not another block's size", () => {
    const w = make(makePages());
    const p = w.allocate(24);
    const err = catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => w.allocatedSize(0));
    expect(err.message).toContain("0x00000000");
    expect(w.owns(0)).toBe(false);
    w.deallocate(0); // the contract's no-op
    expect(w.allocatedSize(p)).toBeGreaterThanOrEqual(24);
    w.deallocate(p);
    w.check();
  });

  it.each([
    ["a BigInt", 16n],
    ["a Symbol", Symbol("p")],
  ])("%s anywhere a number is expected is an AllocatorError (never a TypeError); nothing is harmed", (_what, bad) => {
    const w = make(makePages());
    const p = w.allocate(40);
    writePattern(w, p, 40, 9);
    const b = bad as never;
    for (const call of [() => w.allocate(b), () => w.allocate(8, b), () => w.deallocate(b), () => w.reallocate(b, 8), () => w.reallocate(p, b), () => w.reallocate(p, 8, b), () => w.allocatedSize(b)]) {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(caught, String(caught)).toBeInstanceOf(AllocatorError);
    }
    expect(w.owns(b)).toBe(false);
    expect(w.originOf(b)).toBeUndefined();
    expect(holdsPattern(w, p, 40, 9)).toBe(true);
    w.check();
    w.deallocate(p);
  });

  it("use after destroy is a DestroyedError", () => {
    const w = make(makePages());
    const p = w.allocate(16);
    w.deallocate(p);
    w.destroy();
    for (const call of [() => w.allocate(8), () => w.deallocate(p), () => w.reallocate(0, 8), () => w.allocatedSize(p), () => w.check()]) {
      const err = catchError(DestroyedError, "ERR_DESTROYED", call);
      expect(err.message).toContain("was destroyed");
    }
  });
});

describe("out-of-memory messages name the exact size asked", () => {
  it.each([
    ["CanaryAllocator", (b: Allocator) => new CanaryAllocator(b), "with its guards"],
    ["EndOfPageAllocator", (b: Allocator) => new EndOfPageAllocator(b), "with its guards"],
  ])("%s: the size asked, and the guarded size the backing could not give", (_name, make, note) => {
    const w = make(makePages(256, 1 << 20));
    const err = catchError(OutOfMemoryError, "ERR_OUT_OF_MEMORY", () => w.allocate(2_000_001));
    expect(err.message).toMatch(new RegExp(`cannot allocate 2,000,001 B \\(1\\.91 MiB\\) \\(align 8; [\\d,]+ B \\(1\\.91 MiB\\) ${note}\\)`));
    w.check();
  });
});

describe("debugWrap over a scope whose budget hook re-enters the stack", () => {
  it.each([
    ["without quarantine (the freed address is reused at once)", false],
    ["with quarantine", true],
  ])("a hook that frees the block being resized, %s: reallocate is refused, the new block is given back, every check passes", (_name, quarantine) => {
    const pages = makePages();
    const hooks: ((w: BudgetWarning) => void)[] = [];
    const root = new TraceAllocator(pages, { onBudgetWarning: (w) => hooks.shift()?.(w) });
    const ai = root.child("ai");
    const heap = debugWrap(ai, quarantine ? {} : { quarantine: false });
    // The stack's own state is leased from the scope: the budget counts from there.
    ai.setBudget({ bytes: ai.stats().liveBytes + 200, onExceed: "warn" });
    const p = heap.allocate(40);
    hooks.push(() => heap.deallocate(p));
    const err = catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => heap.reallocate(p, 400));
    expect(err.message).toContain(hex(p));
    expect(err.message).toContain("was freed while it was being resized");
    expect(heap.stats()).toMatchObject({ liveCount: 0, liveBytes: 0 });
    heap.check();
    heap.flush();
    root.check();
    heap.destroy(); // the stack's own state is leased from the scope too
    expect(ai.stats().liveCount).toBe(0);
  });
});

describe("debugWrap.reallocate checks the guards before it moves the block", () => {
  it("a broken guard is a CorruptionError and nothing changes", () => {
    const heap = debugWrap(makePages());
    const p = heap.allocate(24);
    writePattern(heap, p, 24, 1);
    heap.space.u8[p + 24] = 0;
    const err = catchError(CorruptionError, "ERR_CORRUPTION", () => heap.reallocate(p, 100));
    expect(err.message).toContain("guard byte after the block changed at +24");
    expect(heap.owns(p)).toBe(true);
    expect(holdsPattern(heap, p, 24, 1)).toBe(true);
    heap.space.u8[p + 24] = 0xfd;
    heap.deallocate(heap.reallocate(p, 100));
    heap.check();
  });
});
