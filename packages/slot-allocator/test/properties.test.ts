import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DoubleFreeError, InvalidPointerError, OutOfMemoryError } from "@memkit/core";
import { fillPattern, findPatternMismatch } from "@memkit/core/testing";
import { sizeClasses } from "@memkit/slot-allocator";
import { makeRig } from "./helpers.js";

const CLASSES = sizeClasses(1024);

/** The model's class choice: the smallest class holding size that is a multiple of align (when align > 8), or undefined. */
function modelClass(size: number, align: number): number | undefined {
  return CLASSES.find((c) => c >= Math.max(size, 1) && (align <= 8 || c % align === 0));
}

type Op =
  | { kind: "alloc"; size: number; alignLog: number }
  | { kind: "free"; pick: number }
  | { kind: "realloc"; pick: number; size: number }
  | { kind: "doubleFree"; pick: number }
  | { kind: "interior"; pick: number; offset: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("alloc" as const), size: fc.oneof(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 0, max: 64 })), alignLog: fc.oneof(fc.constant(3), fc.integer({ min: 0, max: 11 })) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("realloc" as const), pick: fc.nat(), size: fc.integer({ min: 0, max: 1100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("doubleFree" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("interior" as const), pick: fc.nat(), offset: fc.nat() }) },
);

interface Block {
  ptr: number;
  size: number;
  slot: number;
  id: number;
}

describe("SlotAllocator against a JS model", () => {
  it("agrees on pointers, sizes, errors and stats for any sequence of operations", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 4 }), (ops, keepEmptySlabs) => {
        const rig = makeRig({ keepEmptySlabs, pageSize: 4096, slabBytes: 8192 });
        const { slots } = rig;
        try {
          const live: Block[] = [];
          const freed: number[] = [];
          let allocs = 0;
          let frees = 0;
          let nextId = 1;
          const liveBytes = (): number => live.reduce((sum, b) => sum + b.slot, 0);
          for (const op of ops) {
            switch (op.kind) {
              case "alloc": {
                const align = 2 ** op.alignLog;
                const slot = modelClass(op.size, align);
                if (slot === undefined || op.size > 1024) {
                  expect(() => slots.allocate(op.size, align)).toThrow(OutOfMemoryError);
                  break;
                }
                const ptr = slots.allocate(op.size, align);
                expect(ptr % align).toBe(0);
                expect(slots.allocatedSize(ptr)).toBe(slot);
                for (const b of live) expect(ptr + slot <= b.ptr || b.ptr + b.slot <= ptr).toBe(true);
                const block = { ptr, size: op.size, slot, id: nextId++ };
                fillPattern(slots, ptr, slot, block.id);
                live.push(block);
                allocs++;
                break;
              }
              case "free": {
                if (live.length === 0) break;
                const [b] = live.splice(op.pick % live.length, 1);
                expect(findPatternMismatch(slots, b!.ptr, b!.slot, b!.id)).toBe(-1);
                slots.deallocate(b!.ptr);
                freed.push(b!.ptr);
                frees++;
                break;
              }
              case "realloc": {
                if (live.length === 0) break;
                const b = live[op.pick % live.length]!;
                const slot = modelClass(op.size, 8);
                if (slot === undefined || op.size > 1024) {
                  expect(() => slots.reallocate(b.ptr, op.size)).toThrow(OutOfMemoryError);
                  break;
                }
                const ptr = slots.reallocate(b.ptr, op.size);
                expect(slots.allocatedSize(ptr)).toBe(slot);
                if (slot === b.slot) expect(ptr).toBe(b.ptr);
                expect(findPatternMismatch(slots, ptr, Math.min(slot, b.slot), b.id)).toBe(-1);
                if (ptr !== b.ptr) {
                  allocs++;
                  frees++;
                  freed.push(b.ptr);
                }
                b.ptr = ptr;
                b.slot = slot;
                b.size = op.size;
                b.id = nextId++;
                fillPattern(slots, ptr, slot, b.id);
                break;
              }
              case "doubleFree": {
                const candidates = freed.filter((p) => !live.some((b) => b.ptr === p));
                if (candidates.length === 0) break;
                const p = candidates[op.pick % candidates.length]!;
                expect(slots.owns(p)).toBe(false);
                expect(() => slots.deallocate(p)).toThrow(DoubleFreeError);
                break;
              }
              case "interior": {
                if (live.length === 0) break;
                const b = live[op.pick % live.length]!;
                const p = b.ptr + 1 + (op.offset % (b.slot - 1));
                expect(slots.owns(p)).toBe(false);
                expect(() => slots.deallocate(p)).toThrow(InvalidPointerError);
                expect(() => slots.allocatedSize(p)).toThrow(InvalidPointerError);
                break;
              }
            }
            const s = slots.stats();
            expect([s.liveCount, s.liveBytes, s.allocCount, s.freeCount]).toEqual([live.length, liveBytes(), allocs, frees]);
            expect(s.peakLiveBytes).toBeGreaterThanOrEqual(s.liveBytes);
          }
          slots.check();
          for (const b of live) expect(findPatternMismatch(slots, b.ptr, b.slot, b.id)).toBe(-1);
          for (const b of live.splice(0)) slots.deallocate(b.ptr);
          slots.check();
          // Everything freed: at most the current slabs, the slab holding the parked slot and the spares remain.
          const r = slots.storageReport();
          expect(r.usedBytes).toBe(0);
        } finally {
          rig.dispose();
        }
      }),
      { numRuns: 150, seed: 0x51075 },
    );
  });

  it("chooses the smallest class that holds the size and guarantees the alignment, for every size and align", () => {
    const { slots, dispose } = makeRig();
    try {
      for (let align = 1; align <= 2048; align *= 2) {
        for (let size = 0; size <= 1025; size++) {
          const slot = modelClass(size, align);
          if (slot === undefined || size > 1024) {
            expect(() => slots.allocate(size, align)).toThrow(OutOfMemoryError);
            continue;
          }
          const p = slots.allocate(size, align);
          expect(p % align).toBe(0);
          expect(slots.allocatedSize(p)).toBe(slot);
          slots.deallocate(p);
        }
      }
      slots.check();
    } finally {
      dispose();
    }
  });
});
