import { AddressSpace, CorruptionError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, hex } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { describe, expect, it } from "vitest";
import { FREED_BYTE, QuarantineAllocator } from "../src/index.js";
import { TrackedBacking, catchError, holdsPattern, makePages, writePattern } from "./support/fixtures.js";

describe("QuarantineAllocator", () => {
  it("holds freed blocks back, filled with 0x66, so their addresses are not reused", () => {
    const pages = makePages(256);
    const q = new QuarantineAllocator(pages, { maxBytes: 4096 });
    expect(q.name).toBe("quarantine(pages)");
    const a = q.allocate(100);
    writePattern(q, a, 100, 1);
    q.deallocate(a);
    expect(q.owns(a)).toBe(false);
    expect(q.isQuarantined(a)).toBe(true);
    expect(pages.owns(a)).toBe(true); // still held from the backing
    expect(Array.from(q.space.u8.subarray(a, a + 256)).every((b) => b === FREED_BYTE)).toBe(true);
    expect(q.quarantinedBytes).toBe(256);
    expect(q.quarantinedCount).toBe(1);
    expect(q.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, freeCount: 1, reservedBytes: 256 + q.stateBytes });
    const b = q.allocate(100);
    expect(b).not.toBe(a);
    q.deallocate(b);
    q.check();
    q.flush();
    expect(q.quarantinedCount).toBe(0);
    expect(q.stats().reservedBytes).toBe(q.stateBytes);
    expect(pages.stats().liveBytes).toBe(q.stateBytes); // nothing but its own state (control block, table, queue)
  });

  it("releases the oldest first once over maxBytes or maxBlocks", () => {
    const q = new QuarantineAllocator(makePages(256), { maxBytes: 3 * 256 });
    const ptrs = [0, 1, 2, 3, 4].map(() => q.allocate(200));
    for (const p of ptrs) q.deallocate(p);
    expect(ptrs.map((p) => q.isQuarantined(p))).toEqual([false, false, true, true, true]);
    expect(q.quarantinedBytes).toBe(768);

    const byCount = new QuarantineAllocator(makePages(256), { maxBlocks: 2 });
    const small = [0, 1, 2, 3].map(() => byCount.allocate(0));
    for (const p of small) byCount.deallocate(p);
    expect(small.map((p) => byCount.isQuarantined(p))).toEqual([false, false, true, true]);
  });

  it("catches a write after free on check(): offset, expected and found byte, scope, both stacks", () => {
    const tracked = new TrackedBacking(makePages(256));
    const q = new QuarantineAllocator(tracked);
    expect(q.capturesStacks).toBe(true); // the backing captures stacks
    const ptr = q.allocate(24);
    (function dropTheBlock(): void {
      q.deallocate(ptr);
    })();
    q.space.u8[ptr + 5] = 0x2a; // a stale pointer writes
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => q.check());
    expect(error.message).toContain(`quarantine(root/ai): block ${hex(ptr)} (24 B, scope root/ai) —`);
    expect(error.message).toContain("write after free: byte changed at +5 (expected 0x66, found 0x2a), 1 of 256 bytes differ;");
    expect(error.message).toContain("allocated at Blackboard.set (ai/blackboard.ts:57)");
    expect(error.message).toMatch(/\n {2}freed at dropTheBlock/);
    expect(error.message).toContain("use after free");
    expect(q.isQuarantined(ptr)).toBe(true); // check() changes nothing
  });

  it("catches a write after free when the block leaves quarantine; the free that evicted it completes", () => {
    const pages = makePages(256);
    const q = new QuarantineAllocator(pages, { maxBytes: 512 });
    const keep = q.allocate(64);
    writePattern(q, keep, 64, 8);
    const victim = q.allocate(64);
    q.deallocate(victim);
    q.space.u8[victim + 255] = 0; // the last usable byte
    const second = q.allocate(64);
    q.deallocate(second);
    const third = q.allocate(64);
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => q.deallocate(third));
    expect(error.message).toContain(`block ${hex(victim)} (64 B)`);
    expect(error.message).toContain("write after free: byte changed at +255 (expected 0x66, found 0x00)");
    // The victim went back to the backing, the third block is quarantined, the live block is intact.
    expect(q.isQuarantined(victim)).toBe(false);
    expect(pages.owns(victim)).toBe(false);
    expect(q.isQuarantined(third)).toBe(true);
    expect(holdsPattern(q, keep, 64, 8)).toBe(true);
    expect(q.stats()).toMatchObject({ liveCount: 1, liveBytes: 64, freeCount: 3 });
    q.check();
    q.deallocate(keep);
    q.flush();
    expect(pages.stats().liveBytes).toBe(q.stateBytes);
  });

  it("throws DoubleFreeError for a quarantined block, naming the first free's stack", () => {
    const q = new QuarantineAllocator(new TrackedBacking(makePages(256)));
    const ptr = q.allocate(48);
    (function firstRelease(): void {
      q.deallocate(ptr);
    })();
    const before = q.stats();
    const error = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => q.deallocate(ptr));
    expect(error.message).toContain(`quarantine(root/ai).deallocate: double free of block ${hex(ptr)} (48 B, scope root/ai): it was already freed and is still in quarantine.`);
    expect(error.message).toMatch(/\n {2}first freed at firstRelease/);
    expect(error.message).toContain("allocated at Blackboard.set");
    expect(q.stats()).toEqual(before);
    expect(q.isQuarantined(ptr)).toBe(true);
    const use = catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => q.allocatedSize(ptr));
    expect(use.message).toContain("is in quarantine: a use after free");
    catchError(InvalidPointerError, "ERR_INVALID_POINTER", () => q.reallocate(ptr, 10));
  });

  it("still reports a double free after the block left quarantine, and hints at captureStacks without stacks", () => {
    const q = new QuarantineAllocator(makePages(256), { maxBlocks: 1 });
    const a = q.allocate(8);
    const b = q.allocate(8);
    q.deallocate(a);
    const quarantined = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => q.deallocate(a));
    expect(quarantined.message).toContain("Set captureStacks: true on quarantine(pages)");
    q.deallocate(b); // evicts a
    expect(q.isQuarantined(a)).toBe(false);
    const released = catchError(DoubleFreeError, "ERR_DOUBLE_FREE", () => q.deallocate(a));
    expect(released.message).toContain(`double free of block ${hex(a)} (8 B): it was already freed.`);
  });

  it("reallocate quarantines the old block, so a stale pointer's write is caught", () => {
    const q = new QuarantineAllocator(makePages(256), { maxBytes: 256 });
    const ptr = q.allocate(40);
    writePattern(q, ptr, 40, 3);
    const moved = q.reallocate(ptr, 80);
    expect(holdsPattern(q, moved, 40, 3)).toBe(true);
    expect(q.isQuarantined(ptr)).toBe(true);
    q.space.u8[ptr] = 1; // through the stale pointer
    catchError(CorruptionError, "ERR_CORRUPTION", () => q.check());
    // Making room for the next reallocate's old block finds it, before anything changes.
    const error = catchError(CorruptionError, "ERR_CORRUPTION", () => q.reallocate(moved, 120));
    expect(error.message).toContain(`block ${hex(ptr)} (40 B)`);
    expect(q.owns(moved)).toBe(true);
    expect(holdsPattern(q, moved, 40, 3)).toBe(true);
    const again = q.reallocate(moved, 120);
    expect(holdsPattern(q, again, 40, 3)).toBe(true);
    expect(q.stats()).toMatchObject({ liveCount: 1, liveBytes: 120 });
  });

  it("flush() releases everything and reports a broken block after releasing all", () => {
    const pages = makePages(256);
    const q = new QuarantineAllocator(pages);
    const ptrs = [1, 2, 3].map((n) => q.allocate(n * 10));
    for (const p of ptrs) q.deallocate(p);
    q.space.u8[ptrs[1]! + 3] = 9;
    catchError(CorruptionError, "ERR_CORRUPTION", () => q.flush());
    expect(q.quarantinedCount).toBe(0);
    expect(pages.stats().liveBytes).toBe(q.stateBytes);
    q.flush();
  });

  it("flushes and retries when the backing runs out of memory", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const q = new QuarantineAllocator(pages, { maxBytes: 1 << 20 });
    const first = [];
    for (let i = 0; i < 8; i++) first.push(q.allocate(64 << 10));
    for (const p of first) q.deallocate(p);
    expect(q.quarantinedBytes).toBe(8 * (64 << 10));
    // The space cannot hold 8 more blocks beside the quarantined ones.
    const second = [];
    for (let i = 0; i < 8; i++) second.push(q.allocate(64 << 10));
    expect(q.quarantinedCount).toBe(0);
    for (const p of second) q.deallocate(p);
    q.destroy();
    expect(pages.stats().liveCount).toBe(0);
  });

  it("destroy() flushes", () => {
    const pages = makePages(256);
    const q = new QuarantineAllocator(pages);
    q.deallocate(q.allocate(10));
    q.destroy();
    expect(pages.stats().liveCount).toBe(0);
  });

  it("rejects bad options", () => {
    const pages = makePages();
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new QuarantineAllocator(pages, { maxBytes: -1 }));
    catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new QuarantineAllocator(pages, { maxBlocks: 2 ** 21 }));
    const e = catchError(InvalidArgumentError, "ERR_INVALID_ARGUMENT", () => new QuarantineAllocator(pages, { fillByte: 256 }));
    expect(e.message).toBe("QuarantineAllocator: option fillByte must be an integer from 0 to 255, received 256.");
  });
});
