import { describe, expect, it } from "vitest";
import { AddressSpace, InvalidArgumentError, allocateZeroed, type Allocator } from "@memkit/core";

/** A bump allocator that hands out the same dirty bytes again after a reset: what a reused block looks like. */
function dirtyBump(space: AddressSpace): Allocator & { reset(): void } {
  let top = 64;
  return {
    name: "bump",
    space,
    allocate(size: number, align = 8) {
      if (typeof size !== "number" || size < 0) throw new InvalidArgumentError("bump: bad size");
      top = Math.ceil(top / align) * align;
      const p = top;
      top += size;
      return p;
    },
    deallocate() {},
    reallocate() {
      throw new Error("unused");
    },
    allocatedSize: () => 0,
    owns: () => true,
    stats: () => ({ liveBytes: 0, liveCount: 0, peakLiveBytes: 0, allocCount: 0, freeCount: 0, reservedBytes: 0 }),
    reset() {
      top = 64;
    },
  };
}

describe("allocateZeroed", () => {
  it("zeroes a reused block's old bytes, and only the block", () => {
    const space = AddressSpace.create({ initialBytes: 65536 });
    const a = dirtyBump(space);
    const p = a.allocate(100);
    space.u8.fill(0xab, p, p + 200);
    a.reset();
    const q = allocateZeroed(a, 100);
    expect(q).toBe(p);
    expect(space.u8.subarray(q, q + 100).every((b) => b === 0)).toBe(true);
    expect(space.u8[q + 100]).toBe(0xab);
  });

  it("passes the allocator's errors through", () => {
    const a = dirtyBump(AddressSpace.create({ initialBytes: 65536 }));
    expect(() => allocateZeroed(a, -1)).toThrow(InvalidArgumentError);
  });
});
