import { CorruptionError, DoubleFreeError, InvalidArgumentError, OutOfMemoryError, hex } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { END_GUARD_BYTE, EndOfPageAllocator } from "../src/index.js";
import { TrackedBacking, catchError, holdsPattern, makePages, writePattern } from "./support/fixtures.js";

describe("EndOfPageAllocator, mode overrun", () => {
  it("puts each block flush against the end of its own span, guard zone after it", () => {
    const pages = makePages(256);
    const eop = new EndOfPageAllocator(pages, { guardBytes: 32 });
    expect(eop.name).toBe("endOfPage(pages)");
    expect(eop.mode).toBe("overrun");
    const ptr = eop.allocate(100, 8);
    // 100 + 32 fits one 256-byte page; 100 is not a multiple of 8, so the block starts
    // at the highest 8-aligned address leaving >= 32 bytes: 256 - 32 - 100 = 124 -> 120.
    const span = ptr & ~255;
    expect(ptr - span).toBe(120);
    expect(eop.allocatedSize(ptr)).toBe(100);
    const u8 = eop.space.u8;
    for (let a = ptr + 100; a < span + 256; a++) expect(u8[a]).toBe(END_GUARD_BYTE); // 36 bytes: 4 of gap + 32
    const flush = eop.allocate(64, 8);
    expect(flush + 64 + 32).toBe((flush & ~255) + 256); // size a multiple of align: no gap at all
    const other = eop.allocate(1);
    expect(other & ~255).not.toBe(ptr & ~255);
    expect(eop.stats().reservedBytes).toBe(3 * 256 + eop.stateBytes);
    eop.check();
  });

  it("keeps large alignments (the span is aligned, the block is aligned down from the end)", () => {
    const eop = new EndOfPageAllocator(makePages(256), { guardBytes: 16 });
    for (let align = 1; align <= 4096; align *= 2) {
      for (const size of [0, 1, 33, 255, 700]) {
        const ptr = eop.allocate(size, align);
        expect(ptr % align).toBe(0);
        eop.space.u8.fill(0xab, ptr, ptr + size);
        eop.check();
      }
    }
  });

  it("catches a 1-byte overrun on free, counting the alignment gap as guard", () => {
    const eop = new EndOfPageAllocator(makePages(256), { guardBytes: 32 });
    const keep = eop.allocate(50);
    writePattern(eop, keep, 50, 4);
    const ptr = eop.allocate(100, 8);
    eop.space.u8[ptr + 100] = 0x41; // inside the 4-byte gap before the last 32 bytes
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => eop.deallocate(ptr));
    expect(error.message).toContain(`endOfPage(pages): block ${hex(ptr)} (100 B) —`);
    expect(error.message).toContain("guard zone byte after the block changed at +100 (expected 0xd0, found 0x41), 1 of 36 guard zone bytes differ");
    expect(eop.owns(ptr)).toBe(false);
    expect(holdsPattern(eop, keep, 50, 4)).toBe(true);
    eop.check();
    eop.deallocate(keep);
    expect(eop.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, reservedBytes: eop.stateBytes });
  });

  it("catches an overrun at the far end of the guard zone on check(), with the scope", () => {
    const eop = new EndOfPageAllocator(new TrackedBacking(makePages(256)), { guardBytes: 64 });
    const ptr = eop.allocate(16);
    eop.space.u8[ptr + 16 + 63] = 0;
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => eop.check());
    expect(error.message).toContain(`block ${hex(ptr)} (16 B, scope root/ai)`);
    expect(error.message).toContain("changed at +79 (expected 0xd0, found 0x00)");
    expect(error.message).toContain("allocated at Blackboard.set (ai/blackboard.ts:57)");
    expect(eop.owns(ptr)).toBe(true);
  });

  it("does not guard the lead before the block (as a native end-of-page allocator)", () => {
    const eop = new EndOfPageAllocator(makePages(256), { guardBytes: 16 });
    const ptr = eop.allocate(16);
    eop.space.u8[ptr - 1] = 0;
    eop.check();
    eop.deallocate(ptr);
  });

  it("throws OutOfMemoryError when the guarded span cannot exist, DoubleFreeError on a second free", () => {
    const eop = new EndOfPageAllocator(makePages(256));
    const e = catchError(OutOfMemoryError, "ERR_OUT_OF_MEMORY", () => eop.allocate(0xffff_ffff));
    expect(e.message).toContain("endOfPage(pages): cannot allocate 4,294,967,295 B (4.00 GiB) (align 8)");
    const ptr = eop.allocate(10);
    eop.deallocate(ptr);
    catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => eop.deallocate(ptr));
  });
});

describe("EndOfPageAllocator, mode underrun", () => {
  it("puts each block flush against the start of its span after the guard zone", () => {
    const eop = new EndOfPageAllocator(makePages(256), { mode: "underrun", guardBytes: 40 });
    const ptr = eop.allocate(10, 16);
    const span = ptr & ~255;
    expect(ptr - span).toBe(48); // 40 rounded up to the alignment
    const u8 = eop.space.u8;
    for (let a = span; a < ptr; a++) expect(u8[a]).toBe(END_GUARD_BYTE);
    eop.space.u8[ptr + 10] = 0; // the tail is not guarded in this mode
    eop.check();
  });

  it("catches a 1-byte underrun on free and on check()", () => {
    const eop = new EndOfPageAllocator(makePages(256), { mode: "underrun", guardBytes: 16 });
    const a = eop.allocate(24);
    eop.space.u8[a - 1] = 0x99;
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => eop.check());
    expect(error.message).toContain("guard zone byte before the block changed at -1 (expected 0xd0, found 0x99), 1 of 16 guard zone bytes differ");
    expect(error.message).toContain("underrun");
    catchError(CorruptionError, "ERR_CORRUPTION", () => eop.deallocate(a));
    expect(eop.stats().liveCount).toBe(0);
    eop.check();
  });

  it("rejects a bad mode or guard size", () => {
    const pages = makePages();
    const e = catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new EndOfPageAllocator(pages, { mode: "sideways" as never }));
    expect(e.message).toBe('EndOfPageAllocator: option mode must be "overrun" or "underrun", received "sideways".');
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new EndOfPageAllocator(pages, { guardBytes: 0 }));
  });
});
