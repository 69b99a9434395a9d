import { AddressSpace, CorruptionError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, hex } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { describe, expect, it } from "vitest";
import { CanaryAllocator, FENCE_BYTE } from "../src/index.js";
import { ALLOCATION_STACK, TrackedBacking, catchError, holdsPattern, makePages, writePattern } from "./support/fixtures.js";

describe("CanaryAllocator", () => {
  it("surrounds each block with guardBytes of 0xfd and keeps the caller's alignment", () => {
    const pages = makePages();
    const canary = new CanaryAllocator(pages);
    expect(canary.name).toBe("canary(pages)");
    expect(canary.space).toBe(pages.space);
    expect(canary.guardBytes).toBe(16);
    for (let align = 1; align <= 4096; align *= 2) {
      for (const size of [0, 1, 7, 24, 100]) {
        const ptr = canary.allocate(size, align);
        const u8 = canary.space.u8; // after allocate: the backing may have grown the space
        expect(ptr % align).toBe(0);
        expect(canary.allocatedSize(ptr)).toBe(size);
        for (let i = 1; i <= 16; i++) expect(u8[ptr - i]).toBe(FENCE_BYTE);
        for (let i = 0; i < 16; i++) expect(u8[ptr + size + i]).toBe(FENCE_BYTE);
      }
    }
    canary.check();
  });

  it("catches a 1-byte overrun on free with the block, offset and bytes, and still frees it", () => {
    const pages = makePages();
    const canary = new CanaryAllocator(pages);
    const keep = canary.allocate(40);
    writePattern(canary, keep, 40, 1);
    const ptr = canary.allocate(24);
    canary.space.u8.fill(0x2a, ptr, ptr + 25); // one byte too many
    const before = canary.stats();
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => canary.deallocate(ptr));
    expect(error.message).toContain(`canary(pages): block ${hex(ptr)} (24 B) —`);
    expect(error.message).toContain("guard byte after the block changed at +24 (expected 0xfd, found 0x2a), 1 of 16 guard bytes after it differ;");
    expect(error.message).toContain("overrun");
    expect(error.stack).toMatch(/^CorruptionError \[ERR_CORRUPTION\]: canary\(pages\)/);
    // The free completed: the block is gone, the counters moved, the rest is untouched.
    expect(canary.owns(ptr)).toBe(false);
    expect(canary.stats().liveCount).toBe(before.liveCount - 1);
    expect(canary.stats().freeCount).toBe(before.freeCount + 1);
    expect(holdsPattern(canary, keep, 40, 1)).toBe(true);
    canary.check();
    const again = canary.allocate(24);
    canary.deallocate(again);
    canary.deallocate(keep);
    expect(canary.stats().liveCount).toBe(0);
    canary.destroy(); // its own state (control block, table) goes back too
    expect(pages.stats().liveCount).toBe(0);
  });

  it("catches a 1-byte underrun on check() without changing anything", () => {
    const canary = new CanaryAllocator(makePages());
    const ptr = canary.allocate(32, 16);
    writePattern(canary, ptr, 32, 7);
    const u8 = canary.space.u8;
    u8[ptr - 1] = 0;
    const before = canary.stats();
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => canary.check());
    expect(error.message).toContain(`block ${hex(ptr)} (32 B)`);
    expect(error.message).toContain("guard byte before the block changed at -1 (expected 0xfd, found 0x00)");
    expect(error.message).toContain("underrun");
    expect(canary.stats()).toEqual(before);
    expect(canary.owns(ptr)).toBe(true);
    expect(holdsPattern(canary, ptr, 32, 7)).toBe(true);
    // Repairing the guard makes the block healthy again.
    u8[ptr - 1] = FENCE_BYTE;
    canary.check();
    canary.deallocate(ptr);
  });

  it("reports the nearest broken byte and how many guard bytes differ", () => {
    const canary = new CanaryAllocator(makePages(), { guardBytes: 8 });
    const ptr = canary.allocate(10, 2);
    const u8 = canary.space.u8;
    u8[ptr + 10 + 3] = 1;
    u8[ptr + 10 + 6] = 2;
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => canary.check());
    expect(error.message).toContain("changed at +13 (expected 0xfd, found 0x01), 2 of 8 guard bytes after it differ");
  });

  it("names the owning scope and the allocation stack when the backing knows them", () => {
    const tracked = new TrackedBacking(makePages());
    const canary = new CanaryAllocator(tracked);
    expect(canary.name).toBe("canary(root/ai)");
    const ptr = canary.allocate(24);
    expect(canary.originOf(ptr)).toEqual({ scope: "root/ai", size: 24, stack: ALLOCATION_STACK });
    expect(canary.originOf(ptr + 1)).toBeUndefined();
    canary.space.u8[ptr + 24] = 0;
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => canary.deallocate(ptr));
    expect(error.message).toBe(
      `canary(root/ai): block ${hex(ptr)} (24 B, scope root/ai) —\n` +
        "  guard byte after the block changed at +24 (expected 0xfd, found 0x00), 1 of 16 guard bytes after it differ;\n" +
        "  allocated at Blackboard.set (ai/blackboard.ts:57)\n" +
        "            at AiSystem.update (ai/system.ts:12)\n" +
        "  Something wrote past the end of the block (an overrun): check the sizes, strides and loop bounds of code writing to it.",
    );
    canary.destroy(); // its own state goes back too
    expect(tracked.sizes.size).toBe(0);
  });

  it("has no origin when the backing tracks none", () => {
    const canary = new CanaryAllocator(makePages());
    expect(canary.originOf(canary.allocate(8))).toBeUndefined();
    expect(canary.originOf(Number.NaN)).toBeUndefined();
  });

  it("throws DoubleFreeError on a second free, with the first free's stack when captured", () => {
    const plain = new CanaryAllocator(makePages());
    const a = plain.allocate(64);
    plain.deallocate(a);
    const bare = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => plain.deallocate(a));
    expect(bare.message).toContain(`canary(pages).deallocate: double free of block ${hex(a)} (64 B)`);
    expect(bare.message).toContain("captureStacks: true");

    const traced = new CanaryAllocator(makePages(), { captureStacks: true });
    expect(traced.capturesStacks).toBe(true);
    const b = traced.allocate(64);
    (function releaseTheBlock(): void {
      traced.deallocate(b);
    })();
    const error = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => traced.deallocate(b));
    expect(error.message).toMatch(/first freed at releaseTheBlock/);
    expect(error.message).not.toMatch(/first freed at (?:CanaryAllocator|DebugWrapper)/);
    // Still usable, nothing leaked.
    traced.deallocate(traced.allocate(8));
    expect(traced.stats().liveCount).toBe(0);
  });

  it("captures free stacks by default when the backing captures stacks", () => {
    const canary = new CanaryAllocator(new TrackedBacking(makePages()));
    expect(canary.capturesStacks).toBe(true);
    expect(new CanaryAllocator(makePages()).capturesStacks).toBe(false);
  });

  it("rejects pointers it did not hand out, and use of a freed block, without changing anything", () => {
    const pages = makePages();
    const canary = new CanaryAllocator(pages);
    const ptr = canary.allocate(100);
    writePattern(canary, ptr, 100, 3);
    const direct = pages.allocate(100);
    const before = canary.stats();
    for (const bad of [ptr + 1, ptr - 16, direct, 8, -8, 1.5, 2 ** 32]) {
      expect(canary.owns(bad)).toBe(false);
      catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => canary.deallocate(bad));
      catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => canary.allocatedSize(bad));
      catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => canary.reallocate(bad, 8));
    }
    const message = catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => canary.deallocate(ptr + 1)).message;
    expect(message).toBe(`canary(pages).deallocate: ${hex(ptr + 1)} was not handed out by this allocator (no live block of this allocator starts there).`);
    const freed = canary.allocate(12);
    canary.deallocate(freed);
    const useAfterFree = catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => canary.allocatedSize(freed));
    expect(useAfterFree.message).toContain("was already freed: a use after free");
    expect(canary.stats().liveCount).toBe(before.liveCount);
    expect(holdsPattern(canary, ptr, 100, 3)).toBe(true);
    canary.check();
  });

  it("reallocate moves, keeps min(old, new) bytes, rechecks guards and frees the old block", () => {
    const canary = new CanaryAllocator(makePages());
    const ptr = canary.allocate(50);
    writePattern(canary, ptr, 50, 9);
    const grown = canary.reallocate(ptr, 300, 64);
    expect(grown).not.toBe(ptr);
    expect(grown % 64).toBe(0);
    expect(holdsPattern(canary, grown, 50, 9)).toBe(true);
    expect(canary.owns(ptr)).toBe(false);
    catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => canary.deallocate(ptr));
    const shrunk = canary.reallocate(grown, 20);
    expect(holdsPattern(canary, shrunk, 20, 9)).toBe(true);
    expect(canary.stats()).toMatchObject({ liveCount: 1, liveBytes: 20, allocCount: 1, freeCount: 0 });
    // A corrupt block is reported and left as it was.
    canary.space.u8[shrunk + 20] = 7;
    catchError(CorruptionError, "ERR_CORRUPTION", () => canary.reallocate(shrunk, 100));
    expect(canary.owns(shrunk)).toBe(true);
    expect(holdsPattern(canary, shrunk, 20, 9)).toBe(true);
    catchError(CorruptionError, "ERR_CORRUPTION", () => canary.deallocate(shrunk));
    expect(canary.stats().liveCount).toBe(0);
  });

  it("checkEvery: N finds a broken guard within N operations, without a call to check()", () => {
    const canary = new CanaryAllocator(makePages(), { checkEvery: 4 });
    const victim = canary.allocate(16);
    canary.space.u8[victim + 16] = 0x11;
    let caughtAt = -1;
    for (let op = 1; op <= 4 && caughtAt < 0; op++) {
      try {
        canary.allocate(8);
      } catch (error) {
        expect(error).toBeInstanceOf(CorruptionError);
        caughtAt = op;
      }
    }
    expect(caughtAt).toBe(3); // the first allocate was op 1 of the period
  });

  it("counts sizes asked for, and reserves what it holds from the backing", () => {
    const pages = makePages();
    const canary = new CanaryAllocator(pages);
    const a = canary.allocate(10);
    const b = canary.allocate(300);
    const s = canary.stats();
    expect(s.liveBytes).toBe(310);
    expect(s.peakLiveBytes).toBe(310);
    // 16+10+16 -> one page, 16+300+16 -> two; plus the wrapper's own state (control block, table)
    expect(s.reservedBytes).toBe(256 + 512 + canary.stateBytes);
    expect(s.reservedBytes).toBe(pages.stats().liveBytes);
    canary.deallocate(b);
    canary.resetPeak();
    expect(canary.stats()).toMatchObject({ liveBytes: 10, peakLiveBytes: 10, reservedBytes: 256 + canary.stateBytes });
    canary.deallocate(a);
  });

  it("checks the backing too", () => {
    const tracked = new TrackedBacking(makePages());
    const canary = new CanaryAllocator(tracked);
    canary.check();
    expect(tracked.checks).toBe(1);
  });

  it("follows the space when the backing grows it", () => {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 8 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const canary = new CanaryAllocator(pages);
    const generation = space.generation;
    const ptrs = [];
    for (let i = 0; i < 40; i++) ptrs.push(canary.allocate(30_000));
    expect(space.generation).toBeGreaterThan(generation);
    const last = ptrs[ptrs.length - 1]!;
    space.u8[last + 30_000] = 0;
    catchError(CorruptionError, "ERR_CORRUPTION", () => canary.check());
    space.u8[last + 30_000] = FENCE_BYTE;
    for (const p of ptrs) canary.deallocate(p);
    canary.destroy();
    pages.destroy();
  });

  it("rejects bad options and a missing backing", () => {
    const pages = makePages();
    for (const guardBytes of [0, -1, 1.5, 65537]) {
      const e = catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new CanaryAllocator(pages, { guardBytes }));
      expect(e.message).toContain("CanaryAllocator: option guardBytes must be an integer from 1 to 65536");
    }
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new CanaryAllocator(pages, { checkEvery: -1 }));
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new CanaryAllocator(pages, { freeHistory: 1.5 }));
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new CanaryAllocator(undefined as never));
    expect(new CanaryAllocator(pages, { name: "guarded" }).name).toBe("guarded");
  });
});
