import { AddressSpace, CorruptionError, SeededRandom, pushRemoteFree } from "@memkit/core";
import { HeapAllocator } from "@memkit/heap-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { fillPattern as fill, holdsPattern as holds, remoteFreeStress } from "@memkit/test-workers";
import { describe, expect, it } from "vitest";
import { makeRig } from "./helpers.js";

describe("remote frees (blocks freed by another thread, collected by the owner)", () => {
  it("keeps pushed blocks live until collected, then frees and merges exactly them", () => {
    const { space, heap } = makeRig();
    const rnd = new SeededRandom(11);
    const blocks = Array.from({ length: 400 }, () => {
      const size = rnd.int(1, 3000);
      const ptr = heap.allocate(size);
      fill(space.u8, ptr, size);
      return { ptr, size };
    });
    const pushed = blocks.filter((_, i) => i % 4 !== 0);
    for (const b of pushed) pushRemoteFree(space.i32, heap.remoteFreeWord, b.ptr);
    expect(heap.stats().liveCount).toBe(400);
    heap.check();
    expect(heap.collectRemoteFrees()).toBe(pushed.length);
    expect(heap.collectRemoteFrees()).toBe(0);
    expect(heap.stats().liveCount).toBe(400 - pushed.length);
    for (const b of blocks.filter((_, i) => i % 4 === 0)) expect(holds(space.u8, b.ptr, b.size)).toBe(true);
    heap.check();
    heap.destroy();
  });

  it("an allocation that would lease a span takes the remote frees first", () => {
    const { space, heap } = makeRig({ spanBytes: 64 << 10 });
    const held: number[] = [];
    // Fill the home span with 1 KiB blocks until the next one needs a second span.
    const spans = (): number => heap.storageReport().reservedBytes;
    const home = spans();
    for (;;) {
      const p = heap.allocate(1024);
      if (spans() !== home) {
        heap.deallocate(p);
        break;
      }
      held.push(p);
    }
    heap.reclaim(); // the second span, now empty, goes back
    expect(spans()).toBe(home);
    for (const p of held) pushRemoteFree(space.i32, heap.remoteFreeWord, p);
    const big = heap.allocate(16 << 10);
    expect(spans()).toBe(home);
    heap.deallocate(big);
    heap.check();
    expect(heap.stats().liveCount).toBe(0);
    heap.destroy();
  });

  it("a block pushed twice is a CorruptionError at check() and at collection, and the heap still works", () => {
    const { space, heap } = makeRig();
    const a = heap.allocate(40);
    const b = heap.allocate(40);
    const c = heap.allocate(200);
    fill(space.u8, c, 200);
    pushRemoteFree(space.i32, heap.remoteFreeWord, a);
    pushRemoteFree(space.i32, heap.remoteFreeWord, b);
    pushRemoteFree(space.i32, heap.remoteFreeWord, a);
    expect(() => heap.check()).toThrow(CorruptionError);
    expect(() => heap.collectRemoteFrees()).toThrow(/remote-free list/);
    expect(heap.owns(a)).toBe(false);
    expect(heap.owns(b)).toBe(false);
    expect(holds(space.u8, c, 200)).toBe(true);
    heap.check();
    heap.deallocate(heap.allocate(64));
    heap.deallocate(c);
    heap.check();
    heap.destroy();
  });

  it("attach refuses a remote-free list head outside the heap", () => {
    const { space, heap, pages } = makeRig();
    const a = heap.allocate(64);
    space.i32[heap.remoteFreeWord] = 12;
    expect(() => HeapAllocator.attach(space, heap.controlPtr, { pages })).toThrow(CorruptionError);
    space.i32[heap.remoteFreeWord] = 0;
    pushRemoteFree(space.i32, heap.remoteFreeWord, a);
    const second = HeapAllocator.attach(space, heap.controlPtr, { pages });
    expect(second.collectRemoteFrees()).toBe(1);
    second.check();
    second.detach();
    heap.destroy();
  });

  it("two worker threads push 30% of the frees while the owner allocates, frees and grows the memory", async () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 512 << 20, shared: true });
    const pages = new PageAllocator(space, {});
    const heap = new HeapAllocator(pages, {});
    const { own, brokenPatterns, ownBroken } = await remoteFreeStress(
      { space, allocator: heap, head: heap.remoteFreeWord, size: (rnd) => rnd.logUniform(1, 8192) },
      2718,
      20000,
      100000,
    );
    expect(brokenPatterns).toBe(0); // no worker saw a broken pattern
    expect(ownBroken).toBe(0);
    heap.collectRemoteFrees();
    heap.check();
    expect(heap.stats().liveCount).toBe(own.length);
    expect(space.byteLength).toBeGreaterThan(1 << 20);
    for (const b of own) {
      expect(holds(space.u8, b.ptr, b.size)).toBe(true);
      heap.deallocate(b.ptr);
    }
    heap.check();
    expect(heap.stats().liveCount).toBe(0);
    heap.destroy();
    pages.destroy();
  }, 60_000);
});
