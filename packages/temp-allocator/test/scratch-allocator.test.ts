import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  CorruptionError,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidPointerError,
  OutOfMemoryError,
  SeededRandom,
  hex,
} from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { CHUNK_HEADER, ScratchAllocator, type ScratchMark } from "@memkit/temp-allocator";
import { catchError, expectIntact, hold, makePages, scratchRig, type Held } from "./helpers.js";

const HEADER = 16;

describe("ScratchAllocator basics", () => {
  it("takes no chunk until the first allocation, then bumps contiguously", () => {
    const { scratch, backing } = scratchRig();
    // The control block is leased from the backing (one 4 KiB page here); the tables of marks and
    // live blocks and the first chunk come with the first allocation.
    expect(scratch.stats().reservedBytes).toBe(4096);
    expect(backing.allocateCalls).toBe(1);
    const a = scratch.allocate(10);
    const b = scratch.allocate(24);
    const c = scratch.allocate(0);
    expect(backing.allocateCalls).toBe(3);
    expect(a % 8).toBe(0);
    // 10 bytes round up to 16, then the next block's 16-byte header.
    expect(b).toBe(a + 16 + HEADER);
    expect(c).toBe(b + 24 + HEADER);
    expect(scratch.allocatedSize(a)).toBe(10);
    expect(scratch.allocatedSize(c)).toBe(0);
    expect(scratch.stats()).toMatchObject({ liveCount: 3, liveBytes: 34, allocCount: 3, freeCount: 0, reservedBytes: 3 * 4096 });
    scratch.check();
  });

  it("keeps the caller's alignment and walks padding records", () => {
    const { scratch } = scratchRig(1 << 16);
    const ptrs: number[] = [];
    for (const align of [1, 2, 16, 64, 4096, 8, 256, 32]) {
      const p = scratch.allocate(3, align);
      expect(p % Math.max(align, 8)).toBe(0);
      ptrs.push(p);
    }
    scratch.check();
    // Pop them all in reverse: padding does not get in the way.
    for (const p of ptrs.reverse()) scratch.deallocate(p);
    expect(scratch.stats().liveCount).toBe(0);
    scratch.check();
    expect(scratch.allocate(3, 1)).toBe(ptrs[ptrs.length - 1]);
  });

  it("rejects bad options", () => {
    const pages = makePages();
    for (const chunkBytes of [0, 1000, 1023, 4097, 2 ** 31, Number.NaN]) {
      expect(() => new ScratchAllocator(pages, { chunkBytes })).toThrow(InvalidArgumentError);
    }
    expect(() => new ScratchAllocator(pages, { name: "" })).toThrow(/name must be a non-empty string/);
    // The old name of chunkBytes would otherwise be ignored silently.
    expect(() => new ScratchAllocator(pages, { chunkSize: 4096 } as never)).toThrow(/option chunkSize is now chunkBytes/);
    expect(new ScratchAllocator(pages, { name: "tmp" }).name).toBe("tmp");
  });
});

