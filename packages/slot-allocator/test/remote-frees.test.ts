import { AddressSpace, CorruptionError, SeededRandom, pushRemoteFree } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import { fillPattern as fill, holdsPattern as holds, remoteFreeStress } from "@memkit/test-workers";
import { describe, expect, it } from "vitest";
import { makeRig } from "./helpers.js";

describe("remote frees (slots freed by another thread, collected by the owner)", () => {
  it("keeps pushed slots live until collected, then frees exactly them", () => {
    const { space, slots, dispose } = makeRig();
    const rnd = new SeededRandom(7);
    const blocks = Array.from({ length: 600 }, () => {
      const size = rnd.int(1, 300);
      const ptr = slots.allocate(size);
      fill(space.u8, ptr, size);
      return { ptr, size };
    });
    const pushed = blocks.filter((_, i) => i % 3 === 0);
    for (const b of pushed) pushRemoteFree(space.i32, slots.remoteFreeWord, b.ptr);
    expect(slots.stats().liveCount).toBe(600);
    expect(slots.owns(pushed[0]!.ptr)).toBe(true);
    slots.check();
    expect(slots.collectRemoteFrees()).toBe(pushed.length);
    expect(slots.collectRemoteFrees()).toBe(0);
    expect(slots.stats().liveCount).toBe(600 - pushed.length);
    expect(slots.owns(pushed[0]!.ptr)).toBe(false);
    for (const b of blocks.filter((_, i) => i % 3 !== 0)) expect(holds(space.u8, b.ptr, b.size)).toBe(true);
    slots.check();
    dispose();
  });

  it("an allocation that needs a new slab takes the remote frees of its class first", () => {
    const { space, slots, dispose } = makeRig();
    const first = slots.allocate(64);
    const perSlab = slots.slabStats();
    const held = [first];
    // Fill the current slab of the 64-byte class exactly.
    while (slots.slabStats().slabs === perSlab.slabs) held.push(slots.allocate(64));
    const leased = slots.slabStats().leased;
    const extra = held.pop()!; // the allocation that leased a second slab
    slots.deallocate(extra);
    for (const ptr of held) pushRemoteFree(space.i32, slots.remoteFreeWord, ptr);
    // The second slab is current: it serves until it is exhausted, then the remote frees come back before any new lease.
    const again: number[] = [];
    for (let i = 0; i < held.length * 2; i++) again.push(slots.allocate(64));
    expect(slots.slabStats().leased).toBe(leased);
    expect(new Set(again).size).toBe(again.length);
    slots.check();
    for (const ptr of again) slots.deallocate(ptr);
    slots.check();
    dispose();
  });

  it("a slot pushed twice is a CorruptionError at check() and at collection, and the allocator still works", () => {
    const { space, slots, dispose } = makeRig();
    const a = slots.allocate(32);
    const b = slots.allocate(32);
    const c = slots.allocate(48);
    fill(space.u8, c, 48);
    pushRemoteFree(space.i32, slots.remoteFreeWord, a);
    pushRemoteFree(space.i32, slots.remoteFreeWord, b);
    pushRemoteFree(space.i32, slots.remoteFreeWord, a);
    expect(() => slots.check()).toThrow(CorruptionError);
    expect(() => slots.collectRemoteFrees()).toThrow(/remote-free list/);
    // The collection freed a, then b (each link read before its free), then met a again and stopped.
    expect(slots.owns(a)).toBe(false);
    expect(slots.owns(b)).toBe(false);
    expect(holds(space.u8, c, 48)).toBe(true);
    slots.check();
    const d = slots.allocate(32);
    slots.deallocate(d);
    slots.deallocate(c);
    slots.check();
    dispose();
  });

  it("attach refuses a remote-free list that leads outside the allocator", () => {
    const { space, slots, pages, dispose } = makeRig();
    const a = slots.allocate(32);
    space.i32[slots.remoteFreeWord] = a + 4;
    expect(() => SlotAllocator.attach(space, slots.controlPtr, { pages })).toThrow(CorruptionError);
    space.i32[slots.remoteFreeWord] = 0;
    pushRemoteFree(space.i32, slots.remoteFreeWord, a);
    const second = SlotAllocator.attach(space, slots.controlPtr, { pages });
    expect(second.collectRemoteFrees()).toBe(1);
    second.check();
    second.detach();
    dispose();
  });

  it("two worker threads push 30% of the frees while the owner allocates, frees and grows the memory", async () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 256 << 20, shared: true });
    const pages = new PageAllocator(space, {});
    const slots = new SlotAllocator(pages, {});
    const { own, brokenPatterns, ownBroken } = await remoteFreeStress(
      { space, allocator: slots, head: slots.remoteFreeWord, size: (rnd) => rnd.int(1, 512) },
      1414,
      30_000,
      140_000,
    );
    expect(brokenPatterns).toBe(0); // no worker saw a broken pattern
    expect(ownBroken).toBe(0);
    slots.collectRemoteFrees();
    slots.check();
    expect(slots.stats().liveCount).toBe(own.length);
    expect(space.byteLength).toBeGreaterThan(1 << 20);
    for (const b of own) {
      expect(holds(space.u8, b.ptr, b.size)).toBe(true);
      slots.deallocate(b.ptr);
    }
    slots.check();
    expect(slots.stats().liveCount).toBe(0);
    slots.destroy();
    pages.destroy();
  }, 60_000);
});
