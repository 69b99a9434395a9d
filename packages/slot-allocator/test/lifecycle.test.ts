import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, SeededRandom, SpaceHandle, hex } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import { makeRig } from "./helpers.js";

/** Allocates a seeded mix of sizes and frees every third block: full, partial and current slabs, and a parked slot. */
function churn(slots: SlotAllocator, seed: number, count = 3000): number[] {
  const rnd = new SeededRandom(seed);
  const live: number[] = [];
  for (let i = 0; i < count; i++) live.push(slots.allocate(rnd.int(0, 1024)));
  for (let i = live.length - 1; i >= 0; i -= 3) slots.deallocate(live.splice(i, 1)[0]!);
  return live;
}

describe("SlotAllocator.attach", () => {
  it("gives a second handle on the same allocator: same blocks, same counters, same reports, frees through either", () => {
    const { slots, space, dispose } = makeRig({ keepEmptySlabs: 2 });
    const live = churn(slots, 1);
    for (const p of live) space.u8[p] = p % 251;
    const second = SlotAllocator.attach(space, slots.controlPtr, { pages: slots.pages, name: "second" });
    expect(second).not.toBe(slots);
    expect([second.ownerId, second.maxSlotSize, second.slabBytes, second.classSizes]).toEqual([slots.ownerId, slots.maxSlotSize, slots.slabBytes, slots.classSizes]);
    expect(second.stats()).toEqual(slots.stats());
    expect(second.storageReport()).toEqual(slots.storageReport());
    expect(second.slabStats()).toEqual(slots.slabStats());
    for (const p of live) expect(second.allocatedSize(p)).toBe(slots.allocatedSize(p));
    // Free half through the second handle, allocate through it, check both.
    for (const p of live.splice(0, live.length >> 1)) second.deallocate(p);
    const more = Array.from({ length: 500 }, (_, i) => second.allocate(i % 700));
    for (const p of more) expect(slots.owns(p)).toBe(true);
    slots.check();
    second.check();
    expect(slots.stats()).toEqual(second.stats());
    for (const p of live) expect(space.u8[p]).toBe(p % 251);
    second.detach();
    for (const p of more) slots.deallocate(p);
    for (const p of live) slots.deallocate(p);
    expect(slots.stats().liveCount).toBe(0);
    slots.check();
    dispose();
  });

  it("without options.pages uses the page allocator its control block names", () => {
    const { slots, space, pages, dispose } = makeRig({ pageSize: 4096, slabBytes: 16384 });
    const p = slots.allocate(100);
    const second = SlotAllocator.attach(space, slots.controlPtr);
    expect(second.pages.controlPtr).toBe(pages.controlPtr);
    expect(second.allocatedSize(p)).toBe(112);
    const q = second.allocate(2000 % 1024);
    second.deallocate(p);
    second.check();
    second.detach();
    slots.deallocate(q);
    slots.check();
    dispose();
  });

  it("is listed for SpaceHandle.lookup, and both handles follow the space's growth", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    const slots = new SlotAllocator(pages, { slabBytes: 16384 });
    const second = SlotAllocator.attach(space, slots.controlPtr, { pages });
    expect(SpaceHandle.lookup(space, slots.controlPtr, SlotAllocator)).toBe(slots);
    const blocks: number[] = [];
    while (space.byteLength < 8 << 20) blocks.push(second.allocate(1000));
    for (const p of blocks) slots.deallocate(p);
    slots.check();
    second.check();
    second.detach();
    expect(SpaceHandle.lookup(space, slots.controlPtr, SlotAllocator)).toBe(slots);
    slots.destroy();
    expect(SpaceHandle.lookup(space, slots.controlPtr, SlotAllocator)).toBeUndefined();
  });

  it("refuses what is not a slot allocator's control block with CorruptionError saying what it found", () => {
    const { slots, space, pages, dispose } = makeRig();
    const at = (ptr: unknown) => () => SlotAllocator.attach(space, ptr as number, { pages });
    expect(at(slots.controlPtr + 4)).toThrow(CorruptionError);
    expect(at(pages.controlPtr)).toThrow(/no SlotAllocator control block at .*: found magic "PAGE", expected "SLOT"/);
    expect(at(space.byteLength + 64)).toThrow(CorruptionError);
    expect(at(0)).toThrow(CorruptionError);
    expect(at("0x1000")).toThrow(InvalidArgumentError);
    expect(at(10n)).toThrow(InvalidArgumentError);
    // A page allocator handle on another control block is the caller's mistake.
    const otherSpace = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
    const otherPages = new PageAllocator(otherSpace, { pageSize: 4096 });
    expect(() => SlotAllocator.attach(space, slots.controlPtr, { pages: otherPages })).toThrow(InvalidArgumentError);
    dispose();
  });

  it("checks the sealed words: a damaged class table or slab size is refused at attach and caught by check()", () => {
    const { slots, space, pages, dispose } = makeRig();
    churn(slots, 2, 500);
    const u32 = space.u32;
    const w = slots.controlPtr >>> 2;
    for (const word of [5, 7, 12, 13, 14, 20, 100, 263]) {
      const saved = u32[w + word]!;
      u32[w + word] = saved ^ 0x40;
      expect(() => SlotAllocator.attach(space, slots.controlPtr, { pages }), `word ${word}`).toThrow(/fixed words no longer match their seal/);
      expect(() => slots.check(), `word ${word}`).toThrow(CorruptionError);
      u32[w + word] = saved;
    }
    slots.check();
    SlotAllocator.attach(space, slots.controlPtr, { pages }).detach();
    dispose();
  });

  it("range-checks the state words it follows: a parked slot or current slab outside the allocator is refused at attach", () => {
    const { slots, space, pages, dispose } = makeRig({ pageSize: 4096, slabBytes: 16384 });
    const blocks = Array.from({ length: 40 }, (_, i) => slots.allocate(8 + (i % 5) * 8));
    slots.deallocate(blocks[0]!); // parked
    const u32 = space.u32;
    const w = slots.controlPtr >>> 2;
    const parkedPtr = 268;
    const current8 = 280 + 0 * 8; // class 0's current slab
    const expectRefused = (word: number, value: number, pattern: RegExp): void => {
      const saved = u32[w + word]!;
      u32[w + word] = value;
      expect(() => SlotAllocator.attach(space, slots.controlPtr, { pages }), `word ${word} = ${hex(value)}`).toThrow(pattern);
      u32[w + word] = saved;
    };
    expectRefused(parkedPtr, blocks[1]!, /parked slot/); // a live slot
    expectRefused(parkedPtr, slots.controlPtr + 64, /parked slot/);
    expectRefused(parkedPtr, 8, /parked slot/);
    expectRefused(current8, (slots.controlPtr >>> 2) + 100, /current slab/);
    expectRefused(current8, 0x7fff_ffff, /current slab/);
    expectRefused(265, 0xffff_ffff, /slab count/);
    SlotAllocator.attach(space, slots.controlPtr, { pages }).detach();
    dispose();
  });
});

