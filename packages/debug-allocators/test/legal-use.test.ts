import { SeededRandom, type Allocator } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { CanaryAllocator, EndOfPageAllocator, FillAllocator, QuarantineAllocator, debugWrap } from "../src/index.js";
import { TrackedBacking, makePages } from "./support/fixtures.js";

type Checked = Allocator & { check(): void; destroy(): void };

interface Live {
  ptr: number;
  size: number;
  seed: number;
}

function fillBlock(a: Allocator, b: Live): void {
  const u8 = a.space.u8;
  for (let i = 0; i < b.size; i++) u8[b.ptr + i] = (b.seed + i * 13) & 0xff;
}

function intact(a: Allocator, b: Live): boolean {
  const u8 = a.space.u8;
  for (let i = 0; i < b.size; i++) if (u8[b.ptr + i] !== ((b.seed + i * 13) & 0xff)) return false;
  return true;
}

/**
 * A long seeded workload that uses every block exactly as allowed: it writes
 * every byte it asked for (and no other), reads them back before each free
 * and reallocate, and runs check() every `checkEvery` ops. Any report is a
 * false alarm.
 */
function legalWorkload(allocator: Checked, ops: number, seed: number): void {
  const rng = new SeededRandom(seed);
  const live: Live[] = [];
  let liveBytes = 0;
  for (let op = 1; op <= ops; op++) {
    const r = rng.next();
    if (live.length === 0 || r < (live.length < 300 ? 0.55 : 0.42)) {
      const size = rng.chance(0.95) ? rng.logUniform(1, 1024) - 1 : rng.int(0, 8192);
      const align = rng.chance(0.2) ? 2 ** rng.int(0, 9) : undefined;
      const ptr = allocator.allocate(size, align);
      const block = { ptr, size, seed: rng.nextU32() };
      fillBlock(allocator, block);
      live.push(block);
      liveBytes += size;
    } else if (r < 0.9) {
      const i = rng.int(0, live.length - 1);
      const block = live[i]!;
      expect(intact(allocator, block)).toBe(true);
      allocator.deallocate(block.ptr);
      live[i] = live[live.length - 1]!;
      live.pop();
      liveBytes -= block.size;
    } else {
      const i = rng.int(0, live.length - 1);
      const block = live[i]!;
      expect(intact(allocator, block)).toBe(true);
      const size = rng.logUniform(1, 2048) - 1;
      const ptr = allocator.reallocate(block.ptr, size);
      const kept = { ptr, size: Math.min(size, block.size), seed: block.seed };
      expect(intact(allocator, kept)).toBe(true);
      const moved = { ptr, size, seed: rng.nextU32() };
      fillBlock(allocator, moved);
      live[i] = moved;
      liveBytes += size - block.size;
    }
    if (op % 10_000 === 0) {
      allocator.check();
      expect(allocator.stats()).toMatchObject({ liveCount: live.length, liveBytes });
    }
  }
  for (const block of live) expect(intact(allocator, block)).toBe(true);
  for (const block of live) allocator.deallocate(block.ptr);
  allocator.check();
  allocator.destroy();
}

describe("legal use never trips a check", () => {
  it("canary (checkEvery 1000)", () => {
    const pages = makePages(256, 512 << 20);
    legalWorkload(new CanaryAllocator(pages, { checkEvery: 1000 }), 200_000, 1);
    expect(pages.stats().liveCount).toBe(0);
  });

  it("end-of-page, both modes", () => {
    const pages = makePages(256, 512 << 20);
    legalWorkload(new EndOfPageAllocator(pages, { checkEvery: 1000 }), 100_000, 2);
    legalWorkload(new EndOfPageAllocator(pages, { mode: "underrun", guardBytes: 24, checkEvery: 1000 }), 100_000, 3);
    expect(pages.stats().liveCount).toBe(0);
  });

  it("random fill", () => {
    const pages = makePages(256, 512 << 20);
    legalWorkload(new FillAllocator(pages, { onAllocate: "random", seed: 4 }), 100_000, 4);
    expect(pages.stats().liveCount).toBe(0);
  });

  it("quarantine (small and large bounds)", () => {
    const pages = makePages(256, 512 << 20);
    legalWorkload(new QuarantineAllocator(pages, { maxBytes: 16 << 10, checkEvery: 1000 }), 100_000, 5);
    legalWorkload(new QuarantineAllocator(pages, { maxBytes: 8 << 20, maxBlocks: 20_000, checkEvery: 5000 }), 100_000, 6);
    expect(pages.stats().liveCount).toBe(0);
  });

  it("the whole debug stack over a scope that tracks origins and stacks", () => {
    const pages = makePages(256, 512 << 20);
    legalWorkload(debugWrap(new TrackedBacking(pages), { checkEvery: 2000, quarantine: { maxBytes: 256 << 10 } }), 200_000, 7);
    expect(pages.stats().liveCount).toBe(0);
  });
});
