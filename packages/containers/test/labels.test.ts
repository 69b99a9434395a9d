import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, LeakError, hex, type Allocator, type LeakReport } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator, foldLeakReport, type TraceLeakReport, type TracedBlock, type TracingLevel } from "@memkit/trace-allocator";
import { DynamicArray, HandlePool, HashMap, HashSet, StructArray, StructOfArrays, defineStruct } from "../src/index.js";

/*
 * A container over a trace scope files its block under its label
 * (`HashMap<u32, u32> "grid"`), so the scope's report, text report, leak
 * reports and folded stacks say which container holds the bytes.
 */

function makeRoot(tracing: TracingLevel): TraceAllocator {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  return new TraceAllocator(new PageAllocator(space, { pageSize: 256 }), { tracing });
}

const Body = defineStruct({ x: "f32", y: "f32", hp: "u16" });

/** What the tests read of every container. */
interface Container {
  readonly label: string;
  readonly byteLength: number;
  readonly ptr: number;
  dispose(): void;
}

/** One of every container, named, each holding a block. */
function everyContainer(scope: Allocator): Container[] {
  const ids = new DynamicArray(scope, "u32", { name: "ids" });
  for (let i = 0; i < 100; i++) ids.push(i);
  const bodies = new StructArray(scope, Body, { name: "bodies" });
  for (let i = 0; i < 20; i++) bodies.push();
  const columns = new StructOfArrays(scope, Body, { name: "columns" });
  for (let i = 0; i < 30; i++) columns.push();
  const grid = new HashMap(scope, { key: "u32", value: "f64", name: "grid" });
  for (let i = 0; i < 50; i++) grid.set(i * 7, i);
  const seen = new HashSet(scope, { key: "i32", name: "seen" });
  for (let i = 0; i < 5; i++) seen.add(-i);
  const pool = new HandlePool(scope, Body, { name: "entities" });
  for (let i = 0; i < 9; i++) pool.create();
  const unnamed = new DynamicArray(scope, "f32");
  unnamed.push(1);
  return [ids, bodies, columns, grid, seen, pool, unnamed];
}

const LABELS = [
  'DynamicArray<u32> "ids"',
  'StructArray "bodies"',
  'StructOfArrays "columns"',
  'HashMap<u32, f64> "grid"',
  'HashSet<i32> "seen"',
  'HandlePool "entities"',
  "DynamicArray<f32>",
];

describe.each(["counts", "callstacks"] as const)('containers over a scope at tracing "%s"', (tracing) => {
  it("report() lists every container under its label with its exact bytes", () => {
    const root = makeRoot(tracing);
    const physics = root.child("physics");
    const containers = everyContainer(physics);
    expect(containers.map((c) => c.label)).toEqual(LABELS);
    const labels = new Map((physics.report().labels ?? []).map((l) => [l.label, l]));
    expect([...labels.keys()].sort()).toEqual([...LABELS].sort());
    for (const c of containers) {
      expect(labels.get(c.label), c.label).toMatchObject({ liveBytes: c.byteLength, liveCount: 1 });
      expect(c.byteLength).toBeGreaterThan(0);
    }
    // Growth through reallocate (and the hash tables' rehash: a new block, the old one freed) keeps the label exact.
    const grid = containers[3] as unknown as HashMap<"u32", "f64">;
    const before = grid.byteLength;
    for (let i = 0; i < 500; i++) grid.set(i, i);
    expect(grid.byteLength).toBeGreaterThan(before);
    const after = physics.report().labels!.find((l) => l.label === grid.label)!;
    expect(after).toMatchObject({ liveBytes: grid.byteLength, liveCount: 1 });
    // A rehash holds the old and the new table at once: the label's peak saw both.
    expect(after.peakLiveBytes).toBeGreaterThan(grid.byteLength);
    // Disposed: nothing live under the label, its peak remains.
    for (const c of containers) c.dispose();
    expect(physics.report().labels!.every((l) => l.liveBytes === 0 && l.liveCount === 0 && l.peakLiveBytes > 0)).toBe(true);
    root.check();
    physics.dispose();
  });

  it("formatReport() shows a line per container under the scope", () => {
    const root = makeRoot(tracing);
    const physics = root.child("physics");
    const containers = everyContainer(physics);
    const lines = root.formatReport().split("\n");
    for (const c of containers) expect(lines.some((l) => l.startsWith(`     · ${c.label}  `)), c.label).toBe(true);
    for (const c of containers) c.dispose();
  });

  it("a leaked container's block is named by its label in the LeakError message, error.report and folded stacks", () => {
    const root = makeRoot(tracing);
    const level = root.child("level");
    function loadLevel(): HashMap<"u32", "u32"> {
      const table = new HashMap(level, { key: "u32", value: "u32", name: "entities" });
      table.set(1, 2);
      return table;
    }
    const table = loadLevel();
    const live = level.foldedStacks().trim();
    const err = (() => {
      try {
        level.dispose();
      } catch (e) {
        return e as LeakError & { report: TraceLeakReport };
      }
      throw new Error("expected a LeakError");
    })();
    expect(err).toBeInstanceOf(LeakError);
    const line = err.message.split("\n")[1]!;
    expect(line.startsWith(`  ${hex(table.ptr)}  ${table.byteLength.toLocaleString("en-US")} B  HashMap<u32, u32> "entities"`)).toBe(true);
    const blocks: TracedBlock[] = err.report.blocks;
    expect(blocks.map((b) => b.label)).toEqual(['HashMap<u32, u32> "entities"']);
    const expected = new RegExp(`^root;level;\\[HashMap<u32, u32> "entities"\\]${tracing === "callstacks" ? ";.*loadLevel \\(test/labels\\.test\\.ts:\\d+\\)" : ""} ${table.byteLength}$`);
    expect(live).toMatch(expected);
    expect(foldLeakReport(err.report as LeakReport).trim()).toMatch(expected);
    if (tracing === "callstacks") expect(line).toMatch(/ {2}allocated at loadLevel \(test\/labels\.test\.ts:\d+\)/);
    table.dispose();
    level.dispose();
  });
});

