import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget } from "@memkit/core/testing";
import { PageAllocator } from "@memkit/page-allocator";
import { W_LOCK, W_NAMES, W_PAGE_ARRAYS, W_SL_BITMAPS, W_TOP_PAGE } from "../src/layout.js";

const PAGE = 4096;
const MAX = 8 << 20;

/**
 * A page allocator with live, freed, merged, tagged and reallocated spans and
 * three named owners, then detached: what a second thread (or a restored
 * save) attaches to. The damage is spread over the whole control block: the
 * header and fixed words, the state words, the bins, the owner names, and
 * the per-page state, tag and link words of the carved pages.
 */
function build(seed: number): ReturnType<AttachMutationTarget["build"]> {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: MAX });
  const pages = new PageAllocator(space, { pageSize: PAGE });
  const rng = new SeededRandom(seed + 1);
  const owners = ["heap", "slots", "frame"].map((name) => pages.registerOwner(name));
  const live = new Map<number, number>();
  for (let i = 0; i < 24 + (seed % 16); i++) {
    const p = pages.allocate(rng.int(1, 5 * PAGE), rng.chance(0.1) ? 4 * PAGE : 8);
    if (rng.chance(0.5)) pages.setTag(p, owners[rng.int(0, 2)]!, rng.int(0, 0xffff));
    live.set(p, pages.allocatedSize(p));
  }
  for (const p of [...live.keys()]) {
    if (rng.chance(0.35)) {
      pages.deallocate(p);
      live.delete(p);
    } else if (rng.chance(0.1)) {
      const q = pages.reallocate(p, rng.int(1, 6 * PAGE));
      live.delete(p);
      live.set(q, pages.allocatedSize(q));
    }
  }
  const c = pages.controlPtr;
  const bytes = PageAllocator.controlBytes(MAX, PAGE);
  const maxPages = MAX / PAGE;
  const carved = pages.range.end / PAGE;
  const cw = c >>> 2;
  const stateBase = cw + W_PAGE_ARRAYS;
  const words = (from: number, to: number): readonly [number, number] => [from * 4, to * 4];
  pages.detach();
  return {
    space,
    controlPtr: c,
    regions: [
      words(cw, cw + W_TOP_PAGE), // header and fixed words: pageShift, firstPage, maxPages
      words(cw + W_TOP_PAGE, cw + W_SL_BITMAPS), // state words: top, counters, first-level bitmap, owners
      words(cw + W_SL_BITMAPS, cw + W_NAMES), // second-level bitmaps and bin heads
      words(cw + W_NAMES, cw + W_LOCK), // owner names
      words(cw + W_LOCK, cw + W_LOCK + 8), // the lock's words and first log entry (a private space: it must be at rest)
      words(stateBase, stateBase + carved), // page state words
      words(stateBase + maxPages, stateBase + maxPages + carved), // tags
      words(stateBase + 2 * maxPages, stateBase + 2 * maxPages + carved), // next links
      words(stateBase + 3 * maxPages, stateBase + 3 * maxPages + carved), // prev links
    ],
    live: [...live],
    reserved: [[0, c + bytes]],
  };
}

const target: AttachMutationTarget = {
  build,
  attach(space, controlPtr) {
    const pages = PageAllocator.attach(space, controlPtr);
    return { allocator: pages, check: () => pages.check() };
  },
};

describe("PageAllocator.attach trusts nothing", () => {
  it("ends 480 damaged control blocks in a CorruptionError at attach or check(), or in a handle that serves only good spans", () => {
    const outcome = runAttachMutations(target, { cases: 480 });
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.caughtByCheck).toBeGreaterThan(0);
  });
});
