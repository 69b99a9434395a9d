import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { InvalidArgumentError } from "@memkit/core";
import { StaleHandleError } from "@memkit/containers";
import { setup, fill, mismatch } from "./support/setup.js";

type Op =
  | { op: "create"; size: number }
  | { op: "free"; pick: number }
  | { op: "pin"; pick: number }
  | { op: "unpin"; pick: number }
  | { op: "resize"; pick: number; size: number }
  | { op: "compact"; budget: number | undefined }
  | { op: "allocate"; size: number }
  | { op: "reallocate"; pick: number; size: number };

const size = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 65, max: 3000 }), fc.integer({ min: 16_000, max: 40_000 }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("create" as const), size }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("pin" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("unpin" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("resize" as const), pick: fc.nat(), size }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("allocate" as const), size }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reallocate" as const), pick: fc.nat(), size }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("compact" as const), budget: fc.option(fc.oneof(fc.integer({ min: 8, max: 600 }), fc.integer({ min: 601, max: 20_000 })), { nil: undefined, freq: 4 }) }) },
);

interface Live {
  handle: number;
  /** Allocated through the pointer API: anchored, so its address never changes but through reallocate. */
  ptr: number;
  size: number;
  id: number;
  pins: number;
  /** The address it was pinned at (a pinned block never moves). */
  pinnedAt: number;
}

describe("RelocatableAllocator under random sequences (fast-check)", () => {
  it("every block keeps its bytes and its handle; stale handles are refused; check() passes after every step", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const { r, space, backing } = setup({ chunkBytes: 8192 });
        const live: Live[] = [];
        const dead: number[] = [];
        let nextId = 1;
        for (const o of ops) {
          const target = live.length === 0 ? undefined : live[("pick" in o ? o.pick : 0) % live.length];
          switch (o.op) {
            case "create": {
              const h = r.create(o.size);
              const id = nextId++;
              fill(space.u8, r.resolve(h), o.size, id);
              live.push({ handle: h, ptr: 0, size: o.size, id, pins: 0, pinnedAt: 0 });
              break;
            }
            case "allocate": {
              const ptr = r.allocate(o.size);
              const id = nextId++;
              fill(space.u8, ptr, o.size, id);
              live.push({ handle: r.handleOf(ptr), ptr, size: o.size, id, pins: 0, pinnedAt: 0 });
              break;
            }
            case "reallocate": {
              const p = live.filter((b) => b.ptr !== 0 && b.pins === 0);
              if (p.length === 0) break;
              const b = p[o.pick % p.length]!;
              b.ptr = r.reallocate(b.ptr, o.size);
              expect(mismatch(space.u8, b.ptr, Math.min(b.size, o.size), b.id)).toBe(-1);
              b.size = o.size;
              fill(space.u8, b.ptr, o.size, b.id);
              break;
            }
            case "free":
              if (target === undefined) break;
              if (target.pins > 0) {
                expect(() => r.free(target.handle)).toThrow(InvalidArgumentError);
                break;
              }
              r.free(target.handle);
              live.splice(live.indexOf(target), 1);
              dead.push(target.handle);
              break;
            case "pin":
              if (target === undefined) break;
              target.pinnedAt = r.pin(target.handle);
              target.pins++;
              break;
            case "unpin":
              if (target === undefined) break;
              if (target.pins === 0) {
                expect(() => r.unpin(target.handle)).toThrow(InvalidArgumentError);
                break;
              }
              r.unpin(target.handle);
              target.pins--;
              break;
            case "resize": {
              if (target === undefined) break;
              const before = r.resolve(target.handle);
              try {
                r.resize(target.handle, o.size);
              } catch (err) {
                // Only a pinned block that would have to move is refused, and it is left as it was.
                expect(err).toBeInstanceOf(InvalidArgumentError);
                expect(target.pins).toBeGreaterThan(0);
                expect(r.resolve(target.handle)).toBe(before);
                break;
              }
              const keep = Math.min(target.size, o.size);
              expect(mismatch(space.u8, r.resolve(target.handle), keep, target.id)).toBe(-1);
              target.size = o.size;
              // Like reallocate, a resize may move a pointer block: its pointer is the new one.
              if (target.ptr !== 0) target.ptr = r.resolve(target.handle);
              fill(space.u8, r.resolve(target.handle), o.size, target.id);
              break;
            }
            case "compact":
              r.compact(o.budget === undefined ? undefined : { maxBytes: o.budget });
              break;
          }
          r.check();
          for (const b of live) {
            const ptr = r.resolve(b.handle);
            if (b.pins > 0) expect(ptr).toBe(b.pinnedAt);
            if (b.ptr !== 0) expect(ptr).toBe(b.ptr);
            expect(r.sizeOf(b.handle)).toBeGreaterThanOrEqual(b.size);
            expect(mismatch(space.u8, ptr, b.size, b.id)).toBe(-1);
          }
          for (const h of dead.slice(-8)) {
            // A stale handle is refused unless its slot's generation came round again (1,023 reuses: not in 120 steps).
            expect(() => r.resolve(h)).toThrow(StaleHandleError);
          }
        }
        const stats = r.stats();
        expect(stats.liveCount).toBe(live.length);
        // An offline pass leaves no hole below a movable block: each chunk's free space is one tail, unless pins split it.
        for (const b of live) {
          for (; b.pins > 0; b.pins--) r.unpin(b.handle);
        }
        r.compact();
        r.check();
        // (Anchored pointer blocks keep the holes before them.)
        const holes = r.storageReport().freeHistogram.reduce((a, n) => a + n, 0);
        expect(holes).toBeLessThanOrEqual(r.relocationStats().chunks + live.filter((b) => b.ptr !== 0).length);
        for (const b of live) expect(mismatch(space.u8, r.resolve(b.handle), b.size, b.id)).toBe(-1);
        r.destroy();
        backing.check();
        expect(backing.stats().liveCount).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