describe("containers over allocators without labels", () => {
  it("pass no label argument to an allocator that takes none", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 256 });
    const calls: number[] = [];
    const spy: Allocator = {
      name: "spy",
      space,
      allocate: (...args: [number, number?]) => (calls.push(args.length), pages.allocate(...args)),
      reallocate: (...args: [number, number, number?]) => (calls.push(args.length), pages.reallocate(...args)),
      deallocate: (p) => pages.deallocate(p),
      allocatedSize: (p) => pages.allocatedSize(p),
      owns: (p) => pages.owns(p),
      stats: () => pages.stats(),
    };
    const containers = everyContainer(spy);
    expect(calls.length).toBeGreaterThan(0);
    // allocate(size, align) and reallocate(ptr, size, align): never a third/fourth argument.
    expect(calls.every((n) => n <= 3)).toBe(true);
    for (const c of containers) c.dispose();
    expect(pages.stats().liveCount).toBe(0);
  });

  it('work over a scope at tracing "off" (labels ignored) and list nothing', () => {
    const root = makeRoot("off");
    const containers = everyContainer(root);
    expect(root.stats().liveCount).toBe(containers.length);
    expect(root.report().labels).toBeUndefined();
    for (const c of containers) c.dispose();
    expect(root.stats().liveCount).toBe(0);
  });
});

describe("label sums under random container growth (model)", () => {
  it("each container's label holds exactly its byteLength; check() passes after every step", () => {
    const op = fc.record({ which: fc.nat(6), n: fc.integer({ min: 0, max: 60 }), shrink: fc.boolean() });
    fc.assert(
      fc.property(fc.constantFrom<TracingLevel>("counts", "callstacks"), fc.array(op, { maxLength: 40 }), (tracing, ops) => {
        const root = makeRoot(tracing);
        const scope = root.child("s");
        const containers = everyContainer(scope);
        for (const o of ops) {
          const c = containers[o.which]!;
          if (c instanceof DynamicArray) {
            for (let i = 0; i < o.n; i++) c.push(i);
            if (o.shrink) c.shrinkToFit();
          } else if (c instanceof StructArray || c instanceof StructOfArrays) {
            for (let i = 0; i < o.n; i++) c.push();
            if (o.shrink) c.shrinkToFit();
          } else if (c instanceof HashMap) {
            for (let i = 0; i < o.n; i++) c.set(i * 31 + o.n, i);
            if (o.shrink) c.clear();
          } else if (c instanceof HashSet) {
            for (let i = 0; i < o.n; i++) c.add(i - o.n);
          } else if (c instanceof HandlePool) {
            for (let i = 0; i < o.n; i++) c.create();
          }
          root.check();
          const labels = new Map((scope.report().labels ?? []).map((l) => [l.label, l]));
          for (const k of containers) expect(labels.get(k.label)).toMatchObject({ liveBytes: k.byteLength, liveCount: k.byteLength === 0 && k.ptr === 0 ? 0 : 1 });
          expect([...labels.values()].reduce((s, l) => s + l.liveBytes, 0)).toBe(scope.stats().liveBytes);
        }
        for (const c of containers) c.dispose();
        scope.dispose();
      }),
      { numRuns: 30 },
    );
  });
});
