import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";
import { CONTROL_BYTES, SPAN_HEADER_BYTES, W_FL_MAP, W_SL_MAP, bitmapBytes } from "../src/layout.js";

type Range = readonly [number, number];

/**
 * A heap with live, freed and aligned blocks over several spans, then
 * detached (and its page allocator handle too): what another thread, or a
 * restored save, attaches to. The damage is spread over what attach and the
 * first allocations read: the control block (header and fixed words, state
 * words, size-class bitmaps and list heads), span headers, block-start
 * bitmaps, free blocks' headers and links, live blocks' headers, and the
 * page tags of the heap's spans.
 */
function build(seed: number): ReturnType<AttachMutationTarget["build"]> {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
  const pages = new PageAllocator(space, { pageSize: 4096 });
  pages.registerOwner("someone-else");
  const heap = new HeapAllocator(pages, { spanBytes: 64 << 10 });
  const rng = new SeededRandom(seed + 7);
  const blocks: number[] = [];
  for (let i = 0; i < 120 + (seed % 40); i++) {
    blocks.push(heap.allocate(rng.logUniform(1, 20_000), rng.chance(0.1) ? 1 << rng.int(4, 10) : 8));
  }
  const live: number[] = [];
  const free: number[] = [];
  for (const p of blocks) {
    if (rng.chance(0.4)) {
      heap.deallocate(p);
      free.push(p);
    } else {
      live.push(p);
    }
  }
  const c = heap.controlPtr;
  const regions: Range[] = [
    [c, c + W_FL_MAP * 4], // header and fixed words: pages control, owner, page shift, span bytes, home span
    [c + W_FL_MAP * 4, c + W_SL_MAP * 4], // state words: FL map, span list, counters
    [c + W_SL_MAP * 4, c + CONTROL_BYTES], // SL maps and list heads
  ];
  const reserved: Range[] = [[0, pages.range.start]];
  pages.forEachSpan((base, bytes, used, tag) => {
    if (!used || tag >>> 24 !== heap.ownerId) return;
    const meta = base + SPAN_HEADER_BYTES + bitmapBytes(bytes);
    regions.push([base, base + SPAN_HEADER_BYTES], [base + SPAN_HEADER_BYTES, meta]);
    const tags = (pages.tagWordBase + base / 4096) * 4;
    regions.push([tags, tags + (bytes / 4096) * 4]);
    reserved.push([base, c > base && c < base + bytes ? c + CONTROL_BYTES : meta]);
  });
  heap.walk((p, _usable, isFree) => {
    if (isFree && rng.chance(0.3)) regions.push([p - 4, p + 12]);
  });
  for (const p of live.slice(0, 8)) regions.push([p - 4, p]);
  const liveRanges = live.map((p) => [p - 4, heap.allocatedSize(p) + 4] as const);
  heap.detach();
  pages.detach();
  return { space, controlPtr: c, regions, live: liveRanges, reserved };
}

const target: AttachMutationTarget = {
  build,
  attach(space, controlPtr) {
    const heap = HeapAllocator.attach(space, controlPtr);
    return {
      allocator: heap,
      check: () => {
        heap.check();
        heap.pages.check();
      },
    };
  },
};

describe("HeapAllocator.attach trusts nothing", () => {
  it("ends 480 damaged heaps in a CorruptionError at attach or check(), or in a handle that serves only good blocks", () => {
    const outcome = runAttachMutations(target, { cases: 480 });
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
  });
});
