import { describe, expect, it } from "vitest";
import { GRANULE, classIndex, naturalAlignment, roundingWaste, sizeClasses, slotsPerSlab } from "@memkit/slot-allocator";
import { makeRig } from "./helpers.js";

// The documented table (README, size-classes.ts): 36 classes up to 1024.
const DEFAULT_CLASSES = [
  8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704,
  768, 832, 896, 960, 1024,
];

/** The smallest class holding `size`, by linear search (the model classIndex must match). */
function smallestClass(classes: readonly number[], size: number): number {
  return classes.find((c) => c >= size)!;
}

describe("size classes", () => {
  it("are the documented 36 classes for a 1024-byte largest slot", () => {
    expect(sizeClasses(1024)).toEqual(DEFAULT_CLASSES);
  });

  it("waste at most 12.5% of the (8-byte granule) request for every size 0..1024", () => {
    let worst = 0;
    for (let size = 0; size <= 1024; size++) {
      const cls = smallestClass(DEFAULT_CLASSES, Math.max(size, 1));
      const waste = roundingWaste(size, cls);
      expect(waste, `size ${size} -> class ${cls}`).toBeLessThanOrEqual(0.125);
      worst = Math.max(worst, waste);
    }
    // The worst case is 72 -> 80 (8/72); the table is not looser than it needs to be.
    expect(worst).toBeCloseTo(8 / 72, 10);
  });

  it("stay under 12.5% up to the largest allowed slot, eight classes per doubling", () => {
    const classes = sizeClasses(65536);
    for (let size = 1; size <= 65536; size++) {
      expect(roundingWaste(size, smallestClass(classes, size))).toBeLessThan(0.125);
    }
    expect(classes.filter((c) => c > 1024 && c <= 2048)).toEqual([1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048]);
    expect(classes.length).toBeLessThanOrEqual(255); // class indexes live in a Uint8Array
  });

  it("are multiples of the 8-byte granule and end exactly at maxSlotSize", () => {
    for (const max of [16, 32, 64, 128, 512, 1024, 4096]) {
      const classes = sizeClasses(max);
      expect(classes[classes.length - 1]).toBe(max);
      for (const c of classes) expect(c % GRANULE).toBe(0);
    }
  });

  it("serve every size 0..maxSlotSize from the smallest class holding it", () => {
    const { slots, dispose } = makeRig();
    try {
      for (let size = 0; size <= 1024; size++) {
        const p = slots.allocate(size);
        expect(slots.allocatedSize(p), `size ${size}`).toBe(smallestClass(DEFAULT_CLASSES, Math.max(size, 1)));
        slots.deallocate(p);
      }
    } finally {
      dispose();
    }
  });

  it("classIndex names the smallest class holding each size, for every largest slot from 16 B to 64 KiB", () => {
    for (let max = 16; max <= 65536; max *= 2) {
      const classes = sizeClasses(max);
      for (let size = 0; size <= max; size++) {
        const c = classIndex(size);
        if (classes[c] !== smallestClass(classes, Math.max(size, 1))) expect.fail(`maxSlotSize ${max}, size ${size}: class ${c} (${classes[c]})`);
      }
    }
  });

  it("natural alignment is the largest power of two dividing the slot size", () => {
    expect([8, 24, 48, 80, 96, 640, 1024].map(naturalAlignment)).toEqual([8, 8, 16, 16, 32, 128, 1024]);
  });

  it("pick the smallest class that is a multiple of align when the size's own class does not guarantee it", () => {
    const { slots, dispose } = makeRig();
    try {
      for (let align = 1; align <= 1024; align *= 2) {
        for (const size of [1, 7, 8, 24, 40, 100, 200, 333, 600, 1000, 1024]) {
          if (size > 1024) continue;
          const expected = DEFAULT_CLASSES.find((c) => c >= Math.max(size, 1) && (align <= 8 || c % align === 0))!;
          const p = slots.allocate(size, align);
          expect(p % align, `allocate(${size}, ${align})`).toBe(0);
          expect(slots.allocatedSize(p), `allocate(${size}, ${align})`).toBe(expected);
          slots.deallocate(p);
        }
      }
    } finally {
      dispose();
    }
  });

  it("fit slots, bitmap and header into a slab", () => {
    for (const slab of [4096, 65536, 1 << 20]) {
      for (const size of sizeClasses(Math.min(1024, slab / 8))) {
        const n = slotsPerSlab(size, slab);
        expect(n * size + Math.ceil(n / 32) * 4 + 64).toBeLessThanOrEqual(slab);
        // One more slot would not fit.
        expect((n + 1) * size + Math.ceil((n + 1) / 32) * 4 + 64).toBeGreaterThan(slab);
      }
    }
    expect(slotsPerSlab(8, 65536)).toBe(8058);
    expect(slotsPerSlab(32, 65536)).toBe(2038);
    expect(slotsPerSlab(1024, 65536)).toBe(63);
  });
});
