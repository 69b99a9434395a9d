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
import { CHUNK_HEADER, FRAME_FREED_BYTE, FrameAllocator } from "@memkit/temp-allocator";
import { CountingBacking, catchError, expectIntact, hold, makePages, type Held } from "./helpers.js";

const HEADER = 8;

function setup(options: { arenas?: number; debug?: boolean; chunkBytes?: number } = {}): {
  pages: PageAllocator;
  backing: CountingBacking;
  frames: FrameAllocator;
} {
  const pages = makePages();
  const backing = new CountingBacking(pages);
  const frames = new FrameAllocator(backing, { chunkBytes: 4096, growthWarningFactor: Infinity, ...options });
  return { pages, backing, frames };
}

describe("FrameAllocator basics", () => {
  it("bumps blocks with an 8-byte header and counts them until their frame is recycled", () => {
    const { frames, backing } = setup();
    expect(frames.frame).toBe(0);
    expect(frames.arenas).toBe(2);
    // The control block is leased from the backing (one 4 KiB page here); chunks come with the first allocation.
    expect(backing.allocateCalls).toBe(1);
    expect(frames.stats().reservedBytes).toBe(4096);
    const a = frames.allocate(10);
    const b = frames.allocate(24);
    expect(b).toBe(a + 16 + HEADER);
    expect(frames.allocate(5, 256) % 256).toBe(0);
    expect(backing.allocateCalls).toBe(2);
    expect(frames.stats()).toMatchObject({ liveCount: 3, liveBytes: 39, allocCount: 3, freeCount: 0, reservedBytes: 4096 + 4096 });
    frames.check();
    expect(frames.beginFrame()).toBe(1);
    expect(frames.stats().liveCount).toBe(3);
    expect(frames.beginFrame()).toBe(2);
    expect(frames.stats()).toMatchObject({ liveCount: 0, liveBytes: 0, freeCount: 3 });
    frames.check();
  });

  it("keeps the peak across recycling and counts every allocation", () => {
    const { frames } = setup();
    frames.allocate(1000);
    const p = frames.allocate(500);
    frames.reallocate(p, 100);
    expect(frames.stats()).toMatchObject({ liveBytes: 1100, peakLiveBytes: 1500, allocCount: 2 });
    frames.beginFrame();
    frames.allocate(300);
    frames.beginFrame();
    expect(frames.stats()).toMatchObject({ liveBytes: 300, peakLiveBytes: 1500, allocCount: 3, freeCount: 2 });
    frames.resetPeak();
    expect(frames.stats().peakLiveBytes).toBe(300);
  });

  it("rejects bad options", () => {
    const pages = makePages();
    for (const arenas of [0, 65, 1.5, -1, Number.NaN]) {
      const err = catchError(() => new FrameAllocator(pages, { arenas }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain("arenas");
    }
    expect(() => new FrameAllocator(pages, { chunkBytes: 100 })).toThrow(/chunkBytes/);
    expect(() => new FrameAllocator(pages, { chunkSize: 4096 } as never)).toThrow(/option chunkSize is now chunkBytes/);
    expect(() => new FrameAllocator(pages, { name: "" })).toThrow(InvalidArgumentError);
  });

  it("deallocate is a no-op for live blocks in release mode", () => {
    const { frames } = setup();
    const a = hold(frames, frames.allocate(64), 64);
    const before = frames.stats();
    frames.deallocate(a.ptr);
    frames.deallocate(a.ptr);
    frames.deallocate(0);
    expect(frames.owns(a.ptr)).toBe(true);
    expect(frames.stats()).toEqual(before);
    expectIntact(frames, a);
  });

  it("refuses foreign, interior and malformed pointers with InvalidPointerError", () => {
    const { frames, pages } = setup();
    const a = hold(frames, frames.allocate(256), 256);
    const other = new FrameAllocator(pages);
    const foreign = other.allocate(64);
    const cases: [number, RegExp][] = [
      [foreign, /not in any of its chunks/],
      [a.ptr + 8, /not the start of a live block/],
      [a.ptr + 1, /not in any of its chunks|not the start/],
      [8, /not in any of its chunks/],
    ];
    for (const [ptr, why] of cases) {
      expect(frames.owns(ptr)).toBe(false);
      for (const call of [() => frames.deallocate(ptr), () => frames.allocatedSize(ptr), () => frames.reallocate(ptr, 8), () => frames.assertLive(ptr)]) {
        const err = catchError(call);
        expect(err).toBeInstanceOf(InvalidPointerError);
        expect(err.message).toContain(hex(ptr));
        expect(err.message).toMatch(why);
      }
    }
    expect(() => frames.deallocate(-1)).toThrow(InvalidPointerError);
    expect(() => frames.assertLive(Number.NaN)).toThrow(InvalidPointerError);
    expectIntact(frames, a);
    frames.check();
  });
});

describe("FrameAllocator frame validity", () => {
  for (const arenas of [1, 2, 3, 5]) {
    it(`keeps frame k's memory through frame k+${arenas - 1} and names the frames of a stale pointer (${arenas} arenas)`, () => {
      const { frames } = setup({ arenas });
      frames.beginFrame();
      frames.beginFrame();
      const k = frames.frame;
      const held: Held[] = [];
      for (let i = 0; i < 30; i++) held.push(hold(frames, frames.allocate(200), 200));
      for (let f = 1; f < arenas; f++) {
        frames.beginFrame();
        // Other frames' allocations do not touch frame k's memory.
        for (let i = 0; i < 30; i++) hold(frames, frames.allocate(200), 200);
        for (const b of held) {
          expectIntact(frames, b);
          frames.assertLive(b.ptr);
          expect(frames.frameOf(b.ptr)).toBe(k);
        }
      }
      frames.beginFrame();
      expect(frames.frame).toBe(k + arenas);
      const err = catchError(() => frames.assertLive(held[5]!.ptr));
      expect(err).toBeInstanceOf(InvalidPointerError);
      expect(err.message).toContain(`allocated in frame ${k}`);
      expect(err.message).toContain(`through frame ${k + arenas - 1}`);
      expect(err.message).toContain(`this is frame ${k + arenas}`);
      expect(frames.owns(held[5]!.ptr)).toBe(false);
      expect(() => frames.deallocate(held[5]!.ptr)).toThrow(/stale frame pointer/);
      frames.check();
    });
  }

  it("recycles the same chunks: a steady frame loop makes no backing calls", () => {
    const { frames, backing } = setup({ arenas: 3, chunkBytes: 8192 });
    const rng = new SeededRandom(42);
    for (let f = 0; f < 20; f++) {
      frames.beginFrame();
      for (let i = 0; i < 200; i++) frames.allocate(rng.int(16, 512));
    }
    const calls = backing.allocateCalls;
    const reserved = frames.stats().reservedBytes;
    let first = 0;
    for (let f = 0; f < 200; f++) {
      frames.beginFrame();
      const p = frames.allocate(64);
      if (f % 3 === 0) {
        if (first === 0) first = p;
        // Every third frame lands in the same arena, at the same address.
        expect(p).toBe(first);
      }
      for (let i = 0; i < 200; i++) frames.allocate(rng.int(16, 512));
    }
    expect(backing.allocateCalls).toBe(calls);
    expect(backing.deallocateCalls).toBe(0);
    expect(frames.stats().reservedBytes).toBe(reserved);
    frames.check();
  });

  it("chains chunks within a frame, gives large requests dedicated chunks, and trims spares", () => {
    const { frames, pages } = setup({ chunkBytes: 4096 });
    const held: Held[] = [];
    for (let i = 0; i < 60; i++) held.push(hold(frames, frames.allocate(700), 700));
    const big = hold(frames, frames.allocate(50_000, 4096), 50_000);
    expect(big.ptr % 4096).toBe(0);
    held.push(big, hold(frames, frames.allocate(100), 100));
    for (const b of held) expectIntact(frames, b);
    frames.check();
    const chunks = pages.stats().liveCount;
    expect(chunks).toBeGreaterThan(60 / 5);
    frames.beginFrame();
    frames.beginFrame();
    // Frame 0's chunks are spares now, except the first, which its arena keeps for this frame;
    // this frame has allocated nothing, so trim() gives that one back too.
    expect(frames.stats().liveCount).toBe(0);
    const freed = frames.trim();
    expect(freed).toBeGreaterThan(50_000);
    // What stays is the control block (leased from the backing: one page).
    expect(pages.stats().liveCount).toBe(1);
    expect(frames.stats().reservedBytes).toBe(4096);
    frames.check();
    frames.destroy();
    expect(pages.stats().liveCount).toBe(0);
    expect(() => frames.allocate(8)).toThrow(/destroyed/);
    expect(() => frames.beginFrame()).toThrow(/destroyed/);
    {
      using disposable = new FrameAllocator(pages, { chunkBytes: 4096 });
      disposable.allocate(100);
      expect(pages.stats().liveCount).toBe(2);
    }
    expect(pages.stats().liveCount).toBe(0);
  });

  it("keeps every block across an address-space grow", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 17, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const frames = new FrameAllocator(pages, { chunkBytes: 8192, arenas: 3, growthWarningFactor: Infinity });
    const generation = space.generation;
    const held: Held[][] = [[], [], []];
    for (let f = 0; f < 3; f++) {
      if (f > 0) frames.beginFrame();
      for (let i = 0; i < 800; i++) held[f]!.push(hold(frames, frames.allocate(100 + (i % 700)), 100 + (i % 700)));
    }
    expect(space.generation).toBeGreaterThan(generation);
    for (const list of held) for (const b of list) expectIntact(frames, b);
    frames.check();
    const last = held[2]![held[2]!.length - 1]!;
    const grown = frames.reallocate(last.ptr, 30_000);
    expectIntact(frames, { ...last, ptr: grown });
    frames.check();
  });

  it("throws OutOfMemoryError naming the request when the backing is exhausted, and keeps working", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const frames = new FrameAllocator(pages, { chunkBytes: 4096, growthWarningFactor: Infinity });
    const held: Held[] = [];
    const err = catchError(() => {
      for (;;) held.push(hold(frames, frames.allocate(999), 999));
    });
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err.message).toContain("frame.allocate");
    expect(err.message).toContain("999 B");
    expect(err.message).toContain('"pages"');
    const before = frames.stats();
    expect(() => frames.allocate(2 ** 32 - 1)).toThrow(/more than the address space can ever hold/);
    expect(frames.stats()).toEqual(before);
    for (const b of held) expectIntact(frames, b);
    frames.check();
    // Two frames later the memory is back.
    frames.beginFrame();
    frames.beginFrame();
    for (let i = 0; i < 100; i++) frames.allocate(999);
    frames.check();
  });
});

