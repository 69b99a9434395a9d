import { InvalidArgumentError } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { CLEAN_BYTE, FREED_BYTE, FillAllocator } from "../src/index.js";
import { catchError, holdsPattern, makePages, writePattern } from "./support/fixtures.js";

function bytesAt(fill: FillAllocator, ptr: number, n: number): number[] {
  return Array.from(fill.space.u8.subarray(ptr, ptr + n));
}

describe("FillAllocator", () => {
  it("fills every usable byte of a fresh block with 0xcd, and of a freed block with 0x66", () => {
    const pages = makePages(256);
    const fill = new FillAllocator(pages);
    expect(fill.name).toBe("fill(pages)");
    expect(fill.allocateByte).toBe(CLEAN_BYTE);
    expect(fill.freeByte).toBe(FREED_BYTE);
    const ptr = fill.allocate(100);
    expect(fill.allocatedSize(ptr)).toBe(256); // the backing's usable size, all of it filled
    expect(bytesAt(fill, ptr, 256).every((b) => b === 0xcd)).toBe(true);
    writePattern(fill, ptr, 256, 5);
    fill.deallocate(ptr);
    // The page allocator keeps its bookkeeping out of band, so the freed page still shows the fill.
    expect(bytesAt(fill, ptr, 256).every((b) => b === 0x66)).toBe(true);
    expect(fill.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, reservedBytes: fill.stateBytes, allocCount: 1, freeCount: 1 });
  });

  it("fills with seeded random bytes that reproduce exactly", () => {
    const run = (seed: number): number[] => {
      const fill = new FillAllocator(makePages(256), { onAllocate: "random", seed });
      const out: number[] = [];
      for (const size of [3, 256, 40]) {
        const p = fill.allocate(size);
        out.push(...bytesAt(fill, p, fill.allocatedSize(p)));
      }
      return out;
    };
    const first = run(7);
    expect(run(7)).toEqual(first);
    expect(run(8)).not.toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(200); // not a constant pattern
  });

  it("takes any byte, or none, on either side", () => {
    const fill = new FillAllocator(makePages(256), { onAllocate: 0x00, onFree: "none" });
    const ptr = fill.allocate(16);
    expect(bytesAt(fill, ptr, 256).every((b) => b === 0)).toBe(true);
    writePattern(fill, ptr, 256, 2);
    fill.deallocate(ptr);
    expect(holdsPattern(fill, ptr, 256, 2)).toBe(true);

    const untouched = new FillAllocator(makePages(256), { onAllocate: "none", onFree: 0xee });
    const q = untouched.allocate(8);
    writePattern(untouched, q, 256, 3);
    untouched.deallocate(q);
    const again = untouched.allocate(8);
    expect(again).toBe(q);
    expect(bytesAt(untouched, again, 256).every((b) => b === 0xee)).toBe(true);
  });

  it("reallocate keeps the bytes, fills the new tail and the old block", () => {
    const fill = new FillAllocator(makePages(256));
    const ptr = fill.allocate(200);
    writePattern(fill, ptr, 256, 6);
    const grown = fill.reallocate(ptr, 600);
    expect(holdsPattern(fill, grown, 256, 6)).toBe(true);
    expect(bytesAt(fill, grown + 256, 512).every((b) => b === 0xcd)).toBe(true);
    expect(bytesAt(fill, ptr, 256).every((b) => b === 0x66)).toBe(true);
    expect(fill.stats()).toMatchObject({ liveCount: 1, liveBytes: 600, reservedBytes: 768 + fill.stateBytes });
    fill.deallocate(grown);
  });

  it("rejects bad fill options", () => {
    const pages = makePages();
    for (const onAllocate of [256, -1, 1.5, "zero" as never]) {
      const e = catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new FillAllocator(pages, { onAllocate }));
      expect(e.message).toContain("FillAllocator: option onAllocate must be");
    }
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new FillAllocator(pages, { onFree: 300 }));
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new FillAllocator(pages, { onFree: "random" as never }));
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new FillAllocator(pages, { seed: -1 }));
  });
});
