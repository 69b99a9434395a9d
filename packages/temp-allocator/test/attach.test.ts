import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, DoubleFreeError, InvalidArgumentError, InvalidPointerError, SpaceHandle } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { FrameAllocator, ScratchAllocator, type FrameGrowthWarning } from "@memkit/temp-allocator";
import { catchError, expectIntact, hold, makePages } from "./helpers.js";

// Every bit of a temp allocator's state is in linear memory: a second handle
// attached from the control block sees, and changes, the same allocator.

describe("FrameAllocator.attach", () => {
  it("shares the frame, the ring and the counters: frames begun through one handle recycle the other's blocks", () => {
    const pages = makePages();
    const a = new FrameAllocator(pages, { chunkBytes: 4096, arenas: 2, growthWarningFactor: Infinity });
    a.beginFrame();
    const early = hold(a, a.allocate(300), 300);
    const b = FrameAllocator.attach(pages.space, a.controlPtr, { backing: pages });
    expect(b === a).toBe(false); // (not.toBe would deep-compare two handles on a whole memory)
    expect([b.frame, b.arenas, b.debug, b.chunkBytes]).toEqual([1, 2, false, 4096]);
    expect(b.owns(early.ptr)).toBe(true);
    expect(b.frameOf(early.ptr)).toBe(1);
    expect(b.beginFrame()).toBe(2);
    expect(a.frame).toBe(2);
    const later = hold(b, b.allocate(5000), 5000); // a chunk chained through b
    expect(a.allocatedSize(later.ptr)).toBe(5000);
    expect(a.stats()).toEqual(b.stats());
    a.beginFrame();
    // Frame 1 was recycled through a: b calls its block stale.
    const err = catchError(() => b.assertLive(early.ptr));
    expect(err).toBeInstanceOf(InvalidPointerError);
    expect(err.message).toMatch(/allocated in frame 1 .*this is frame 3/s);
    expectIntact(a, later);
    a.check();
    b.check();
  });

  it("fires the growth warning once per allocator, through whichever handle grows the frame", () => {
    const pages = makePages();
    const a = new FrameAllocator(pages, { chunkBytes: 4096, growthWarningFactor: 2 });
    const seen: [string, FrameGrowthWarning][] = [];
    const b = FrameAllocator.attach(pages.space, a.controlPtr, { backing: pages, name: "frame-b", onFrameGrowth: (w) => seen.push(["b", w]) });
    for (let i = 0; i < 3; i++) b.allocate(3000); // 3 chunks > 2 x one chunk
    expect(seen.map(([who, w]) => [who, w.allocator, w.frame])).toEqual([["b", "frame-b", 0]]);
    const warn = console.warn;
    let warned = 0;
    console.warn = () => void warned++;
    try {
      for (let i = 0; i < 10; i++) a.allocate(3000);
    } finally {
      console.warn = warn;
    }
    expect(warned).toBe(0);
  });

  it("keeps the debug fill and the freed bits in memory: a second free through the other handle throws", () => {
    const pages = makePages();
    const a = new FrameAllocator(pages, { chunkBytes: 4096, debug: true });
    const p = a.allocate(64);
    const b = FrameAllocator.attach(pages.space, a.controlPtr, { backing: pages });
    expect(b.debug).toBe(true);
    b.deallocate(p);
    expect(() => a.deallocate(p)).toThrow(DoubleFreeError);
    b.beginFrame();
    b.beginFrame();
    pages.space.u8[p] = 0x2a; // a stale write into recycled memory
    expect(() => a.check()).toThrow(/freed frame memory at .* was written after its frame ended/);
  });
});

describe("ScratchAllocator.attach", () => {
  it("shares the marks and the live table: a mark taken through one handle is released through the other", () => {
    const pages = makePages();
    const a = new ScratchAllocator(pages, { chunkBytes: 4096 });
    const keep = hold(a, a.allocate(100), 100);
    const outer = a.mark();
    const b = ScratchAllocator.attach(pages.space, a.controlPtr, { backing: pages });
    expect(b.markDepth).toBe(1);
    const inner = b.mark();
    const blocks = Array.from({ length: 20 }, () => hold(b, b.allocate(700), 700)); // chains chunks through b
    expect(a.stats()).toEqual(b.stats());
    a.release(inner);
    for (const block of blocks) {
      expect(a.owns(block.ptr)).toBe(false);
      expect(() => b.deallocate(block.ptr)).toThrow(DoubleFreeError);
    }
    expect(b.markDepth).toBe(1);
    expect(() => b.release(inner)).toThrow(InvalidArgumentError);
    b.release(outer);
    expect(a.markDepth).toBe(0);
    expectIntact(b, keep);
    b.deallocate(keep.ptr); // the top block: popped
    expect(a.stats().liveCount).toBe(0);
    a.check();
    b.check();
  });

  it("refuses a released pointer whose header survives, through either handle (the live table is in memory)", () => {
    const pages = makePages();
    const a = new ScratchAllocator(pages, { chunkBytes: 4096 });
    const mark = a.mark();
    a.allocate(8);
    const stale = a.allocate(8);
    a.release(mark);
    const b = ScratchAllocator.attach(pages.space, a.controlPtr, { backing: pages });
    const aligned = b.allocate(8, 256); // its padding covers the first block's header, not the stale one's
    expect(aligned - 16).toBeGreaterThan(stale);
    for (const handle of [a, b]) {
      expect(handle.owns(stale)).toBe(false);
      expect(() => handle.deallocate(stale)).toThrow(DoubleFreeError);
    }
    expect(a.owns(aligned)).toBe(true);
  });

  it("reports marks held through another handle as leaks", () => {
    const pages = makePages();
    const a = new ScratchAllocator(pages, { chunkBytes: 4096 });
    const b = ScratchAllocator.attach(pages.space, a.controlPtr, { backing: pages });
    b.mark();
    b.allocate(40);
    expect(() => a.assertReleased()).toThrow(/1 mark still held and 1 block \(40 B\) still allocated/);
  });
});