describe("ScratchAllocator deallocate", () => {
  it("pops the most recent block, and freeing in reverse order reclaims everything", () => {
    const { scratch } = scratchRig();
    const blocks = [scratch.allocate(100), scratch.allocate(7), scratch.allocate(300)];
    scratch.deallocate(blocks[2]!);
    expect(scratch.owns(blocks[2]!)).toBe(false);
    expect(scratch.allocate(300)).toBe(blocks[2]);
    scratch.deallocate(blocks[2]!);
    scratch.deallocate(blocks[1]!);
    scratch.deallocate(blocks[0]!);
    expect(scratch.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, freeCount: 4, allocCount: 4 });
    expect(scratch.allocate(1)).toBe(blocks[0]);
    scratch.check();
  });

  it("keeps the peak across pops, releases and resets and counts every allocation", () => {
    const { scratch } = scratchRig();
    const m = scratch.mark();
    scratch.allocate(1000);
    const p = scratch.allocate(500);
    scratch.deallocate(p);
    expect(scratch.stats()).toMatchObject({ liveBytes: 1000, peakLiveBytes: 1500, allocCount: 2, freeCount: 1 });
    scratch.release(m);
    scratch.allocate(200);
    scratch.reset();
    expect(scratch.stats()).toMatchObject({ liveBytes: 0, peakLiveBytes: 1500, allocCount: 3, freeCount: 3 });
    scratch.allocate(40);
    scratch.resetPeak();
    expect(scratch.stats().peakLiveBytes).toBe(40);
  });

  it("treats freeing any other block as a no-op until a release covers it", () => {
    const { scratch } = scratchRig();
    const a = hold(scratch, scratch.allocate(40), 40);
    const b = hold(scratch, scratch.allocate(40), 40);
    const m = scratch.mark();
    const c = scratch.allocate(40);
    scratch.deallocate(a.ptr);
    expect(scratch.owns(a.ptr)).toBe(true);
    expect(scratch.stats().liveCount).toBe(3);
    // A second free of a block that was never popped is the same no-op.
    scratch.deallocate(a.ptr);
    scratch.deallocate(c);
    // b is the top again but belongs to the scope outside the mark: not popped.
    scratch.deallocate(b.ptr);
    expect(scratch.owns(b.ptr)).toBe(true);
    expect(scratch.stats().liveCount).toBe(2);
    expectIntact(scratch, a);
    expectIntact(scratch, b);
    const d = scratch.allocate(40);
    expect(d).toBe(c);
    scratch.release(m);
    scratch.deallocate(b.ptr);
    expect(scratch.owns(b.ptr)).toBe(false);
    scratch.check();
  });

  it("throws DoubleFreeError for a popped or released block and InvalidPointerError for foreign ones", () => {
    const { scratch, pages } = scratchRig();
    const keep = hold(scratch, scratch.allocate(64), 64);
    const popped = scratch.allocate(32);
    scratch.deallocate(popped);
    const err = catchError(() => scratch.deallocate(popped));
    expect(err).toBeInstanceOf(DoubleFreeError);
    expect(err.message).toContain(hex(popped));
    expect(err.message).toContain("scratch.deallocate");
    const m = scratch.mark();
    const released = scratch.allocate(48);
    scratch.allocate(16);
    scratch.release(m);
    expect(() => scratch.deallocate(released)).toThrow(DoubleFreeError);
    expect(() => scratch.allocatedSize(released)).toThrow(InvalidPointerError);
    expect(() => scratch.reallocate(released, 8)).toThrow(InvalidPointerError);
    const other = new ScratchAllocator(pages);
    const foreign = other.allocate(64);
    for (const bad of [foreign, keep.ptr + 8, keep.ptr + 1, 8, pages.space.byteLength + 64]) {
      expect(scratch.owns(bad)).toBe(false);
      const e = catchError(() => scratch.deallocate(bad));
      expect(e).toBeInstanceOf(InvalidPointerError);
      expect(e.message).toContain(hex(bad));
    }
    expect(() => scratch.deallocate(-8)).toThrow(InvalidPointerError);
    expect(() => scratch.deallocate(Number.NaN)).toThrow(InvalidPointerError);
    expectIntact(scratch, keep);
    expect(scratch.stats().liveCount).toBe(1);
    scratch.check();
  });

  it("reports a header overwritten below the top block as corruption and stays usable", () => {
    const { scratch } = scratchRig();
    const m = scratch.mark();
    const a = scratch.allocate(16);
    const b = scratch.allocate(16);
    // An overrun of a writes into b's header.
    scratch.space.u8.fill(0x41, a, a + 16 + HEADER);
    expect(() => scratch.deallocate(b)).toThrow(CorruptionError);
    expect(() => scratch.check()).toThrow(/header of block/);
    scratch.release(m);
    scratch.check();
    expect(scratch.allocate(16)).toBe(a);
  });
});

