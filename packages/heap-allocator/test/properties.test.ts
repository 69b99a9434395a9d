import { DoubleFreeError, InvalidPointerError } from "@memkit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeRig } from "./helpers.js";
import { fill, verify, verifyDisjoint, type Held } from "./pattern-blocks.js";

type Op =
  | { kind: "alloc"; size: number; alignLog: number }
  | { kind: "free"; pick: number }
  | { kind: "realloc"; pick: number; size: number; alignLog: number }
  | { kind: "interior"; pick: number; offset: number }
  | { kind: "refree"; pick: number };

const size = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 256 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 8192 }) },
  { weight: 1, arbitrary: fc.integer({ min: 8192, max: 80_000 }) },
);
const alignLog = fc.oneof({ weight: 6, arbitrary: fc.constant(3) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 16 }) });
const pick = fc.nat();
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size, alignLog }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("free" as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("realloc" as const), pick, size, alignLog }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("interior" as const), pick, offset: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("refree" as const), pick }) },
);

/**
 * Runs `ops` against a heap and a model (ptr -> size asked, pattern id),
 * checking after every step: contents, no overlap, exact rejections that
 * change nothing, counters, and every heap invariant.
 */
function runAgainstModel(ops: Op[], spanBytes: number): void {
  const { heap, pages } = makeRig({ spanBytes, pageSize: 1024, maximumBytes: 32 << 20 });
  const model = new Map<number, Held>();
  const freed: number[] = [];
  let nextId = 1;
  const held = (n: number): Held | undefined => {
    if (model.size === 0) return undefined;
    return [...model.values()][n % model.size];
  };
  for (const o of ops) {
    switch (o.kind) {
      case "alloc": {
        const align = 2 ** o.alignLog;
        const ptr = heap.allocate(o.size, align);
        expect(ptr % Math.max(align, 8)).toBe(0);
        expect(model.has(ptr)).toBe(false);
        expect(heap.allocatedSize(ptr)).toBeGreaterThanOrEqual(o.size);
        expect(pages.tagOf(ptr) >>> 24).toBe(heap.ownerId);
        const b = { ptr, size: o.size, id: nextId++ };
        fill(heap, ptr, b.size, b.id);
        model.set(ptr, b);
        break;
      }
      case "free": {
        const b = held(o.pick);
        if (b === undefined) break;
        verify(heap, b.ptr, b.size, b.id);
        heap.deallocate(b.ptr);
        model.delete(b.ptr);
        freed.push(b.ptr);
        break;
      }
      case "realloc": {
        const b = held(o.pick);
        if (b === undefined) break;
        const align = 2 ** o.alignLog;
        const ptr = heap.reallocate(b.ptr, o.size, align);
        expect(ptr % Math.max(align, 8)).toBe(0);
        verify(heap, ptr, Math.min(b.size, o.size), b.id);
        model.delete(b.ptr);
        if (ptr !== b.ptr) freed.push(b.ptr);
        const moved = { ptr, size: o.size, id: nextId++ };
        fill(heap, ptr, moved.size, moved.id);
        model.set(ptr, moved);
        break;
      }
      case "interior": {
        const b = held(o.pick);
        if (b === undefined) break;
        const usable = heap.allocatedSize(b.ptr);
        if (usable < 2) break;
        const bad = b.ptr + 1 + (o.offset % (usable - 1));
        const before = heap.stats();
        expect(heap.owns(bad)).toBe(false);
        expect(() => heap.deallocate(bad)).toThrow(InvalidPointerError);
        expect(() => heap.reallocate(bad, 8)).toThrow(InvalidPointerError);
        expect(heap.stats()).toEqual(before);
        break;
      }
      case "refree": {
        if (freed.length === 0) break;
        const ptr = freed[o.pick % freed.length]!;
        if (model.has(ptr)) break; // handed out again since
        const before = heap.stats();
        let code = "";
        try {
          heap.deallocate(ptr);
        } catch (err) {
          expect(err instanceof DoubleFreeError || err instanceof InvalidPointerError).toBe(true);
          code = (err as DoubleFreeError).code;
        }
        expect(code).not.toBe("");
        expect(heap.stats()).toEqual(before);
        break;
      }
    }
    heap.check();
    const s = heap.stats();
    expect(s.liveCount).toBe(model.size);
  }
  for (const b of model.values()) verify(heap, b.ptr, b.size, b.id);
  verifyDisjoint(model.values());
  for (const b of model.values()) heap.deallocate(b.ptr);
  heap.check();
  expect(heap.stats().liveBytes).toBe(0);
  pages.check();
}

describe("HeapAllocator against a model", () => {
  it("random operation sequences keep contents, never overlap, and pass check() after every step", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 150 }), (ops) => runAgainstModel(ops, 16 << 10)),
      { numRuns: 150 },
    );
  });

  it("the same with one large span (no leasing)", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 150 }), (ops) => runAgainstModel(ops, 4 << 20)),
      { numRuns: 60 },
    );
  });
});