describe("the temp allocators' lifecycle", () => {
  const kinds = [
    ["FrameAllocator", (pages: PageAllocator) => new FrameAllocator(pages, { chunkBytes: 4096 }), (pages: PageAllocator, ptr: number) => FrameAllocator.attach(pages.space, ptr, { backing: pages })],
    ["ScratchAllocator", (pages: PageAllocator) => new ScratchAllocator(pages, { chunkBytes: 4096 }), (pages: PageAllocator, ptr: number) => ScratchAllocator.attach(pages.space, ptr, { backing: pages })],
  ] as const;

  for (const [kind, create, attach] of kinds) {
    it(`${kind}: detach ends one handle; destroy ends every handle of the thread and retires the control block`, () => {
      const pages = makePages();
      const a = create(pages);
      const p = a.allocate(100);
      const b = attach(pages, a.controlPtr);
      b.detach();
      const err = catchError(() => b.allocate(8));
      expect(err).toBeInstanceOf(DestroyedError);
      expect(err.message).toMatch(/this handle was detached; attach a new handle/);
      expect(b.owns(p)).toBe(false);
      expect(a.owns(p)).toBe(true);
      const found = a instanceof FrameAllocator ? SpaceHandle.lookup(pages.space, a.controlPtr, FrameAllocator) : SpaceHandle.lookup(pages.space, a.controlPtr, ScratchAllocator);
      expect(found === a).toBe(true);
      const c = attach(pages, a.controlPtr);
      c.destroy();
      expect(a.alive).toBe(false);
      expect(() => a.allocate(8)).toThrow(DestroyedError);
      expect(() => a.stats()).toThrow(DestroyedError);
      expect(pages.stats().liveCount).toBe(0);
      expect(() => attach(pages, a.controlPtr)).toThrow(CorruptionError);
      pages.check();
    });

    it(`${kind}: attach refuses what is not its control block with a CorruptionError naming what it found`, () => {
      const pages = makePages();
      const a = create(pages);
      const other = kind === "FrameAllocator" ? new ScratchAllocator(pages) : new FrameAllocator(pages);
      const err = catchError(() => attach(pages, other.controlPtr));
      expect(err).toBeInstanceOf(CorruptionError);
      expect(err.message).toMatch(kind === "FrameAllocator" ? /found magic "SCRT", expected "FRAM"/ : /found magic "FRAM", expected "SCRT"/);
      expect(() => attach(pages, a.controlPtr + 8)).toThrow(CorruptionError);
      expect(() => attach(pages, 3)).toThrow(CorruptionError);
      expect(() => attach(pages, "x" as unknown as number)).toThrow(InvalidArgumentError);
      pages.space.u32[(a.controlPtr >>> 2) + 5]! ^= 1 << 12; // the chunk size, a sealed word
      expect(() => attach(pages, a.controlPtr)).toThrow(/fixed words no longer match their seal/);
    });

    it(`${kind}: attach refuses a backing in another space, or another allocator than the one recorded`, () => {
      const pages = makePages();
      const a = create(pages);
      const elsewhere = makePages();
      const attachWith = (backing: unknown): unknown =>
        kind === "FrameAllocator"
          ? FrameAllocator.attach(pages.space, a.controlPtr, { backing: backing as PageAllocator })
          : ScratchAllocator.attach(pages.space, a.controlPtr, { backing: backing as PageAllocator });
      expect(() => attachWith(elsewhere)).toThrow(/allocates in another address space/);
      expect(() => attachWith(undefined)).toThrow(InvalidArgumentError);
      const impostor = Object.assign(Object.create(pages) as PageAllocator, { controlPtr: pages.controlPtr + 64 });
      expect(() => attachWith(impostor)).toThrow(/leases its chunks from the allocator whose control block is at/);
      expect(attachWith(pages)).toBeInstanceOf(kind === "FrameAllocator" ? FrameAllocator : ScratchAllocator);
    });

    it(`${kind}: a control block at a caller's address is not leased, counted or given back`, () => {
      const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
      const pages = new PageAllocator(space, { pageSize: 4096 });
      const home = pages.allocate(4096); // memory the caller owns
      const options = { chunkBytes: 4096, controlPtr: home + 8 };
      const a = kind === "FrameAllocator" ? new FrameAllocator(pages, options) : new ScratchAllocator(pages, options);
      expect(a.controlPtr).toBe(home + 8);
      expect(a.stats().reservedBytes).toBe(0);
      a.allocate(100);
      const b = attach(pages, home + 8);
      expect(b.stats()).toEqual(a.stats());
      a.destroy();
      expect(pages.owns(home)).toBe(true);
      expect(pages.stats().liveCount).toBe(1);
      expect(() => new FrameAllocator(pages, { controlPtr: 12 })).toThrow(/controlPtr must be a non-zero 8-aligned address/);
    });
  }
});