describe("ScratchAllocator chunks", () => {
  it("chains a new chunk when the current one is exhausted and keeps every block", () => {
    const { scratch, backing } = scratchRig(4096);
    const held: Held[] = [];
    for (let i = 0; i < 100; i++) held.push(hold(scratch, scratch.allocate(500), 500));
    // 4096 - 32 header = 4064 usable: 7 blocks of 516 fit per chunk (plus the control block and the tables).
    expect(backing.allocateCalls).toBe(Math.ceil(100 / 7) + 2);
    for (const b of held) expectIntact(scratch, b);
    scratch.check();
    // Popping back across chunk boundaries works too.
    for (let i = held.length - 1; i >= 0; i--) scratch.deallocate(held[i]!.ptr);
    expect(scratch.stats().liveCount).toBe(0);
    scratch.check();
  });

  it("gives a request larger than a chunk a dedicated chunk, and reuses it as a spare", () => {
    const { scratch, backing } = scratchRig(4096);
    const small = hold(scratch, scratch.allocate(100), 100);
    const m = scratch.mark();
    const big = hold(scratch, scratch.allocate(100_000, 64), 100_000);
    expect(big.ptr % 64).toBe(0);
    expect(scratch.allocatedSize(big.ptr)).toBe(100_000);
    expect(scratch.stats().reservedBytes).toBeGreaterThanOrEqual(4096 + 100_000 + CHUNK_HEADER + HEADER);
    const after = hold(scratch, scratch.allocate(100), 100);
    expectIntact(scratch, small);
    expectIntact(scratch, big);
    expectIntact(scratch, after);
    scratch.check();
    scratch.release(m);
    const calls = backing.allocateCalls;
    const again = scratch.allocate(90_000);
    expect(backing.allocateCalls).toBe(calls);
    expect(scratch.owns(again)).toBe(true);
    scratch.check();
  });

  it("trim returns spare chunks to the backing and keeps the ones in use", () => {
    const { scratch, backing, pages } = scratchRig(4096);
    const keep = hold(scratch, scratch.allocate(64), 64);
    const m = scratch.mark();
    for (let i = 0; i < 30; i++) scratch.allocate(1000);
    scratch.release(m);
    // The control block and the tables take a page each.
    const live = pages.stats().liveCount - 2;
    expect(live).toBeGreaterThan(1);
    const freed = scratch.trim();
    expect(freed).toBe((live - 1) * 4096);
    expect(pages.stats().liveCount).toBe(3);
    expect(backing.deallocateCalls).toBe(live - 1);
    expect(scratch.stats().reservedBytes).toBe(3 * 4096);
    expectIntact(scratch, keep);
    expect(scratch.trim()).toBe(0);
    scratch.check();
    scratch.destroy();
    expect(pages.stats().liveCount).toBe(0);
    expect(() => scratch.allocate(8)).toThrow(/destroyed/);
    {
      using disposable = new ScratchAllocator(pages, { chunkBytes: 4096 });
      disposable.allocate(100);
      expect(pages.stats().liveCount).toBe(3);
    }
    expect(pages.stats().liveCount).toBe(0);
  });

  it("keeps every block across an address-space grow", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 17, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const scratch = new ScratchAllocator(pages, { chunkBytes: 8192 });
    const generation = space.generation;
    const held: Held[] = [];
    for (let i = 0; i < 2000; i++) held.push(hold(scratch, scratch.allocate(100 + (i % 900)), 100 + (i % 900)));
    expect(space.generation).toBeGreaterThan(generation);
    for (const b of held) expectIntact(scratch, b);
    scratch.check();
    const top = held[held.length - 1]!;
    const grown = scratch.reallocate(top.ptr, 30_000);
    expectIntact(scratch, { ...top, ptr: grown });
    scratch.check();
  });

  it("throws OutOfMemoryError naming the request when the backing is exhausted, and keeps working", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const scratch = new ScratchAllocator(pages, { chunkBytes: 4096 });
    const held: Held[] = [];
    const err = catchError(() => {
      for (;;) held.push(hold(scratch, scratch.allocate(1000), 1000));
    });
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err.message).toContain("scratch.allocate");
    expect(err.message).toContain("1,000 B");
    const before = scratch.stats();
    expect(() => scratch.allocate(2 ** 32 - 1)).toThrow(OutOfMemoryError);
    expect(scratch.stats()).toEqual(before);
    for (const b of held) expectIntact(scratch, b);
    scratch.check();
    scratch.deallocate(held.pop()!.ptr);
    held.push(hold(scratch, scratch.allocate(1000), 1000));
    for (const b of held) expectIntact(scratch, b);
  });
});

