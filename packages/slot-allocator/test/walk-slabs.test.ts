import { describe, expect, it } from "vitest";
import { makeRig } from "./helpers.js";

describe("walkSlabs", () => {
  it("visits every slab with its slot size and slots in use, spares as size 0", () => {
    const { slots, dispose } = makeRig();
    const small = Array.from({ length: 10 }, () => slots.allocate(32));
    const big = Array.from({ length: 3 }, () => slots.allocate(1024));
    const seen: { base: number; bytes: number; slotSize: number; used: number }[] = [];
    slots.walkSlabs((base, bytes, slotSize, used) => seen.push({ base, bytes, slotSize, used }));
    expect(seen).toHaveLength(2);
    expect(seen.find((s) => s.slotSize === 32)?.used).toBe(10);
    expect(seen.find((s) => s.slotSize === 1024)?.used).toBe(3);
    for (const s of seen) {
      expect(s.bytes).toBe(slots.slabBytes);
      expect(slots.pages.tagOf(s.base) >>> 24).toBe(slots.ownerId);
    }
    for (const p of big) slots.deallocate(p);
    for (const p of small) slots.deallocate(p);
    const after: number[] = [];
    slots.walkSlabs((_base, _bytes, _size, used) => after.push(used));
    expect(after.every((u) => u <= 1)).toBe(true); // at most the parked slot
    dispose();
  });
});
