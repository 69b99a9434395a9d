import { describe, expect, test } from "vitest";
import { rankTemporaries } from "@memkit/trace-allocator";
import { formatText } from "../src/index.js";
import { gameReport } from "./fixtures/reports.js";

/*
 * The text report's allocator figures. A slab allocator (the slot tier) keeps
 * its free slots in size classes, so "fragmentation" (1 - largest free /
 * free) reads near 100% whatever happens: the text shows what the HTML
 * shows instead, empty slabs and free slots per class.
 */

describe("the text report's allocators", () => {
  const text = formatText(gameReport());
  const section = text.slice(text.indexOf("\nAllocators\n"), text.indexOf("\nMemory map:"));

  test("the slot tier shows its empty slabs where others show fragmentation", () => {
    const slots = section.split("\n").find((l) => l.startsWith("default.slots "))!;
    expect(slots).not.toMatch(/%/);
    expect(slots).toMatch(/ 1 of 8 slabs empty \(4\.00 KiB\)$/);
    // Other allocators keep their fragmentation figure.
    expect(section.split("\n").find((l) => l.startsWith("default.heap "))).toMatch(/ 74\.3%$/);
  });

  test("and a table of its size classes: slabs, slots, slots in use, free slots and their bytes", () => {
    const lines = section.split("\n");
    const at = lines.findIndex((l) => l.startsWith("default.slots: slots per size class"));
    expect(lines[at]).toBe("default.slots: slots per size class (4.00 KiB slabs; 1 of 8 empty, 4.00 KiB idle)");
    expect(lines.slice(at + 1, at + 7)).toEqual([
      "  slot size  slabs  slots  in use  free  free bytes",
      "       16 B      1    252     240    12       192 B",
      "       48 B      2    168     138    30    1.41 KiB",
      "       96 B      2     84      64    20    1.88 KiB",
      "      192 B      1     21      15     6    1.13 KiB",
      "      256 B      1     15      11     4    1.00 KiB",
    ]);
  });
});

describe("the text report's temporary allocations", () => {
  test("ranks the scopes by blocks freed in the frame they were allocated in, with the hint, and says so when there are none", () => {
    const report = gameReport();
    const text = formatText(report);
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.startsWith("Temporary allocations: blocks freed in the frame they were allocated in"));
    expect(at).toBeGreaterThan(0);
    expect(lines[at]).toContain("memory.frame");
    const ranked = rankTemporaries(report.scopes);
    expect(ranked.length).toBeGreaterThan(1);
    // Header, then one row per scope, most first.
    expect(lines[at + 2]!.startsWith(ranked[0]!.path)).toBe(true);
    expect(lines[at + 3]!.startsWith(ranked[1]!.path)).toBe(true);
    const none = structuredClone(report);
    const clear = (s: typeof none.scopes): void => {
      s.tempFreeCount = 0;
      s.children.forEach(clear);
    };
    clear(none.scopes);
    expect(formatText(none)).toContain("Temporary allocations: none (no block was freed in the frame it was allocated in)");
  });
});