describe("ScratchAllocator reallocate", () => {
  it("grows and shrinks the top block in place while the chunk has room", () => {
    const { scratch } = scratchRig(4096);
    const a = hold(scratch, scratch.allocate(100), 100);
    const b = scratch.allocate(100);
    scratch.space.u8.fill(7, b, b + 100);
    expect(scratch.reallocate(b, 1000)).toBe(b);
    expect(scratch.allocatedSize(b)).toBe(1000);
    expect(scratch.reallocate(b, 10)).toBe(b);
    expect(scratch.stats().liveBytes).toBe(110);
    expect(scratch.space.u8.subarray(b, b + 10).every((x) => x === 7)).toBe(true);
    // The next block follows the shrunk one.
    expect(scratch.allocate(8)).toBe(b + 16 + HEADER);
    expectIntact(scratch, a);
    scratch.check();
  });

  it("moves a non-top block when growing, keeps it when shrinking, and moves a top block that does not fit", () => {
    const { scratch } = scratchRig(4096);
    const a = hold(scratch, scratch.allocate(100), 100);
    scratch.allocate(8);
    expect(scratch.reallocate(a.ptr, 50)).toBe(a.ptr);
    expect(scratch.allocatedSize(a.ptr)).toBe(100);
    const moved = scratch.reallocate(a.ptr, 300);
    expect(moved).not.toBe(a.ptr);
    expectIntact(scratch, { ...a, ptr: moved });
    expect(scratch.owns(a.ptr)).toBe(true);
    const grown = scratch.reallocate(moved, 10_000);
    expect(grown).not.toBe(moved);
    expectIntact(scratch, { ...a, ptr: grown });
    expect(scratch.allocatedSize(grown)).toBe(10_000);
    scratch.check();
  });

  it("does not grow a block from outside the innermost mark in place", () => {
    const { scratch } = scratchRig(4096);
    const a = hold(scratch, scratch.allocate(100), 100);
    const m = scratch.mark();
    const moved = scratch.reallocate(a.ptr, 200);
    expect(moved).not.toBe(a.ptr);
    scratch.release(m);
    expect(scratch.owns(moved)).toBe(false);
    expectIntact(scratch, a);
    expect(scratch.allocatedSize(a.ptr)).toBe(100);
    scratch.check();
  });
});

describe("ScratchAllocator storage report", () => {
  it("describes the rest of the current chunk and the spares", () => {
    const { scratch } = scratchRig(4096);
    const m = scratch.mark();
    for (let i = 0; i < 10; i++) scratch.allocate(1000);
    scratch.release(m);
    scratch.allocate(1000);
    const report = scratch.storageReport();
    expect(report.reservedBytes).toBe(scratch.stats().reservedBytes);
    expect(report.usedBytes).toBe(1000);
    const chunks = report.reservedBytes / 4096 - 2; // the control block and the tables take a page each
    expect(report.totalFreeBytes).toBe(4096 - CHUNK_HEADER - 1016 + (chunks - 1) * (4096 - CHUNK_HEADER));
    expect(report.largestFreeBlock).toBe(4096 - CHUNK_HEADER - HEADER);
    expect(report.freeHistogram.reduce((x, y) => x + y, 0)).toBe(chunks);
  });
});

describe("ScratchAllocator long seeded sequence", () => {
  it("nested scopes of random work keep every live block and the walk consistent", () => {
    const { scratch } = scratchRig(8192);
    const rng = new SeededRandom(0xc0ffee);
    const scopes: { mark: ScratchMark; held: Held[] }[] = [];
    let outer: Held[] = [];
    for (let op = 0; op < 200_000; op++) {
      const r = rng.next();
      const held = scopes.length > 0 ? scopes[scopes.length - 1]!.held : outer;
      if (r < 0.04 && scopes.length < 40) {
        scopes.push({ mark: scratch.mark(), held: [] });
      } else if (r < 0.075 && scopes.length > 0) {
        // Usually the innermost scope; sometimes an outer one, dropping the inner marks.
        const k = rng.chance(0.8) ? scopes.length - 1 : rng.int(0, scopes.length - 1);
        scratch.release(scopes[k]!.mark);
        scopes.length = k;
      } else if (r < 0.2 && held.length > 0) {
        const b = held.pop()!;
        expectIntact(scratch, b);
        scratch.deallocate(b.ptr);
      } else if (r < 0.25 && held.length > 0) {
        const i = rng.int(0, held.length - 1);
        const b = held[i]!;
        const size = rng.logUniform(1, 3000);
        const ptr = scratch.reallocate(b.ptr, size);
        expectIntact(scratch, { ...b, ptr, size: Math.min(size, b.size) });
        held[i] = hold(scratch, ptr, size);
      } else if (r < 0.002 + 0.25) {
        scratch.reset();
        scopes.length = 0;
        outer = [];
      } else {
        const size = rng.chance(0.01) ? rng.int(8000, 40_000) : rng.logUniform(1, 601) - 1;
        held.push(hold(scratch, scratch.allocate(size, rng.chance(0.1) ? 2 ** rng.int(0, 9) : 8), size));
      }
      if (op % 20_000 === 0) {
        scratch.check();
        for (const b of outer) expectIntact(scratch, b);
        for (const s of scopes) for (const b of s.held) expectIntact(scratch, b);
      }
    }
    scratch.check();
  });
});
