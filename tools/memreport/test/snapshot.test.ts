import { LeakError } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";
import { afterEach, describe, expect, test } from "vitest";
import { buildMapModel, renderHtml, validateReport } from "../src/index.js";
import type { MemoryReport } from "../src/report-types.js";

/*
 * Reports from a real MemoryGlobals snapshot (not the hand-made fixtures):
 * the memory map's dominant scopes and the slot tier's slab figures are what
 * memory-globals writes and memreport draws.
 */

let memory: MemoryGlobals | undefined;
afterEach(() => {
  // A failed test leaves blocks behind: end the instance without a second (leak) error over the first.
  try {
    memory?.shutdown();
  } catch (err) {
    if (!(err instanceof LeakError)) throw err;
  }
  memory = undefined;
});

function report(m: MemoryGlobals): MemoryReport {
  return validateReport(JSON.parse(JSON.stringify(m.snapshot("test"))), "snapshot");
}

describe("a real snapshot", () => {
  test("colours every page a block covers by its scope: the map's legend agrees with the scope table", () => {
    memory = MemoryGlobals.init({ initialBytes: 8 << 20, maximumBytes: 16 << 20 });
    const textures = memory.scope("textures");
    const physics = memory.scope("physics");
    const big = [textures.allocate(1 << 20), textures.allocate(600_000)];
    const small: number[] = [];
    for (let i = 0; i < 200; i++) small.push(physics.allocate(96));
    const r = report(memory);
    const model = buildMapModel(r.memoryMap);
    const pageSize = r.memoryMap.pageSize;
    const legendBytes = (path: string): number => model.scopeLegend.find((e) => e.label === path)!.pages * pageSize;
    const live = r.scopes.children.find((c) => c.name === "textures")!.liveBytes;
    // Every page of the two big blocks (1,648,576 B) is the textures scope's: within a page of its live bytes, per block.
    expect(legendBytes("root/textures")).toBeGreaterThanOrEqual(live - 2 * pageSize);
    expect(legendBytes("root/textures")).toBeLessThanOrEqual(live + 2 * pageSize);
    expect(legendBytes("root/physics")).toBeGreaterThan(0);
    for (const p of big) textures.deallocate(p);
    for (const p of small) physics.deallocate(p);
    textures.dispose();
    physics.dispose();
  });

  test("gives the slot tier's slabs per size class, and the page shows them instead of a fragmentation gauge", () => {
    memory = MemoryGlobals.init({ initialBytes: 8 << 20, maximumBytes: 16 << 20 });
    const s = memory.scope("s");
    const kept: number[] = [];
    const freed: number[] = [];
    for (let i = 0; i < 300; i++) (i % 3 === 0 ? kept : freed).push(s.allocate(i % 2 === 0 ? 24 : 100));
    for (const p of freed) s.deallocate(p);
    const r = report(memory);
    const slots = r.allocators.find((a) => a.slabs !== undefined)!;
    expect(slots.name).toBe("generic.slots");
    const slabs = slots.slabs!;
    expect(slabs.classes.length).toBeGreaterThanOrEqual(2);
    const used = slabs.classes.reduce((n, c) => n + c.usedSlots, 0);
    const free = slabs.classes.reduce((n, c) => n + (c.slots - c.usedSlots) * c.slotSize, 0);
    expect(used).toBeGreaterThanOrEqual(slots.liveCount);
    // The storage report counts the one parked slot as free; the slab walk as in use.
    expect(Math.abs(free - slots.storage!.totalFreeBytes)).toBeLessThanOrEqual(Math.max(...slabs.classes.map((c) => c.slotSize)));
    const html = renderHtml(r);
    const allocators = /<section id="allocators">[^]*?<\/section>/.exec(html)![0];
    const row = /<tr><td>generic\.slots<\/td>.*?<\/tr>/.exec(allocators)![0];
    expect(row).not.toContain('class="fill warn"'); // no fragmentation gauge
    expect(row).toMatch(/\d+ of \d+ slabs? empty/);
    for (const c of slabs.classes) expect(row).toContain(`${c.slotSize} B slots: ${c.slabs} slab`);
    for (const p of kept) s.deallocate(p);
    s.dispose();
  });
});
