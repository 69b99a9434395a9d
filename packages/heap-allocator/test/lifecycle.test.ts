// The heap's spans over its life (leased, cached, returned, destroyed) and second handles on it (attach).
import { AllocatorError, CorruptionError, DestroyedError, InvalidArgumentError, InvalidPointerError, SpaceHandle } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";
import { describe, expect, it } from "vitest";
import { W_FL_MAP, W_HEADS, W_LIVE, W_SL_MAP } from "../src/layout.js";
import { makeRig, thrown } from "./helpers.js";

describe("spans", () => {
  it("leases spans as it grows and returns empty ones, keeping the home span and one cached", () => {
    const { heap, pages } = makeRig({ spanBytes: 16 << 10 });
    const base = pages.stats();
    const ptrs = Array.from({ length: 64 }, () => heap.allocate(4000));
    const grown = heap.stats().reservedBytes;
    expect(grown).toBeGreaterThan(10 * (16 << 10));
    heap.check();
    for (const p of ptrs) heap.deallocate(p);
    heap.check();
    const s = heap.stats();
    expect(s.reservedBytes).toBeLessThanOrEqual(2 * (16 << 10));
    expect(pages.stats().liveCount).toBe(base.liveCount + 1); // the home span was counted in base; one more stays cached
    let heapSpans = 0;
    pages.forEachSpan((_p, _b, used, tag) => {
      if (used && tag >>> 24 === heap.ownerId) heapSpans++;
    });
    expect(heapSpans).toBe(s.reservedBytes / (16 << 10));
  });

  it("reuses the cached empty span instead of leasing again", () => {
    const { heap, pages } = makeRig({ spanBytes: 16 << 10 });
    const fill = heap.allocate(heap.storageReport().largestFreeBlock);
    const p = heap.allocate(4000); // leases a second span
    const leases = pages.stats().allocCount;
    for (let i = 0; i < 10; i++) {
      heap.deallocate(heap.allocate(4000));
    }
    heap.deallocate(p); // the span empties and stays cached
    expect(heap.allocate(4000)).toBe(p);
    expect(pages.stats().allocCount).toBe(leases);
    heap.deallocate(fill);
    heap.check();
  });

  it("leases an oversized span for a large request and returns it when freed", () => {
    const { heap } = makeRig({ spanBytes: 16 << 10 });
    const before = heap.stats().reservedBytes;
    const big = heap.allocate(200_000);
    expect(heap.stats().reservedBytes).toBeGreaterThanOrEqual(before + 200_000);
    heap.check();
    heap.deallocate(big);
    expect(heap.stats().reservedBytes).toBe(before);
    heap.check();
  });

  it("throws OutOfMemoryError naming the size when the space is exhausted, and keeps working", () => {
    const { heap } = makeRig({ maximumBytes: 2 << 20, spanBytes: 64 << 10 });
    const p = heap.allocate(1000);
    const err = thrown(() => heap.allocate(4 << 20));
    expect(err.code).toBe("ERR_OUT_OF_MEMORY");
    expect(err.message).toContain("4,194,304 B (4.00 MiB)");
    expect(thrown(() => heap.allocate(2 ** 31)).message).toContain("page allocator");
    heap.deallocate(p);
    heap.check();
    expect(heap.allocate(1000)).toBe(p);
  });

  it("destroy() returns every span and leaves a handle that refuses work", () => {
    const { heap, pages } = makeRig({ spanBytes: 16 << 10 });
    const base = pages.stats().liveCount;
    const p = heap.allocate(100);
    for (let i = 0; i < 20; i++) heap.allocate(3000);
    expect(pages.stats().liveCount).toBeGreaterThan(base);
    heap.destroy();
    heap.destroy();
    expect(pages.stats().liveCount).toBe(base - 1); // the home span was leased before `base` was read
    pages.check();
    expect(() => heap.allocate(10)).toThrow(AllocatorError);
    expect(() => heap.allocate(10, 64)).toThrow(AllocatorError);
    expect(() => heap.deallocate(p)).toThrow(AllocatorError);
    expect(heap.owns(p)).toBe(false);
    expect(() => heap.stats()).toThrow(DestroyedError);
    expect(() => heap.storageReport()).toThrow(DestroyedError);
    expect(() => heap.check()).toThrow(DestroyedError);
    expect(() => HeapAllocator.attach(pages.space, heap.controlPtr)).toThrow(/was destroyed|no HeapAllocator control block/);
  });
});

