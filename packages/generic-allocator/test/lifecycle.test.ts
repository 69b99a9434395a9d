import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, InvalidPointerError, SeededRandom, SpaceHandle } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { makeGeneric } from "./support.js";

const SIZES = [24, 600, 5000, 40_000, 700 * 1024, 2 << 20];

/** Blocks in every tier, a third of them freed again. */
function fill(generic: GenericAllocator, seed: number): number[] {
  const rnd = new SeededRandom(seed);
  const live: number[] = [];
  for (let i = 0; i < 120; i++) live.push(generic.allocate(SIZES[rnd.int(0, SIZES.length - 1)]! + rnd.int(0, 64)));
  for (let i = live.length - 1; i >= 0; i -= 3) generic.deallocate(live.splice(i, 1)[0]!);
  return live;
}

describe("GenericAllocator.attach", () => {
  it("a second handle from the control block alone sees every tier's blocks and counters, large spans included", () => {
    const { space, generic } = makeGeneric();
    const live = fill(generic, 1);
    for (const p of live) space.u8[p] = p % 251;
    const second = GenericAllocator.attach(space, generic.controlPtr, { name: "second" });
    expect([second.smallMax, second.smallAlignMax, second.largeThreshold, second.largeOwnerId]).toEqual([generic.smallMax, generic.smallAlignMax, generic.largeThreshold, generic.largeOwnerId]);
    expect(second.stats()).toEqual(generic.stats());
    expect(second.tierStats()).toEqual(generic.tierStats());
    for (const p of live) {
      expect(second.tierOf(p)).toBe(generic.tierOf(p));
      expect(second.allocatedSize(p)).toBe(generic.allocatedSize(p));
    }
    const large = live.filter((p) => generic.tierOf(p) === "large");
    expect(large.length).toBeGreaterThan(3);
    for (const p of large) second.deallocate(p);
    const more = [second.allocate(3 << 20), second.allocate(100), second.allocate(9000)];
    expect(generic.stats()).toEqual(second.stats());
    generic.check();
    second.check();
    second.detach();
    for (const p of [...more, ...live.filter((p) => !large.includes(p))]) {
      if (!more.includes(p)) expect(space.u8[p]).toBe(p % 251);
      generic.deallocate(p);
    }
    expect(generic.stats().liveCount).toBe(0);
    generic.check();
  });

  it("reuses this thread's handles on its slot tier, and a detached generic handle leaves them working", () => {
    const { space, generic } = makeGeneric();
    const second = GenericAllocator.attach(space, generic.controlPtr);
    expect(second.slots).toBe(generic.slots);
    expect(SpaceHandle.lookup(space, generic.controlPtr, GenericAllocator)).toBe(generic);
    const p = second.allocate(32);
    second.detach();
    expect(generic.slots.alive).toBe(true);
    expect(generic.allocatedSize(p)).toBe(32);
    generic.deallocate(p);
    // The other order: the creating handle detaches first, the attached one goes on.
    const third = GenericAllocator.attach(space, generic.controlPtr);
    generic.detach();
    const q = third.allocate(16);
    third.deallocate(q);
    third.check();
    third.destroy();
  });

  it("attaches its own tier handles when this thread has none (another thread, a restored save)", () => {
    const { space, generic } = makeGeneric();
    const live = fill(generic, 2);
    const slotsPtr = generic.slots.controlPtr;
    generic.detach();
    generic.slots.detach();
    expect(SpaceHandle.lookup(space, slotsPtr, SlotAllocator)).toBeUndefined();
    const again = GenericAllocator.attach(space, generic.controlPtr);
    expect(again.slots).not.toBe(generic.slots);
    again.check();
    for (const p of live) again.deallocate(p);
    expect(again.stats().liveCount).toBe(0);
    again.check();
    again.destroy();
  });

  it("refuses what is not a generic allocator's control block, and a page allocator other than its own", () => {
    const { space, pages, generic } = makeGeneric();
    expect(() => GenericAllocator.attach(space, generic.controlPtr + 8)).toThrow(CorruptionError);
    expect(() => GenericAllocator.attach(space, generic.slots.controlPtr)).toThrow(/found magic "SLOT", expected "GNRC"/);
    expect(() => GenericAllocator.attach(space, "1024" as unknown as number)).toThrow(InvalidArgumentError);
    const otherPages = new PageAllocator(AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 }), { pageSize: 4096 });
    expect(() => GenericAllocator.attach(space, generic.controlPtr, { pages: otherPages })).toThrow(InvalidArgumentError);
    GenericAllocator.attach(space, generic.controlPtr, { pages }).detach();
    generic.destroy();
    expect(() => GenericAllocator.attach(space, generic.controlPtr)).toThrow(/was destroyed/);
  });

  it("a damaged policy word is refused at attach (the policy is sealed) and caught by check()", () => {
    const { space, generic } = makeGeneric();
    const w = generic.controlPtr >>> 2;
    for (let word = 4; word < 12; word++) {
      const saved = space.u32[w + word]!;
      space.u32[w + word] = saved + 1;
      expect(() => GenericAllocator.attach(space, generic.controlPtr), `word ${word}`).toThrow(CorruptionError);
      expect(() => generic.check(), `word ${word}`).toThrow(CorruptionError);
      space.u32[w + word] = saved;
    }
    generic.check();
  });

  it("a pointer into its control block's page is refused like any pointer it did not hand out", () => {
    const { generic } = makeGeneric();
    const p = generic.allocate(1 << 20);
    const before = JSON.stringify(generic.stats());
    for (const ptr of [generic.controlPtr, generic.controlPtr + 64]) {
      expect(generic.owns(ptr)).toBe(false);
      expect(() => generic.deallocate(ptr)).toThrow(InvalidPointerError);
      expect(() => generic.allocatedSize(ptr)).toThrow(InvalidPointerError);
      expect(() => generic.tierOf(ptr)).toThrow(InvalidPointerError);
      expect(() => generic.reallocate(ptr, 2 << 20)).toThrow(InvalidPointerError);
    }
    expect(JSON.stringify(generic.stats())).toBe(before);
    generic.check();
    generic.deallocate(p);
    generic.check();
  });

  it("large-block counters live in the control block: damage to them is caught by check()", () => {
    const { space, generic } = makeGeneric();
    const p = generic.allocate(1 << 20);
    const f = generic.controlPtr >>> 3;
    // bytes, count, peak (below the live bytes), allocs, frees
    for (const [slot, delta] of [[6, 1], [7, 1], [8, -(1 << 20) - 1], [9, 1], [10, 1], [6, NaN]] as const) {
      const saved = space.f64[f + slot]!;
      space.f64[f + slot] = saved + delta;
      expect(() => generic.check(), `slot ${slot}`).toThrow(CorruptionError);
      space.f64[f + slot] = saved;
    }
    generic.deallocate(p);
    generic.check();
  });
});