describe("FrameAllocator reallocate", () => {
  it("grows and shrinks the most recent block in place, moves others", () => {
    const { frames } = setup({ chunkBytes: 4096 });
    const a = hold(frames, frames.allocate(100), 100);
    const b = frames.allocate(100);
    frames.space.u8.fill(9, b, b + 100);
    expect(frames.reallocate(b, 2000)).toBe(b);
    expect(frames.reallocate(b, 20)).toBe(b);
    expect(frames.allocatedSize(b)).toBe(20);
    expect(frames.stats().liveBytes).toBe(120);
    expect(frames.allocate(8)).toBe(b + 24 + HEADER);
    expect(frames.reallocate(a.ptr, 50)).toBe(a.ptr);
    expect(frames.allocatedSize(a.ptr)).toBe(100);
    const moved = frames.reallocate(a.ptr, 500);
    expect(moved).not.toBe(a.ptr);
    expectIntact(frames, { ...a, ptr: moved });
    // Released on recycling only: the old block is still live in release mode.
    expect(frames.owns(a.ptr)).toBe(true);
    // A block from the previous frame can be reallocated: it moves into this frame.
    frames.beginFrame();
    const again = frames.reallocate(moved, 600);
    expect(frames.frameOf(again)).toBe(1);
    expect(frames.frameOf(moved)).toBe(0);
    expectIntact(frames, { ...a, ptr: again });
    frames.check();
  });
});

