import { describe, expect, it } from "vitest";
import { StaleHandleError } from "@memkit/containers";
import { setup, fill, mismatch } from "./support/setup.js";

describe("RelocatableAllocator basics", () => {
  it("creates, resolves, frees and detects stale handles", () => {
    const { r, space } = setup();
    const a = r.create(100);
    const b = r.create(200);
    expect(a).not.toBe(b);
    const pa = r.resolve(a);
    expect(pa % 8).toBe(0);
    expect(r.sizeOf(a)).toBeGreaterThanOrEqual(100);
    fill(space.u8, r.resolve(b), 200, 2);
    r.free(a);
    expect(() => r.resolve(a)).toThrow(StaleHandleError);
    expect(r.isAlive(a)).toBe(false);
    expect(mismatch(space.u8, r.resolve(b), 200, 2)).toBe(-1);
    r.check();
    r.destroy();
  });

  it("compaction slides blocks down over holes and keeps their bytes", () => {
    const { r, space } = setup();
    const hs: number[] = [];
    for (let i = 0; i < 50; i++) {
      hs.push(r.create(40 + i));
      fill(space.u8, r.resolve(hs[i]!), 40 + i, i);
    }
    for (let i = 0; i < 50; i += 2) r.free(hs[i]!);
    r.check();
    const before = r.storageReport();
    const holes = (rep: { freeHistogram: number[] }): number => rep.freeHistogram.reduce((a, b) => a + b, 0);
    expect(holes(before)).toBe(26); // 25 holes and the chunk's free tail
    const moved = r.compact();
    expect(moved.movedBlocks).toBe(25);
    expect(moved.passDone).toBe(true);
    r.check();
    const after = r.storageReport();
    expect(holes(after)).toBe(1);
    expect(after.fragmentation).toBe(0);
    expect(after.totalFreeBytes).toBeGreaterThan(before.largestFreeBlock);
    for (let i = 1; i < 50; i += 2) expect(mismatch(space.u8, r.resolve(hs[i]!), 40 + i, i)).toBe(-1);
    r.destroy();
  });

  it("a per-frame budget moves at most that much per call and finishes over several calls", () => {
    const { r, space } = setup();
    const hs: number[] = [];
    for (let i = 0; i < 200; i++) {
      hs.push(r.create(64));
      fill(space.u8, r.resolve(hs[i]!), 64, i);
    }
    for (let i = 0; i < 200; i += 2) r.free(hs[i]!);
    let calls = 0;
    for (;;) {
      const res = r.compact({ maxBytes: 512 });
      calls++;
      expect(res.movedBytes + res.movedBlocks * 8 + res.scannedBlocks * 8).toBeLessThanOrEqual(512 + 8 * 2);
      r.check();
      if (res.passDone && res.movedBlocks === 0) break;
      if (calls > 1000) throw new Error("compaction never finished");
    }
    expect(calls).toBeGreaterThan(5);
    expect(r.storageReport().fragmentation).toBe(0);
    for (let i = 1; i < 200; i += 2) expect(mismatch(space.u8, r.resolve(hs[i]!), 64, i)).toBe(-1);
  });

  it("pinned blocks never move; compaction works around them", () => {
    const { r, space } = setup();
    const hs: number[] = [];
    for (let i = 0; i < 10; i++) {
      hs.push(r.create(32));
      fill(space.u8, r.resolve(hs[i]!), 32, i);
    }
    r.free(hs[0]!);
    r.free(hs[5]!);
    const pinned = r.pin(hs[1]!);
    expect(r.pinCount(hs[1]!)).toBe(1);
    const res = r.compact();
    expect(r.resolve(hs[1]!)).toBe(pinned);
    expect(res.skippedBlocks).toBe(1);
    r.check();
    r.unpin(hs[1]!);
    r.compact();
    expect(r.resolve(hs[1]!)).toBeLessThan(pinned);
    for (const i of [1, 2, 3, 4, 6, 7, 8, 9]) expect(mismatch(space.u8, r.resolve(hs[i]!), 32, i)).toBe(-1);
    r.check();
  });
});

describe("the compaction cursor between calls", () => {
  it("stays on a block boundary when the block before it is freed and merges over it", () => {
    const { r, space } = setup();
    const hs: number[] = [];
    for (let i = 0; i < 6; i++) {
      hs.push(r.create(64));
      fill(space.u8, r.resolve(hs[i]!), 64, i);
    }
    r.free(hs[0]!);
    // Moves block 1 down (72 B) and stops at the hole it left (the next move does not fit).
    const res = r.compact({ maxBytes: 100 });
    expect(res.movedBlocks).toBe(1);
    expect(res.passDone).toBe(false);
    r.free(hs[1]!); // merges with the hole the cursor rests on
    r.check();
    r.free(hs[3]!);
    r.check();
    while (!r.compact({ maxBytes: 100 }).passDone) r.check();
    r.check();
    for (const i of [2, 4, 5]) expect(mismatch(space.u8, r.resolve(hs[i]!), 64, i)).toBe(-1);
  });
});

describe("over page spans", () => {
  it("takes the page allocator as its backing: each chunk is a page span, and emptied chunks go back", async () => {
    const { AddressSpace } = await import("@memkit/core");
    const { PageAllocator } = await import("@memkit/page-allocator");
    const { RelocatableAllocator } = await import("../src/index.js");
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space);
    const r = new RelocatableAllocator(pages, { chunkBytes: 64 << 10 });
    const hs: number[] = [];
    for (let i = 0; i < 400; i++) {
      hs.push(r.create(1000));
      fill(space.u8, r.resolve(hs[i]!), 1000, i);
    }
    const chunks = r.relocationStats().chunks;
    expect(chunks).toBeGreaterThan(4);
    for (let i = 0; i < 400; i++) if (i % 5 !== 0) r.free(hs[i]!);
    for (let pass = 0; pass < 10; pass++) r.compact();
    r.check();
    expect(r.relocationStats().chunks).toBeLessThan(chunks / 2);
    // Its page spans: one per chunk, plus the control block and the two tables.
    expect(pages.stats().liveCount).toBe(r.relocationStats().chunks + 3);
    for (let i = 0; i < 400; i += 5) expect(mismatch(space.u8, r.resolve(hs[i]!), 1000, i)).toBe(-1);
    r.destroy();
    expect(pages.stats().liveCount).toBe(0);
  });
});
