import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom, SpaceHandle, type Ptr } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget } from "@memkit/core/testing";
import { HeapAllocator } from "@memkit/heap-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { slotsPerSlab } from "@memkit/slot-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";

const SIZES = [8, 24, 100, 700, 3000, 40_000, 150_000, 300_000];

/**
 * A generic allocator with blocks in every tier, its handles (and its tiers')
 * detached so the harness's attach builds fresh ones that read every control
 * block again. The damage goes to the generic control block (weighted: it is
 * what this package adds), the slot tier's control block and slab headers,
 * and the heap's control block once the heap is on core's lifecycle.
 */
function build(seed: number): ReturnType<AttachMutationTarget["build"]> {
  const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 16 << 20 });
  const pages = new PageAllocator(space, { pageSize: 4096 });
  const generic = new GenericAllocator(pages, { largeThreshold: 128 * 1024 });
  const rnd = new SeededRandom(seed);
  const blocks: [Ptr, number][] = [];
  for (let i = 0; i < 120; i++) {
    const size = SIZES[rnd.int(0, SIZES.length - 1)]! + rnd.int(0, 40);
    blocks.push([generic.allocate(size), size]);
  }
  const live = blocks.filter((_, i) => i % 3 !== 0);
  for (const block of blocks) if (!live.includes(block)) generic.deallocate(block[0]);
  const { slots, heap, controlPtr } = generic;
  const tails: [number, number][] = [];
  slots.walkSlabs((base, bytes, slotSize) => tails.push([base + (slotSize === 0 ? 0 : slotsPerSlab(slotSize, bytes) * slotSize), base + bytes]));
  const slotControl: [number, number] = [slots.controlPtr, slots.controlPtr + (280 + slots.classSizes.length * 8) * 4];
  const regions: [number, number][] = [
    [controlPtr, controlPtr + 88],
    [controlPtr, controlPtr + 88],
    [controlPtr, controlPtr + 88],
    slotControl,
    [slotControl[0] + 264 * 4, slotControl[1]],
    ...tails.slice(0, 3).map(([, end]) => [end - 192, end] as [number, number]),
  ];
  const reserved: [number, number][] = [[controlPtr, controlPtr + 4096], [slots.controlPtr, slots.controlPtr + 4096], ...tails];
  // Once the heap keeps core's lifecycle (a sealed control block whose header says its size), its control block is damaged too.
  if (HeapAllocator.prototype instanceof SpaceHandle) {
    const heapBytes = space.u32[(heap.controlPtr >>> 2) + 2]!;
    regions.push([heap.controlPtr, heap.controlPtr + heapBytes]);
    reserved.push([heap.controlPtr, heap.controlPtr + heapBytes]);
  }
  generic.detach();
  slots.detach();
  heap.detach();
  return { space, controlPtr, regions, live, reserved };
}

describe("GenericAllocator.attach trusts nothing", () => {
  it("480 damaged control blocks (its own and its tiers'): each is refused at attach, caught by check(), or served safely", () => {
    const outcome = runAttachMutations(
      {
        build,
        attach(space, controlPtr) {
          const generic = GenericAllocator.attach(space, controlPtr);
          return { allocator: generic, check: () => generic.check() };
        },
      },
      { cases: 480 },
    );
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
  });
});
