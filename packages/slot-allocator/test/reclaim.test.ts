import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";

const PAGE = 4096;
const SLAB = 16 << 10;

function setup(): { space: AddressSpace; pages: PageAllocator; slots: SlotAllocator } {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
  const pages = new PageAllocator(space, { pageSize: PAGE });
  const slots = new SlotAllocator(pages, { slabBytes: SLAB, keepEmptySlabs: 4 });
  return { space, pages, slots };
}

/** Every class gets a current slab, some slabs go spare, one slot is parked: all of it empty. */
function fillAndFreeEverything(slots: SlotAllocator, rnd: SeededRandom): void {
  const blocks: number[] = [];
  for (let i = 0; i < 600; i++) blocks.push(slots.allocate(rnd.int(0, 1024)));
  for (let i = blocks.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [blocks[i], blocks[j]] = [blocks[j]!, blocks[i]!];
  }
  for (const p of blocks) slots.deallocate(p);
}

describe("SlotAllocator reclaim", () => {
  it("gives back spare slabs, empty current slabs and the parked slot's slab when a page allocation fails", () => {
    const { pages, slots } = setup();
    fillAndFreeEverything(slots, new SeededRandom(3));
    expect(slots.stats().liveCount).toBe(0);
    const held = slots.slabStats().slabs;
    expect(held).toBeGreaterThan(4);
    // The whole space but the slot allocator's control block, in one span.
    const control = pages.allocatedSize(slots.controlPtr);
    const all = pages.range.limit - pages.range.start - control;
    const span = pages.allocate(all);
    expect(pages.allocatedSize(span)).toBe(all);
    expect(slots.slabStats()).toMatchObject({ slabs: 0, spares: 0 });
    slots.check();
    pages.check();
    pages.deallocate(span);
    // Still works: leases slabs again.
    const p = slots.allocate(100);
    expect(slots.owns(p)).toBe(true);
    slots.deallocate(p);
    slots.check();
  });

  it("reclaim() keeps every slab that holds a live slot, and the live slots keep their bytes", () => {
    const { space, pages, slots } = setup();
    const rnd = new SeededRandom(9);
    const live: number[] = [];
    for (let i = 0; i < 600; i++) live.push(slots.allocate(rnd.int(1, 1024)));
    for (let i = live.length - 1; i >= 0; i -= 2) slots.deallocate(live.splice(i, 1)[0]!);
    for (const p of live) space.u8[p] = p % 251;
    const before = slots.slabStats().slabs;
    const bytes = slots.reclaim();
    expect(bytes % SLAB).toBe(0);
    expect(slots.slabStats().slabs).toBe(before - bytes / SLAB);
    slots.check();
    pages.check();
    for (const p of live) expect(slots.owns(p) && space.u8[p] === p % 251).toBe(true);
    const stats = slots.stats();
    expect(stats.liveCount).toBe(live.length);
    for (const p of live) slots.deallocate(p);
    expect(slots.reclaim()).toBeGreaterThan(0);
    expect(slots.slabStats()).toMatchObject({ slabs: 0, spares: 0 });
    expect(slots.reclaim()).toBe(0);
    slots.check();
  });
});
