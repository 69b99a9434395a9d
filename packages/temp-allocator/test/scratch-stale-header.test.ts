import { describe, expect, it } from "vitest";
import { DoubleFreeError, InvalidPointerError, SeededRandom } from "@memkit/core";
import { ScratchAllocator } from "@memkit/temp-allocator";
import { makePages } from "./helpers.js";

// A released block's header is not wiped (release is O(1)); when a later
// block's padding or payload covers it, the old header is still there, intact.
// Liveness must not be decided by those stale bytes.

function expectReleased(scratch: ScratchAllocator, ptr: number): void {
  expect(scratch.owns(ptr)).toBe(false);
  expect(() => scratch.allocatedSize(ptr)).toThrow(InvalidPointerError);
  expect(() => scratch.reallocate(ptr, 4)).toThrow(InvalidPointerError);
  expect(() => scratch.deallocate(ptr)).toThrow(DoubleFreeError);
}

describe("ScratchAllocator: a released pointer whose header survives", () => {
  it("is refused when the header lies in a later aligned block's padding", () => {
    const scratch = new ScratchAllocator(makePages(), { chunkBytes: 4096 });
    const mark = scratch.mark();
    scratch.allocate(8);
    const stale = scratch.allocate(8);
    scratch.release(mark);
    const b = scratch.allocate(8, 256); // its padding record overwrites the first block's header, not the second's
    expect(b - 16).toBeGreaterThan(stale);
    expectReleased(scratch, stale);
    expect(scratch.owns(b)).toBe(true);
    scratch.check();
  });

  it("is refused when the header lies inside a later block's payload", () => {
    const scratch = new ScratchAllocator(makePages(), { chunkBytes: 4096 });
    const keep = scratch.allocate(40);
    const mark = scratch.mark();
    scratch.allocate(8);
    const stale = scratch.allocate(8);
    scratch.release(mark);
    const big = scratch.allocate(200); // covers both released blocks' bytes
    expect(big).toBeLessThan(stale);
    expectReleased(scratch, stale);
    expect(scratch.owns(keep)).toBe(true);
    expect(scratch.allocatedSize(big)).toBe(200);
    scratch.check();
  });

  it("after errors the stack still works and live blocks keep their bytes", () => {
    const pages = makePages();
    const scratch = new ScratchAllocator(pages, { chunkBytes: 4096 });
    const rnd = new SeededRandom(12);
    const u8 = (): Uint8Array => pages.space.u8;
    const live = new Map<number, number>();
    const stale: number[] = [];
    const marks: { mark: ReturnType<ScratchAllocator["mark"]>; blocks: number[] }[] = [];
    for (let step = 0; step < 3000; step++) {
      const r = rnd.next();
      if (r < 0.15) {
        marks.push({ mark: scratch.mark(), blocks: [] });
      } else if (r < 0.3 && marks.length > 0) {
        const { mark, blocks } = marks.pop()!;
        scratch.release(mark);
        for (const b of blocks) {
          live.delete(b);
          stale.push(b);
        }
      } else {
        const size = rnd.int(0, 300);
        const align = [1, 8, 16, 64, 256][rnd.int(0, 4)]!;
        const p = scratch.allocate(size, align);
        u8().fill(p & 0xff, p, p + size);
        live.set(p, size);
        (marks.length > 0 ? marks[marks.length - 1]!.blocks : []).push(p);
      }
      // A stale pointer that is now exactly a live block's start is that block (the documented limit).
      for (const s of stale.slice(-8)) if (!live.has(s)) expect(scratch.owns(s)).toBe(false);
    }
    scratch.check();
    for (const [p, size] of live) {
      expect(scratch.owns(p)).toBe(true);
      for (let i = 0; i < size; i++) if (u8()[p + i] !== (p & 0xff)) throw new Error(`block ${p} lost its bytes`);
    }
  });
});
