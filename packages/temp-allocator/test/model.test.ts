import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { InvalidArgumentError, InvalidPointerError } from "@memkit/core";
import { FrameAllocator, ScratchAllocator, type ScratchMark } from "@memkit/temp-allocator";
import { expectIntact, hold, makePages, type Held } from "./helpers.js";

// Sizes: mostly small, some past a 4 KiB chunk (dedicated chunks).
const sizeArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 600 }) }, { weight: 1, arbitrary: fc.integer({ min: 3000, max: 20_000 }) });
const alignArb = fc.oneof({ weight: 6, arbitrary: fc.constant(8) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 12 }).map((k) => 2 ** k) });

type ScratchOp =
  | { t: "alloc"; size: number; align: number }
  | { t: "mark" }
  | { t: "release"; pick: number }
  | { t: "freeTop" }
  | { t: "free"; pick: number }
  | { t: "realloc"; pick: number; size: number }
  | { t: "reset" };

const scratchOp: fc.Arbitrary<ScratchOp> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant("alloc" as const), size: sizeArb, align: alignArb }) },
  { weight: 3, arbitrary: fc.constant({ t: "mark" as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("release" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.constant({ t: "freeTop" as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("realloc" as const), pick: fc.nat(), size: sizeArb }) },
  { weight: 1, arbitrary: fc.constant({ t: "reset" as const }) },
);

interface ModelBlock extends Held {
  freedByUser: boolean;
}

describe("ScratchAllocator against a model", () => {
  it("random alloc / mark / release / free / realloc / reset sequences, through two handles, match the model and keep every live block", () => {
    fc.assert(
      fc.property(fc.array(scratchOp, { maxLength: 120 }), (ops) => {
        const pages = makePages({ maximumBytes: 64 << 20 });
        const other = new ScratchAllocator(pages, { chunkBytes: 4096 });
        const scratch = new ScratchAllocator(pages, { chunkBytes: 4096 });
        // The physical stack: blocks not yet popped, released or reset, in allocation order.
        let stack: ModelBlock[] = [];
        let marks: { mark: ScratchMark; length: number }[] = [];
        const everyMark: ScratchMark[] = [other.mark()];
        let dropped: number[];
        const floor = (): number => (marks.length > 0 ? marks[marks.length - 1]!.length : 0);
        const userLive = (): ModelBlock[] => stack.filter((b) => !b.freedByUser);
        const second = ScratchAllocator.attach(pages.space, scratch.controlPtr, { backing: pages });
        let step = 0;
        for (const op of ops) {
          // Every other step goes through a second handle attached to the same stack.
          const s = step++ % 2 === 0 ? scratch : second;
          dropped = [];
          switch (op.t) {
            case "alloc": {
              const ptr = s.allocate(op.size, op.align);
              expect(ptr % op.align).toBe(0);
              stack.push({ ...hold(scratch, ptr, op.size), freedByUser: false });
              break;
            }
            case "mark": {
              const mark = s.mark();
              marks.push({ mark, length: stack.length });
              everyMark.push(mark);
              break;
            }
            case "release": {
              const mark = everyMark[op.pick % everyMark.length]!;
              const at = marks.findIndex((m) => m.mark === mark);
              if (at < 0) {
                expect(() => s.release(mark)).toThrow(InvalidArgumentError);
              } else {
                s.release(mark);
                dropped = stack.slice(marks[at]!.length).map((b) => b.ptr);
                stack.length = marks[at]!.length;
                marks.length = at;
              }
              break;
            }
            case "freeTop":
            case "free": {
              const candidates = op.t === "free" ? userLive() : stack.slice(-1).filter((b) => !b.freedByUser);
              if (candidates.length === 0) break;
              const block = candidates[op.t === "free" ? op.pick % candidates.length : 0]!;
              s.deallocate(block.ptr);
              if (block === stack[stack.length - 1] && stack.length > floor()) {
                stack.pop();
                dropped = [block.ptr];
              } else {
                block.freedByUser = true;
              }
              break;
            }
            case "realloc": {
              const candidates = userLive();
              if (candidates.length === 0) break;
              const block = candidates[op.pick % candidates.length]!;
              const topAboveMark = block === stack[stack.length - 1] && stack.length > floor();
              const ptr = s.reallocate(block.ptr, op.size);
              expectIntact(scratch, { ...block, ptr, size: Math.min(block.size, op.size) });
              if (ptr === block.ptr) {
                // In place: the top block takes the new size; any other block only shrinks, keeping its size.
                if (!topAboveMark) expect(op.size).toBeLessThanOrEqual(block.size);
                const size = topAboveMark ? op.size : block.size;
                Object.assign(block, hold(scratch, ptr, size));
              } else {
                block.freedByUser = true;
                stack.push({ ...hold(scratch, ptr, op.size), freedByUser: false });
              }
              break;
            }
            case "reset": {
              s.reset();
              dropped = stack.map((b) => b.ptr);
              stack = [];
              marks = [];
              break;
            }
          }
          const stats = s.stats();
          expect(stats.liveCount).toBe(stack.length);
          expect(stats.liveBytes).toBe(stack.reduce((sum, b) => sum + b.size, 0));
          expect(s.markDepth).toBe(marks.length);
          for (const b of stack) {
            expect(s.owns(b.ptr)).toBe(true);
            expect(s.allocatedSize(b.ptr)).toBe(b.size);
            expectIntact(scratch, b);
          }
          const livePtrs = new Set(stack.map((b) => b.ptr));
          for (const ptr of dropped) if (!livePtrs.has(ptr)) expect(s.owns(ptr)).toBe(false);
          s.check();
        }
        scratch.destroy();
        other.destroy();
        expect(pages.stats().liveCount).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});

type FrameOp = { t: "alloc"; size: number; align: number } | { t: "frame" } | { t: "free"; pick: number } | { t: "realloc"; pick: number; size: number };

const frameOp: fc.Arbitrary<FrameOp> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant("alloc" as const), size: sizeArb, align: alignArb }) },
  { weight: 3, arbitrary: fc.constant({ t: "frame" as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("realloc" as const), pick: fc.nat(), size: sizeArb }) },
);

interface FrameBlock extends Held {
  frame: number;
  freed: boolean;
}

describe("FrameAllocator against a model", () => {
  it("random alloc / free / realloc / beginFrame sequences, through two handles, match the model in both modes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.array(frameOp, { maxLength: 150 }), (arenas, debug, ops) => {
        const pages = makePages({ maximumBytes: 64 << 20 });
        const frames = new FrameAllocator(pages, { chunkBytes: 4096, arenas, debug, growthWarningFactor: Infinity });
        let blocks: FrameBlock[] = [];
        let stale: FrameBlock[] = [];
        let frame = 0;
        let last = 0;
        const second = FrameAllocator.attach(pages.space, frames.controlPtr, { backing: pages });
        let step = 0;
        for (const op of ops) {
          // Every other step goes through a second handle attached to the same allocator.
          const f = step++ % 2 === 0 ? frames : second;
          switch (op.t) {
            case "alloc": {
              const ptr = f.allocate(op.size, op.align);
              expect(ptr % op.align).toBe(0);
              blocks.push({ ...hold(frames, ptr, op.size), frame, freed: false });
              last = ptr;
              break;
            }
            case "frame": {
              expect(f.beginFrame()).toBe(++frame);
              stale = blocks.filter((b) => b.frame <= frame - arenas);
              blocks = blocks.filter((b) => b.frame > frame - arenas);
              last = 0;
              break;
            }
            case "free": {
              const live = blocks.filter((b) => !b.freed);
              if (live.length === 0) break;
              const block = live[op.pick % live.length]!;
              f.deallocate(block.ptr);
              // Release mode: a no-op. Debug mode: the block is marked freed.
              block.freed = debug;
              break;
            }
            case "realloc": {
              const live = blocks.filter((b) => !b.freed);
              if (live.length === 0) break;
              const block = live[op.pick % live.length]!;
              const ptr = f.reallocate(block.ptr, op.size);
              expectIntact(frames, { ...block, ptr, size: Math.min(block.size, op.size) });
              if (ptr === block.ptr) {
                if (ptr !== last) expect(op.size).toBeLessThanOrEqual(block.size);
                Object.assign(block, hold(frames, ptr, ptr === last ? op.size : block.size));
              } else {
                block.freed = debug;
                blocks.push({ ...hold(frames, ptr, op.size), frame, freed: false });
                last = ptr;
              }
              break;
            }
          }
          const stats = f.stats();
          expect(stats.liveCount).toBe(blocks.length);
          expect(stats.liveBytes).toBe(blocks.reduce((sum, b) => sum + b.size, 0));
          for (const b of blocks) {
            expectIntact(frames, b);
            expect(f.owns(b.ptr)).toBe(!b.freed);
            if (!b.freed) {
              expect(f.allocatedSize(b.ptr)).toBe(b.size);
              expect(f.frameOf(b.ptr)).toBe(b.frame);
            }
          }
          const livePtrs = new Set(blocks.map((b) => b.ptr));
          for (const b of stale) {
            if (livePtrs.has(b.ptr)) continue;
            expect(f.owns(b.ptr)).toBe(false);
            expect(() => f.assertLive(b.ptr)).toThrow(InvalidPointerError);
          }
          f.check();
        }
        frames.destroy();
        expect(pages.stats().liveCount).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