describe("attach", () => {
  it("gives a second handle on the same heap: state lives in linear memory", () => {
    const { heap, pages, space } = makeRig({ spanBytes: 16 << 10 });
    const a = heap.allocate(100);
    const twin = HeapAllocator.attach(space, heap.controlPtr, { name: "twin" });
    expect(twin.name).toBe("twin");
    expect(twin.pages).toBe(pages); // this thread's live handle on the page allocator the heap records
    expect(twin.ownerId).toBe(heap.ownerId);
    expect(twin.spanBytes).toBe(heap.spanBytes);
    expect(twin.owns(a)).toBe(true);
    expect(twin.allocatedSize(a)).toBe(100);
    const b = twin.allocate(50_000); // leases a span through the twin
    expect(heap.owns(b)).toBe(true);
    heap.deallocate(b);
    expect(() => twin.deallocate(b)).toThrow(InvalidPointerError); // its span went back to the pages
    twin.deallocate(a);
    expect(() => heap.deallocate(a)).toThrow();
    expect(heap.stats()).toEqual(twin.stats());
    heap.check();
    twin.check();
    twin.detach();
    expect(() => twin.allocate(8)).toThrow(DestroyedError);
    expect(heap.allocate(8)).toBeGreaterThan(0); // detaching a handle leaves the heap alone
    heap.check();
  });

  it("names itself as the heap registered with its page allocator, and attaches a page allocator handle (shared, left alive) when the thread has none", () => {
    const { heap, pages, space } = makeRig({ name: "physics" });
    const p = heap.allocate(1000);
    heap.detach();
    pages.detach();
    expect(SpaceHandle.lookup(space, pages.controlPtr, PageAllocator)).toBeUndefined();
    const again = HeapAllocator.attach(space, heap.controlPtr);
    expect(again.name).toBe("physics");
    expect(again.pages.alive).toBe(true);
    expect(again.pages.controlPtr).toBe(pages.controlPtr);
    expect(again.allocatedSize(p)).toBe(1004);
    again.check();
    again.detach();
    // The page handle it attached is shared with whatever attaches next in this thread: the heap does not end it.
    expect(again.pages.alive).toBe(true);
    expect(SpaceHandle.lookup(space, pages.controlPtr, PageAllocator)).toBe(again.pages);
  });

  it("refuses a pointer that is not a heap control block, a destroyed heap, or another page allocator", () => {
    const { heap, pages, space } = makeRig();
    const elsewhere = makeRig({ pageSize: 1024 }); // (an identical rig would hold an identical heap at the same address)
    expect(() => HeapAllocator.attach(space, heap.controlPtr + 8)).toThrow(CorruptionError);
    expect(() => HeapAllocator.attach(space, 0)).toThrow(CorruptionError);
    expect(() => HeapAllocator.attach(space, -4)).toThrow(CorruptionError);
    expect(() => HeapAllocator.attach(space, "8" as unknown as number)).toThrow(InvalidArgumentError);
    expect(() => HeapAllocator.attach(elsewhere.space, heap.controlPtr)).toThrow(CorruptionError); // another memory: no heap there
    expect(() => HeapAllocator.attach(space, heap.controlPtr, { pages: elsewhere.pages })).toThrow(InvalidArgumentError);
    const second = new HeapAllocator(pages);
    expect(second.controlPtr).not.toBe(heap.controlPtr);
    second.destroy();
    expect(() => HeapAllocator.attach(space, second.controlPtr)).toThrow(/was destroyed/);
  });

  it("refuses damage to the control block with CorruptionError saying what it found", () => {
    const { heap, space } = makeRig();
    heap.allocate(100);
    const w = heap.controlPtr >>> 2;
    const damage = (word: number, value: number, expected: RegExp): void => {
      const saved = space.u32[w + word]!;
      space.u32[w + word] = value;
      expect(() => HeapAllocator.attach(space, heap.controlPtr)).toThrow(expected);
      space.u32[w + word] = saved;
    };
    damage(5, heap.ownerId + 1, /seal/); // the owner id: a fixed word
    damage(W_LIVE, 0x7fff_ffff, /liveBytes/);
    damage(W_FL_MAP, 0xffff_ffff, /flMap/);
    damage(11, 3, /firstSpan/);
    // A list head wiped while its bitmap bit stays set would hand out pointer 0; one pointing outside the heap, a foreign block.
    const b = heap.allocate(100);
    heap.allocate(100);
    heap.deallocate(b); // a free block of its own class
    const head = [...Array(24 * 32).keys()].find((i) => space.u32[w + W_HEADS + i] === b)!;
    damage(W_HEADS + head, 0, /marked non-empty with no block/);
    damage(W_HEADS + head, 8, /not in a span of this heap/);
    damage(W_SL_MAP, 0, /disagree|marked empty/);
    HeapAllocator.attach(space, heap.controlPtr).check();
  });

  it("check() after attach catches wiped page tags and a zeroed span header", () => {
    const { heap, pages, space } = makeRig({ spanBytes: 16 << 10 });
    const p = heap.allocate(30_000); // a span of its own
    heap.detach();
    const base = ((pages.tagOf(p) & 0xff_ffff) << pages.pageShift) >>> 0;
    const tags = pages.tagWordBase + base / 4096;
    const spanPages = pages.allocatedSize(base) / 4096;
    const saved = space.u32.slice(tags, tags + spanPages);
    // All but the last page lose their tags (the last holds the span's free tail, a list head attach looks at).
    space.u32.fill(0, tags, tags + spanPages - 1);
    const again = HeapAllocator.attach(space, heap.controlPtr);
    expect(() => again.check()).toThrow(/page tag is 0x00000000/);
    space.u32.set(saved, tags);
    again.check();
    const header = space.u32.slice(base >>> 2, (base >>> 2) + 8);
    space.u32.fill(0, base >>> 2, (base >>> 2) + 8); // a zeroed span header
    expect(() => again.check()).toThrow(/span header magic/);
    space.u32.set(header, base >>> 2);
    again.check();
    again.deallocate(p);
  });

  it("destroy through one handle ends every handle of the thread", () => {
    const { heap, space } = makeRig();
    const twin = HeapAllocator.attach(space, heap.controlPtr);
    const p = twin.allocate(10);
    twin.destroy();
    expect(heap.alive).toBe(false);
    expect(() => heap.deallocate(p)).toThrow(DestroyedError);
    expect(() => heap.allocate(8)).toThrow(DestroyedError);
  });
});