describe("after detach and destroy", () => {
  const calls = (g: GenericAllocator, p: number): [string, () => unknown][] => [
    ["allocate(small)", () => g.allocate(16)],
    ["allocate(medium)", () => g.allocate(5000)],
    ["allocate(large)", () => g.allocate(1 << 20)],
    ["deallocate", () => g.deallocate(p)],
    ["deallocate(0)", () => g.deallocate(0)],
    ["reallocate", () => g.reallocate(p, 64)],
    ["allocatedSize", () => g.allocatedSize(p)],
    ["tierOf", () => g.tierOf(p)],
    ["stats", () => g.stats()],
    ["tierStats", () => g.tierStats()],
    ["storageReport", () => g.storageReport()],
    ["check", () => g.check()],
    ["reclaim", () => g.reclaim()],
    ["resetPeak", () => g.resetPeak()],
  ];

  it("a detached handle throws DestroyedError for every call; the allocator lives on", () => {
    const { space, generic } = makeGeneric();
    const blocks = SIZES.map((size) => generic.allocate(size));
    const second = GenericAllocator.attach(space, generic.controlPtr);
    second.detach();
    for (const p of blocks) for (const [what, call] of calls(second, p)) expect(call, what).toThrow(DestroyedError);
    expect(second.owns(blocks[0]!)).toBe(false);
    for (const p of blocks) generic.deallocate(p);
    generic.check();
  });

  it("destroy ends every handle of this thread, tiers included, and returns all memory", () => {
    const { space, pages, generic } = makeGeneric();
    const before = pages.stats().liveCount;
    const fresh = new GenericAllocator(pages, { name: "fresh" });
    const blocks = fill(fresh, 3);
    const second = GenericAllocator.attach(space, fresh.controlPtr);
    fresh.destroy();
    expect(pages.stats().liveCount).toBe(before);
    pages.check();
    for (const g of [fresh, second]) {
      expect(g.alive).toBe(false);
      expect(g.slots.alive).toBe(false);
      for (const [what, call] of calls(g, blocks[0]!)) expect(call, what).toThrow(DestroyedError);
    }
    fresh.destroy(); // idempotent
    generic.check();
  });
});