describe("FrameAllocator debug mode", () => {
  it("fills recycled frame memory with FRAME_FREED_BYTE", () => {
    const { frames } = setup({ debug: true });
    expect(FRAME_FREED_BYTE).toBe(0xdd);
    const a = hold(frames, frames.allocate(300), 300);
    frames.beginFrame();
    expectIntact(frames, a);
    frames.beginFrame();
    const u8 = frames.space.u8;
    expect(u8.subarray(a.ptr - HEADER, a.ptr + 300).every((x) => x === FRAME_FREED_BYTE)).toBe(true);
    frames.check();
  });

  it("marks deallocated blocks: a second free throws DoubleFreeError, owns turns false", () => {
    const { frames } = setup({ debug: true });
    const a = hold(frames, frames.allocate(64), 64);
    const b = hold(frames, frames.allocate(64), 64);
    frames.deallocate(a.ptr);
    expect(frames.owns(a.ptr)).toBe(false);
    const err = catchError(() => frames.deallocate(a.ptr));
    expect(err).toBeInstanceOf(DoubleFreeError);
    expect(err.message).toContain(hex(a.ptr));
    expect(err.message).toContain("frame 0");
    expect(() => frames.allocatedSize(a.ptr)).toThrow(InvalidPointerError);
    expect(() => frames.reallocate(a.ptr, 8)).toThrow(/already deallocated/);
    expect(frames.stats().liveCount).toBe(2);
    expectIntact(frames, b);
    frames.check();
  });

  it("detects a write through a stale pointer into a recycled arena: check() and beginFrame() name address, offset and frame", () => {
    const { frames } = setup({ debug: true, arenas: 2 });
    frames.beginFrame();
    const stale = frames.allocate(512);
    const chunk = stale - HEADER - CHUNK_HEADER;
    for (let i = 0; i < 5; i++) frames.allocate(64);
    frames.beginFrame();
    frames.beginFrame(); // frame 3: frame 1's arena is recycled and current
    const live = hold(frames, frames.allocate(16), 16);
    frames.check();
    // A stale write past what frame 3 has allocated so far.
    const addr = stale + 100;
    frames.space.u8[addr] = 0x2a;
    const err = catchError(() => frames.check());
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.message).toContain(hex(addr));
    expect(err.message).toContain(`offset +${addr - chunk} in chunk ${hex(chunk)}`);
    expect(err.message).toContain("found 0x2a");
    expect(err.message).toContain("belonged to frame 1");
    expect(err.message).toContain("this is frame 3");
    // beginFrame finds it when the arena is recycled again, begins the frame anyway and repairs the fill.
    frames.beginFrame();
    const again = catchError(() => frames.beginFrame());
    expect(again).toBeInstanceOf(CorruptionError);
    expect(again.message).toContain(hex(addr));
    expect(frames.frame).toBe(5);
    frames.check();
    expect(frames.allocate(16)).toBe(live.ptr);
    frames.check();
  });

  it("detects a stale write where the next allocation would land, refuses that allocation once, then works", () => {
    const { frames } = setup({ debug: true });
    const old = frames.allocate(256);
    frames.beginFrame();
    frames.beginFrame();
    frames.space.u8[old + 10] = 1;
    const err = catchError(() => frames.allocate(256));
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.message).toContain(hex(old + 10));
    expect(err.message).toContain("before handing it out again");
    expect(frames.stats().liveCount).toBe(0);
    const p = frames.allocate(256);
    expect(p).toBe(old);
    frames.check();
  });

  it("assertLive explains a stale pointer with the frame it came from and the frame it is now", () => {
    const { frames } = setup({ debug: true, arenas: 2 });
    frames.beginFrame();
    frames.beginFrame();
    frames.beginFrame();
    const q = frames.allocate(16);
    const p = frames.allocate(128);
    frames.allocate(4000); // the next chunk
    frames.beginFrame();
    frames.assertLive(p);
    frames.beginFrame(); // frame 5: frame 3's memory is recycled
    const err = catchError(() => frames.assertLive(p));
    expect(err).toBeInstanceOf(InvalidPointerError);
    expect(err.message).toContain(hex(p));
    expect(err.message).toContain("stale frame pointer");
    expect(err.message).toContain("frame 3");
    expect(err.message).toContain("this is frame 5");
    // Once its memory is handed out again, the old pointer lies inside the new block: still refused, with the history.
    expect(frames.allocate(64)).toBe(q);
    const inside = catchError(() => frames.assertLive(p));
    expect(inside).toBeInstanceOf(InvalidPointerError);
    expect(inside.message).toContain("not the start of a live block");
    expect(inside.message).toContain("frame 5 reused");
    expect(inside.message).toContain("belonged to frame 3");
    // A new block at exactly the old address is live: that case cannot be told apart (documented).
    frames.beginFrame();
    frames.beginFrame();
    expect(frames.allocate(16)).toBe(q);
    frames.assertLive(q);
  });

  it("in release mode a stale pointer with its header intact also names both frames", () => {
    const { frames } = setup({ arenas: 2 });
    const p = frames.allocate(128);
    frames.beginFrame();
    frames.beginFrame();
    const err = catchError(() => frames.assertLive(p));
    expect(err.message).toContain("allocated in frame 0");
    expect(err.message).toContain("this is frame 2");
  });

  it("in-place shrink refills the freed tail, so later allocations verify cleanly", () => {
    const { frames } = setup({ debug: true });
    const p = frames.allocate(1000);
    expect(frames.reallocate(p, 10)).toBe(p);
    const u8 = frames.space.u8;
    expect(u8.subarray(p + 16, p + 1000).every((x) => x === FRAME_FREED_BYTE)).toBe(true);
    frames.allocate(900);
    frames.check();
  });

  it("trim checks spare chunks before returning them", () => {
    const { frames } = setup({ debug: true, chunkBytes: 4096 });
    for (let i = 0; i < 20; i++) frames.allocate(1000);
    frames.beginFrame();
    frames.beginFrame();
    const spare = frames.storageReport();
    expect(spare.totalFreeBytes).toBeGreaterThan(4096 * 4);
    frames.check();
    expect(frames.trim()).toBeGreaterThan(0);
    frames.check();
  });
});

