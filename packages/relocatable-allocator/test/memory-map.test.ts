import { describe, expect, it } from "vitest";
import { MemoryGlobals } from "@memkit/memory-globals";
import { RelocatableAllocator } from "../src/index.js";

/** Pages of the map with some bytes in use. */
function pagesInUse(pageUse: number[]): number {
  return pageUse.filter((u) => u > 0).length;
}

describe("the memory map shows the holes closing", () => {
  it("markHoles() makes a report's memoryMap show the holes, and fewer pages in use after compact()", () => {
    const memory = MemoryGlobals.init({ initialBytes: 16 << 20, maximumBytes: 64 << 20, tracing: "counts" });
    const level = memory.scope("level");
    const r = new RelocatableAllocator(level, { name: "level-blocks", chunkBytes: 64 << 10 });
    const hs: number[] = [];
    for (let i = 0; i < 2000; i++) hs.push(r.create(100 + (i % 7) * 150));
    // A cell streams out: three blocks of every four.
    for (let i = 0; i < hs.length; i++) if (i % 4 !== 0) r.free(hs[i]!);

    const before = memory.snapshot().memoryMap;
    const plain = pagesInUse(before.pageUse);
    const marked = r.markHoles(before);
    expect(marked).toBeGreaterThan(0);
    expect(marked).toBeLessThanOrEqual(r.storageReport().totalFreeBytes + 8 * r.storageReport().freeHistogram.reduce((a, b) => a + b, 0));
    const holey = pagesInUse(before.pageUse);
    expect(holey).toBeLessThanOrEqual(plain);

    while (!r.compact({ maxBytes: 64 << 10 }).passDone) {
      // a few frames' worth
    }
    r.compact();
    r.compact();
    r.check();
    const after = memory.snapshot().memoryMap;
    r.markHoles(after);
    expect(pagesInUse(after.pageUse)).toBeLessThan(holey);
    // The JSON carries it: memreport reads pageUse.
    expect((JSON.parse(JSON.stringify(after)) as { pageUse: number[] }).pageUse).toEqual(after.pageUse);
    r.destroy();
    level.dispose();
    memory.shutdown();
  });
});
