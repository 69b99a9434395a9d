import { CorruptionError } from "@memkit/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CanaryAllocator, END_GUARD_BYTE, EndOfPageAllocator, FENCE_BYTE, QuarantineAllocator } from "../src/index.js";
import { makePages } from "./support/fixtures.js";

const signed = (n: number): string => (n < 0 ? String(n) : `+${n}`);

/** Runs `check`, returns the CorruptionError message or undefined when nothing was found. */
function corruptionOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptionError);
    return (error as CorruptionError).message;
  }
}

const layout = fc.record({
  size: fc.integer({ min: 0, max: 300 }),
  alignLog: fc.integer({ min: 0, max: 7 }),
  guard: fc.integer({ min: 1, max: 48 }),
  value: fc.integer({ min: 0, max: 255 }),
  where: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

describe("guard properties", () => {
  it("canary: a single-byte write in a guard is caught at its offset; one inside the block never is", () => {
    const pages = makePages(256);
    fc.assert(
      fc.property(layout, ({ size, alignLog, guard, value, where }) => {
        const canary = new CanaryAllocator(pages, { guardBytes: guard });
        const align = 2 ** alignLog;
        const ptr = canary.allocate(size, align);
        const front = Math.ceil(guard / align) * align;
        // Any offset from the first front guard byte to the last back guard byte.
        const offset = -front + Math.floor(where * (front + size + guard));
        const u8 = canary.space.u8;
        u8[ptr + offset] = value;
        const message = corruptionOf(() => canary.check());
        const inGuard = offset < 0 || offset >= size;
        if (inGuard && value !== FENCE_BYTE) {
          expect(message).toContain(`changed at ${signed(offset)} (expected 0xfd, found 0x${value.toString(16).padStart(2, "0")})`);
          expect(message).toContain(offset < 0 ? "before the block" : "after the block");
          u8[ptr + offset] = FENCE_BYTE;
        } else {
          expect(message).toBeUndefined();
        }
        canary.deallocate(ptr); // clean again: the free checks and passes
        canary.destroy();
      }),
      { numRuns: 400 },
    );
    expect(pages.stats().liveCount).toBe(0);
  });

  it("end-of-page: every byte of the guard zone is guarded, in both modes; the block never is", () => {
    const pages = makePages(256);
    fc.assert(
      fc.property(layout, fc.boolean(), ({ size, alignLog, guard, value, where }, overrun) => {
        const eop = new EndOfPageAllocator(pages, { guardBytes: guard, mode: overrun ? "overrun" : "underrun" });
        const align = 2 ** alignLog;
        const ptr = eop.allocate(size, align);
        const span = ptr - (ptr % Math.max(256, align)); // page spans are aligned to max(page, align)
        const spanEnd = span + pages.allocatedSize(span);
        // Guard zone: [ptr+size, spanEnd) after, or [span, ptr) before; write anywhere from the zone through the block.
        const lo = overrun ? 0 : span - ptr;
        const hi = overrun ? spanEnd - ptr : size;
        const offset = lo + Math.floor(where * (hi - lo));
        const u8 = eop.space.u8;
        const old = u8[ptr + offset]!;
        u8[ptr + offset] = value;
        const message = corruptionOf(() => eop.check());
        const inZone = overrun ? offset >= size : offset < 0;
        if (inZone && value !== END_GUARD_BYTE) {
          expect(message).toContain(`changed at ${signed(offset)} (expected 0xd0,`);
          u8[ptr + offset] = old;
        } else {
          expect(message).toBeUndefined();
        }
        // The zone starts flush at the block and holds at least guardBytes.
        expect(overrun ? spanEnd - (ptr + size) : ptr - span).toBeGreaterThanOrEqual(guard);
        expect(overrun ? spanEnd - (ptr + size) : ptr - span).toBeLessThan(guard + align);
        eop.deallocate(ptr);
        eop.destroy();
      }),
      { numRuns: 400 },
    );
    expect(pages.stats().liveCount).toBe(0);
  });

  it("quarantine: any changed byte of a freed block is caught at its offset", () => {
    const pages = makePages(256);
    fc.assert(
      fc.property(layout, ({ size, value, where }) => {
        const q = new QuarantineAllocator(pages);
        const ptr = q.allocate(size);
        const held = q.allocatedSize(ptr);
        q.deallocate(ptr);
        const offset = Math.floor(where * held);
        q.space.u8[ptr + offset] = value;
        const message = corruptionOf(() => q.check());
        if (value !== 0x66) {
          expect(message).toContain(`write after free: byte changed at +${offset} (expected 0x66,`);
          expect(corruptionOf(() => q.flush())).toBe(message);
        } else {
          expect(message).toBeUndefined();
          q.flush();
        }
        q.destroy();
      }),
      { numRuns: 300 },
    );
    expect(pages.stats().liveCount).toBe(0);
  });
});
