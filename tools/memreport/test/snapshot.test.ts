import { LeakError, formatCount } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";
import { afterEach, describe, expect, test } from "vitest";
import { buildMapModel, formatText, renderHtml, validateReport } from "../src/index.js";
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
    for (const c of slabs.classes) expect(row).toContain(`${formatCount(c.slotSize)} B slots: ${c.slabs} slab`);
    for (const p of kept) s.deallocate(p);
    s.dispose();
  });

  test("a shared memory's snapshot has its threads: validated, in the text and as a section of the HTML", () => {
    memory = MemoryGlobals.init({ shared: true, threadName: "main-loop", initialBytes: 8 << 20, maximumBytes: 16 << 20 });
    const physics = memory.scope("physics");
    const held = [physics.allocate(5000), physics.allocate(300), memory.default.allocate(64)];
    const r = report(memory);
    expect(r.threads).toHaveLength(1);
    const t = r.threads![0]!;
    expect(t).toMatchObject({ name: "main-loop", state: "live", liveBytes: 5364, allocCount: 3, freeCount: 0 });
    expect(t.scopes).toEqual([
      { path: "root", liveBytes: 64, liveCount: 1 },
      { path: "root/physics", liveBytes: 5300, liveCount: 2 },
    ]);
    expect(formatText(r)).toMatch(/Threads:[\s\S]*main-loop +live +5\.24 KiB/);
    const html = renderHtml(r);
    expect(html).toContain('<section id="threads">');
    expect(html).toContain("root/physics 5.18 KiB (2)");
    physics.deallocate(held[0]!);
    physics.deallocate(held[1]!);
    memory.default.deallocate(held[2]!);
    // A private memory's report has no threads section.
    memory.shutdown();
    memory = MemoryGlobals.init({ initialBytes: 8 << 20, maximumBytes: 16 << 20 });
    const plain = report(memory);
    expect(plain.threads).toBeUndefined();
    expect(renderHtml(plain)).not.toContain('id="threads"');
  });
});