describe("FrameAllocator long seeded sequence", () => {
  for (const debug of [false, true]) {
    it(`${debug ? "debug" : "release"} mode: frames of random work keep the last frames' blocks and the walk consistent`, () => {
      const { frames, backing } = setup({ debug, arenas: 3, chunkBytes: 16 << 10 });
      const rng = new SeededRandom(debug ? 7 : 11);
      const window: Held[][] = [];
      const totalFrames = debug ? 600 : 3000;
      for (let f = 0; f < totalFrames; f++) {
        if (f > 0) frames.beginFrame();
        const mine: Held[] = [];
        const n = rng.int(0, 300);
        for (let i = 0; i < n; i++) {
          const r = rng.next();
          if (r < 0.01) {
            const size = rng.int(20_000, 80_000);
            mine.push(hold(frames, frames.allocate(size, 64), size));
          } else if (r < 0.1 && mine.length > 0) {
            const j = rng.int(0, mine.length - 1);
            const b = mine[j]!;
            const size = rng.int(1, 1024);
            const ptr = frames.reallocate(b.ptr, size);
            expectIntact(frames, { ...b, ptr, size: Math.min(size, b.size) });
            mine[j] = hold(frames, ptr, size);
          } else {
            const size = rng.int(16, 512);
            mine.push(hold(frames, frames.allocate(size, rng.chance(0.05) ? 128 : 8), size));
          }
        }
        window.push(mine);
        if (window.length > 3) window.shift();
        if (f % 50 === 0 || f === totalFrames - 1) {
          for (const list of window) for (const b of list) expectIntact(frames, b);
          frames.check();
        }
      }
      // Steady state: the frames lease no more chunks than their peak needed.
      expect(frames.stats().reservedBytes).toBeLessThan(4 << 20);
      expect(backing.deallocateCalls).toBe(0);
    });
  }
});
