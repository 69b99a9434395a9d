import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom, type Ptr } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator, slotsPerSlab } from "@memkit/slot-allocator";

const SLAB = 16384;
const HEADER = 64;

/**
 * A slot allocator with current, partial, full and spare slabs and a parked
 * slot, detached, so the harness's attach builds a fresh handle. The damage
 * goes to the control block (its sealed part and its state words) and to the
 * slab headers and bitmaps attach and check() follow.
 */
function build(seed: number): ReturnType<AttachMutationTarget["build"]> {
  const space = AddressSpace.create({ initialBytes: 2 << 20, maximumBytes: 2 << 20 });
  const pages = new PageAllocator(space, { pageSize: 4096 });
  const slots = new SlotAllocator(pages, { slabBytes: SLAB, keepEmptySlabs: 2 });
  const rnd = new SeededRandom(seed);
  const blocks: [Ptr, number][] = [];
  for (let i = 0; i < 400; i++) {
    const size = rnd.chance(0.5) ? 8 * rnd.int(1, 8) : rnd.int(1, 1024);
    blocks.push([slots.allocate(size), size]);
  }
  // Free a run of one class (a slab goes partial or spare) and scattered others.
  const live = blocks.filter(([, size], i) => !(size <= 16 && i % 2 === 0) && i % 5 !== 0);
  for (const block of blocks) if (!live.includes(block)) slots.deallocate(block[0]);
  const control = slots.controlPtr;
  const controlBytes = (280 + slots.classSizes.length * 8) * 4;
  const tails: [number, number][] = [];
  slots.walkSlabs((base, bytes, slotSize) => {
    const carved = slotSize === 0 ? 0 : slotsPerSlab(slotSize, bytes) * slotSize;
    tails.push([base + carved, base + bytes]);
  });
  slots.detach();
  const header: [number, number] = [control, control + 264 * 4];
  const state: [number, number] = [control + 264 * 4, control + controlBytes];
  const slabTails = tails.slice(0, 6).map(([, end]) => [end - HEADER - 128, end] as [number, number]);
  return {
    space,
    controlPtr: control,
    // The state words twice: they are what attach range-checks one by one.
    regions: [header, state, state, ...slabTails],
    live,
    reserved: [[control, control + 4096], ...tails],
  };
}

describe("SlotAllocator.attach trusts nothing", () => {
  it("480 damaged control blocks and slab headers: each is refused at attach, caught by check(), or served safely", () => {
    const outcome = runAttachMutations(
      {
        build,
        attach(space, controlPtr) {
          const slots = SlotAllocator.attach(space, controlPtr);
          return { allocator: slots, check: () => slots.check() };
        },
      },
      { cases: 480 },
    );
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
  });
});
