import { MemoryGlobals } from "@memkit/memory-globals";
import { describe, expect, test } from "vitest";
import { layoutMap, pageColors, MAP_COLUMNS } from "../src/memory-map.js";
import { FREE_COLOR, OTHER_COLOR, SCOPE_COLORS, UNCARVED_COLOR } from "../src/palette.js";

/* The map's page colours from a real snapshot: scope pages in the scope's colour, the rest by what they are. */

describe("memory map", () => {
  test("colours each page by the scope that holds most of it, else by its span, and sizes the grid to the space", () => {
    const memory = MemoryGlobals.init({ initialBytes: 16 << 20, maximumBytes: 64 << 20 });
    try {
      const physics = memory.scope("physics");
      const audio = memory.scope("audio");
      const big = physics.allocate(200_000); // whole pages of physics
      const small = audio.allocate(64);
      // A large block freed below a live one leaves a free span (a hole under the carved top).
      const freed = audio.allocate(1_500_000);
      const above = audio.allocate(1_500_000);
      audio.deallocate(freed);
      const map = memory.snapshot().memoryMap;
      const { colors, fill } = pageColors(map);
      const pages = Math.ceil(map.byteLength / map.pageSize);
      expect(colors.length).toBe(pages);
      // Every page before the first carved one is the null guard and the bootstrap heap.
      for (let p = 0; p < map.firstPage; p++) expect(colors[p]).toBe(OTHER_COLOR);
      map.pageScope.forEach((scope, i) => {
        const page = map.firstPage + i;
        if (scope >= 0) expect(colors[page], `page ${page} of ${map.scopePaths[scope]}`).toBe(SCOPE_COLORS[map.scopePaths[scope]!.split("/")[1]!]);
      });
      // The physics block's pages are physics-coloured and full.
      const first = Math.ceil(big / map.pageSize);
      expect(colors[first]).toBe(SCOPE_COLORS.physics);
      expect(fill[first]).toBe(1);
      expect(colors.includes(SCOPE_COLORS.audio!)).toBe(true);
      // Free spans are dark; the space past the carved top is darker.
      const freeSpans = map.spans.filter((s) => !s.used);
      expect(freeSpans.length).toBeGreaterThan(0);
      for (const span of freeSpans) expect(colors[span.start / map.pageSize]).toBe(FREE_COLOR);
      expect(colors[pages - 1]).toBe(UNCARVED_COLOR);
      const layout = layoutMap(map, 160);
      expect([layout.columns, layout.pages]).toEqual([MAP_COLUMNS, pages]);
      expect(layout.rows * layout.cellPx).toBeLessThanOrEqual(160);
      physics.deallocate(big);
      audio.deallocate(small);
      audio.deallocate(above);
    } finally {
      memory.shutdown();
    }
  });
});