describe("after detach and destroy", () => {
  const calls = (slots: SlotAllocator, p: number): [string, () => unknown][] => [
    ["allocate", () => slots.allocate(16)],
    ["allocate(aligned)", () => slots.allocate(16, 64)],
    ["deallocate", () => slots.deallocate(p)],
    ["deallocate(0)", () => slots.deallocate(0)],
    ["reallocate", () => slots.reallocate(p, 64)],
    ["allocatedSize", () => slots.allocatedSize(p)],
    ["stats", () => slots.stats()],
    ["storageReport", () => slots.storageReport()],
    ["check", () => slots.check()],
    ["reclaim", () => slots.reclaim()],
    ["slabStats", () => slots.slabStats()],
    ["walkSlabs", () => slots.walkSlabs(() => undefined)],
  ];

  it("a detached handle refuses every call with DestroyedError; the allocator and its other handles live on", () => {
    const { slots, space, pages, dispose } = makeRig();
    const p = slots.allocate(40);
    const second = SlotAllocator.attach(space, slots.controlPtr, { pages });
    second.detach();
    for (const [what, call] of calls(second, p)) expect(call, what).toThrow(DestroyedError);
    expect(() => second.allocate(16)).toThrow(/detached/);
    expect(second.owns(p)).toBe(false);
    expect(slots.allocatedSize(p)).toBe(40);
    slots.check();
    dispose();
  });

  it("the hot paths fall to the cold path on their own after destroy: every class, the parked class included, throws DestroyedError", () => {
    const { slots, pages, dispose } = makeRig();
    const blocks = slots.classSizes.map((size) => slots.allocate(size));
    slots.deallocate(blocks[3]!); // parked: the next allocation of class 3 would take it without touching a slab
    const second = SlotAllocator.attach(slots.space, slots.controlPtr, { pages });
    slots.destroy();
    expect(second.alive).toBe(false);
    for (const handle of [slots, second]) {
      for (const size of slots.classSizes) expect(() => handle.allocate(size), `allocate(${size})`).toThrow(DestroyedError);
      for (const p of blocks) expect(() => handle.deallocate(p)).toThrow(DestroyedError);
      for (const [what, call] of calls(handle, blocks[0]!)) expect(call, what).toThrow(DestroyedError);
    }
    expect(() => SlotAllocator.attach(slots.space, slots.controlPtr, { pages })).toThrow(/was destroyed/);
    slots.destroy(); // idempotent
    dispose();
  });

  it("destroy returns every slab and the control block even when the all-slabs list is damaged", () => {
    const space = AddressSpace.create({ initialBytes: 4 << 20, maximumBytes: 64 << 20 });
    const pages = new PageAllocator(space);
    const base = pages.stats().liveCount;
    const slots = new SlotAllocator(pages);
    churn(slots, 3);
    space.u32[(slots.controlPtr >>> 2) + 264] = 0; // the all-slabs list head
    slots.destroy();
    expect(pages.stats().liveCount).toBe(base);
    pages.check();
  });
});
