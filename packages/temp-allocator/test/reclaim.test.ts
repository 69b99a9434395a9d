import { describe, expect, it } from "vitest";
import { OutOfMemoryError } from "@memkit/core";
import { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import { CountingBacking, makePages } from "./helpers.js";

const MiB = 1 << 20;

describe("temp allocators give memory back", () => {
  it("frame: trim() gives back a big first chunk once every frame was recycled, so a request that fitted before fits again", () => {
    const pages = makePages({ initialBytes: 4 * MiB, maximumBytes: 4 * MiB });
    // A backing that does not pass on reclaim requests: only trim() can give the chunk back.
    const frame = new FrameAllocator(new CountingBacking(pages), { chunkBytes: 64 << 10, growthWarningFactor: Infinity });
    pages.deallocate(pages.allocate(3 * MiB)); // fits in a fresh memory
    frame.beginFrame();
    frame.allocate(3 * MiB); // a dedicated chunk, the first of its arena
    frame.beginFrame();
    frame.beginFrame(); // that frame is recycled; its arena keeps the chunk for frame 3
    expect(() => pages.allocate(3 * MiB)).toThrow(OutOfMemoryError);
    expect(frame.trim()).toBeGreaterThanOrEqual(3 * MiB);
    expect(frame.stats().reservedBytes).toBe(4096); // its control block, leased from the backing
    pages.deallocate(pages.allocate(3 * MiB));
    frame.check();
    // The frame still works and chains a fresh chunk.
    const p = frame.allocate(100);
    expect(frame.owns(p)).toBe(true);
    frame.check();
    pages.check();
  });

  it("frame: the page allocator's reclaim takes empty arenas' chunks and spares, and blocks of live frames stay", () => {
    const pages = makePages({ initialBytes: 4 * MiB, maximumBytes: 4 * MiB });
    const frame = new FrameAllocator(pages, { chunkBytes: 64 << 10, arenas: 3, growthWarningFactor: Infinity });
    frame.beginFrame();
    frame.allocate(2 * MiB);
    frame.allocate(500_000);
    frame.beginFrame();
    const kept = frame.allocate(1000);
    pages.space.u8.fill(0x77, kept, kept + 1000);
    frame.beginFrame();
    frame.beginFrame(); // frame 1 recycled: its arena is current, empty, with a 2 MiB first chunk; frame 2's block stays live
    expect(frame.stats().reservedBytes).toBeGreaterThan(2.5 * MiB);
    const span = pages.allocate(2_400_000); // the pages of frame 1's two chunks
    expect(frame.frameOf(kept)).toBe(2);
    expect(pages.space.u8.subarray(kept, kept + 1000).every((b) => b === 0x77)).toBe(true);
    frame.check();
    pages.check();
    pages.deallocate(span);
    expect(frame.owns(frame.allocate(64))).toBe(true);
    frame.check();
  });

  it("frame in debug mode: reclaim keeps the fill checks whole", () => {
    const pages = makePages({ initialBytes: 2 * MiB, maximumBytes: 2 * MiB });
    const frame = new FrameAllocator(pages, { chunkBytes: 64 << 10, debug: true });
    for (let i = 0; i < 4; i++) {
      frame.beginFrame();
      frame.allocate(300_000);
      frame.allocate(100);
    }
    frame.beginFrame();
    frame.beginFrame();
    expect(frame.reclaim()).toBeGreaterThan(600_000);
    frame.check();
    frame.beginFrame();
    frame.allocate(1000);
    frame.check();
  });

  it("scratch: trim() and reclaim give back every chunk once nothing is live and no mark is held", () => {
    const pages = makePages({ initialBytes: 4 * MiB, maximumBytes: 4 * MiB });
    const scratch = new ScratchAllocator(new CountingBacking(pages), { chunkBytes: 64 << 10 });
    const mark = scratch.mark();
    scratch.allocate(2 * MiB);
    scratch.allocate(100);
    scratch.release(mark);
    expect(scratch.trim()).toBeGreaterThan(0);
    expect(scratch.stats().reservedBytes).toBe(4096); // its control block, leased from the backing
    scratch.check();
    pages.deallocate(pages.allocate(3 * MiB));

    // Through the page allocator: a held mark keeps its chunk, released ones do not.
    const registered = new ScratchAllocator(pages, { chunkBytes: 64 << 10 });
    const outer = registered.mark();
    const live = registered.allocate(1000);
    pages.space.u8.fill(0x42, live, live + 1000);
    const inner = registered.mark();
    registered.allocate(2 * MiB);
    registered.release(inner);
    const span = pages.allocate(3 * MiB);
    expect(registered.owns(live)).toBe(true);
    expect(pages.space.u8.subarray(live, live + 1000).every((b) => b === 0x42)).toBe(true);
    registered.check();
    pages.deallocate(span);
    registered.release(outer);
    // The chunk and the (empty) tables of marks and live blocks go back; the control block stays.
    expect(registered.reclaim()).toBe((64 << 10) + 4096);
    expect(registered.stats().reservedBytes).toBe(4096);
    const again = registered.allocate(10);
    expect(registered.allocatedSize(again)).toBe(10);
    registered.check();
    pages.check();
  });
});
