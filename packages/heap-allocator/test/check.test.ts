// check(): each kind of damage to a heap's blocks, links and bitmaps is found and named.
import { CorruptionError, hex } from "@memkit/core";
import { describe, expect, it } from "vitest";
import {
  FREE,
  PREV_FREE,
  SIZE_MASK,
  SPAN_AREA_W,
  W_FL_MAP,
  W_HEADS,
  W_LIVE,
  W_PEAK,
  W_SL_MAP,
  bitmapBias,
} from "../src/layout.js";
import { blockBytes, makeRig, thrown } from "./helpers.js";

describe("check()", () => {
  /** A heap with used and free blocks, plus helpers to poke its memory. */
  function corruptible() {
    const rig = makeRig();
    const { heap, pages, space } = rig;
    const used = [heap.allocate(100), heap.allocate(200), heap.allocate(300), heap.allocate(400), heap.allocate(500)];
    heap.deallocate(used[1]!);
    heap.deallocate(used[3]!);
    heap.check();
    const word = (ptr: number): number => ptr >>> 2;
    const poke = (index: number, value: number, expected: RegExp | string): void => {
      const u32 = space.u32;
      const saved = u32[index]!;
      u32[index] = value;
      const err = thrown(() => heap.check());
      u32[index] = saved;
      expect(err).toBeInstanceOf(CorruptionError);
      if (typeof expected === "string") expect(err.message).toContain(expected);
      else expect(err.message).toMatch(expected);
      heap.check(); // restored
    };
    const base = ((pages.tagOf(used[0]!) & 0xff_ffff) << pages.pageShift) >>> 0;
    return { ...rig, used, word, poke, base, bias: bitmapBias(base) };
  }

  it("catches a header with the reserved bit set, or a wrong size", () => {
    const { used, word, poke, space } = corruptible();
    const h = space.u32[word(used[0]!) - 1]!;
    poke(word(used[0]!) - 1, h | 4, `${hex(used[0]!)}: block header ${hex(h | 4)} has the reserved bit set`);
    poke(word(used[0]!) - 1, h + 8, hex(used[0]! + blockBytes(100) + 8)); // the walk lands mid-block, past the header it trusted
    poke(word(used[4]!) - 1, 0x4000_0000, `${hex(used[4]!)}: block header`);
  });

  it("catches a wrong PREV_FREE bit, a wrong free bit and a broken footer", () => {
    const { used, word, poke, space } = corruptible();
    const h2 = space.u32[word(used[2]!) - 1]!;
    expect(h2 & PREV_FREE).toBe(PREV_FREE); // used[1] is free
    poke(word(used[2]!) - 1, h2 & ~PREV_FREE, `${hex(used[2]!)}: PREV_FREE bit is clear but the block to the left is free`);
    const h0 = space.u32[word(used[0]!) - 1]!;
    poke(word(used[0]!) - 1, h0 | FREE, `${hex(used[0]!)}:`);
    const free = used[1]!;
    const size = space.u32[word(free) - 1]! & SIZE_MASK;
    poke(word(free + size) - 2, 12345, `${hex(free)}: free block's footer holds`);
    poke(word(free) + 2, 7, `${hex(free)}: free block's bitmap bias`);
  });

  it("catches broken free-list links and size-class bitmaps", () => {
    const { used, word, poke, heap } = corruptible();
    const free = used[1]!;
    poke(word(free), used[3]!, `${hex(free)}: free-list back link`);
    poke(word(free) + 1, used[0]!, `${hex(used[0]!)}: listed in size class`);
    const r = heap.controlPtr >>> 2;
    poke(r + W_FL_MAP, 0, "first-level bit");
    poke(r + W_SL_MAP, 0xffff_ffff, "bitmap bit of size class (0, 0)");
    poke(r + W_HEADS + 5, used[0]!, "bitmap bit of size class (0, 5)");
  });

  it("catches a missing or stray block-start bit", () => {
    const { used, poke, bias, space } = corruptible();
    const p = used[2]!;
    const w = bias + (p >>> 8);
    const bits = space.u32[w]!;
    poke(w, bits & ~(1 << ((p >>> 3) & 31)), `${hex(p)}: block start is missing from the span's bitmap`);
    const w8 = bias + ((p + 8) >>> 8);
    poke(w8, space.u32[w8]! | (1 << (((p + 8) >>> 3) & 31)), `${hex(p + 8)}: the span's bitmap marks a block start where no block starts`);
  });

  it("catches broken span headers, counters and page tags", () => {
    const { heap, poke, base, pages } = corruptible();
    poke(base >>> 2, 0, `${hex(base)}: span header magic`);
    poke((base >>> 2) + SPAN_AREA_W, 8, `${hex(base)}: span header says first block`);
    const r = heap.controlPtr >>> 2;
    poke(r + W_LIVE, 1, "counters say");
    poke(r + W_PEAK, 0, "peakLiveBytes");
    poke(r, 0, `${hex(heap.controlPtr)}: control block header`);
    poke(pages.tagWordBase + (base >>> pages.pageShift) + 1, 0, `${hex(base + pages.pageSize)}: page tag is`);
  });
});
