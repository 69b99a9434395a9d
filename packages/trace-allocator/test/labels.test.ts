import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { InvalidArgumentError, LeakError, formatBytes, hasBlockLabels, hex } from "@memkit/core";
import { TraceAllocator, foldLeakReport, formatReport, type LabelReport, type ScopeReport, type TraceLeakReport, type TracedBlock } from "../src/index.js";
import { makePages, makeRoot, thrown } from "./helpers.js";

/*
 * Block labels: allocate(size, align, labelId) attributes a block to a label
 * (what a container passes: its name), and the scope's report, text report,
 * leak reports and folded stacks show the label.
 */

function labelsOf(report: ScopeReport): Record<string, Omit<LabelReport, "label" | "peakFrame">> {
  const out: Record<string, Omit<LabelReport, "label" | "peakFrame">> = {};
  for (const l of report.labels ?? []) out[l.label] = { liveBytes: l.liveBytes, liveCount: l.liveCount, peakLiveBytes: l.peakLiveBytes };
  return out;
}

function leakOf(fn: () => unknown): LeakError & { report: TraceLeakReport } {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(LeakError);
  return err as LeakError & { report: TraceLeakReport };
}

describe("labelId", () => {
  it("interns a text to one id for the whole tree; a scope is recognised by hasBlockLabels", () => {
    const { root } = makeRoot();
    const physics = root.child("physics");
    expect(hasBlockLabels(root)).toBe(true);
    const grid = physics.labelId('HashMap "grid"');
    expect(grid).toBeGreaterThan(0);
    expect(physics.labelId('HashMap "grid"')).toBe(grid);
    expect(root.labelId('HashMap "grid"')).toBe(grid);
    expect(root.labelId("other")).not.toBe(grid);
  });

  it("refuses a text that is not a non-empty string with InvalidArgumentError", () => {
    const { root } = makeRoot();
    for (const bad of ["", 1, undefined, null, 2n, Symbol("x"), {}]) {
      const err = thrown(() => root.labelId(bad as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain("root.labelId: a label is a non-empty string");
    }
  });

  it("refuses a label id the tree never gave (another tree's, a fraction, a string), changing nothing", () => {
    const { root } = makeRoot();
    const { root: other } = makeRoot();
    other.labelId("a");
    const foreign = other.labelId("b");
    const p = root.allocate(16);
    const before = root.report();
    for (const bad of [foreign, 1.5, -1, "1", null, NaN, 2n]) {
      const err = thrown(() => root.allocate(16, 8, bad as never));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain("is not a label id of this scope tree");
      expect(thrown(() => root.reallocate(p, 64, 8, bad as never))).toBeInstanceOf(InvalidArgumentError);
    }
    expect(root.report()).toEqual(before);
    root.check();
  });
});

describe.each(["counts", "callstacks"] as const)('labelled blocks at tracing "%s"', (tracing) => {
  it("report() lists each label's live bytes, blocks and peak; unlabelled blocks are the rest", () => {
    const { root } = makeRoot({ tracing });
    const physics = root.child("physics");
    const grid = physics.labelId('HashMap<u32, u32> "grid"');
    const ids = physics.labelId('DynamicArray<u32> "ids"');
    const a = physics.allocate(4000, 8, grid);
    const b = physics.allocate(96, 8, ids);
    physics.allocate(50);
    const c = physics.allocate(24, 64, ids);
    expect(labelsOf(physics.report())).toEqual({
      'HashMap<u32, u32> "grid"': { liveBytes: 4000, liveCount: 1, peakLiveBytes: 4000 },
      'DynamicArray<u32> "ids"': { liveBytes: 120, liveCount: 2, peakLiveBytes: 120 },
    });
    expect(physics.report().labels!.map((l) => l.label)).toEqual(['HashMap<u32, u32> "grid"', 'DynamicArray<u32> "ids"']);
    // Growth keeps the label (a reallocate without one); the peak stays the highest.
    const a2 = physics.reallocate(a, 8000);
    physics.deallocate(b);
    physics.deallocate(c);
    expect(labelsOf(physics.report())).toEqual({
      'HashMap<u32, u32> "grid"': { liveBytes: 8000, liveCount: 1, peakLiveBytes: 8000 },
      'DynamicArray<u32> "ids"': { liveBytes: 0, liveCount: 0, peakLiveBytes: 120 },
    });
    // A reallocate with a label relabels the block.
    physics.reallocate(a2, 100, 8, ids);
    expect(labelsOf(physics.report())).toEqual({
      'DynamicArray<u32> "ids"': { liveBytes: 100, liveCount: 1, peakLiveBytes: 120 },
      'HashMap<u32, u32> "grid"': { liveBytes: 0, liveCount: 0, peakLiveBytes: 8000 },
    });
    // resetPeak: peaks become the current use, and labels with nothing live and no peak drop out.
    physics.resetPeak("play");
    expect(labelsOf(physics.report())).toEqual({ 'DynamicArray<u32> "ids"': { liveBytes: 100, liveCount: 1, peakLiveBytes: 100 } });
    expect(root.report().labels).toBeUndefined();
    root.check();
  });

  it("formatReport() shows a line per label under its scope", () => {
    const { root } = makeRoot({ tracing });
    const physics = root.child("physics");
    physics.child("broadphase").allocate(10);
    physics.allocate(4000, 8, physics.labelId('HashMap<u32, u32> "grid"'));
    root.allocate(96, 8, root.labelId("cache"));
    const text = physics.root.formatReport();
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^scope\s+live\s+self\s+blocks\s+peak\s+allocs\s+frees$/);
    expect(lines[1]).toMatch(/^root\s/);
    expect(lines[2]).toMatch(/^│ · cache\s+96 B\s+1\s+96 B$/);
    expect(lines[3]).toMatch(/^└─ physics\s/);
    expect(lines[4]).toMatch(new RegExp(`^ {3}│ · HashMap<u32, u32> "grid"\\s+${formatBytes(4000)}\\s+1\\s+${formatBytes(4000)}$`));
    expect(lines[5]).toMatch(/^ {3}└─ broadphase\s/);
    expect(formatReport(root.report())).toBe(text);
    // A label is free text: line breaks and tabs print as spaces, so the table stays a table.
    root.allocate(1, 8, root.labelId("two\nlines\tand a tab"));
    expect(root.formatReport().split("\n")).toContainEqual(expect.stringMatching(/^│ · two lines and a tab\s+1 B\s+1\s+1 B$/));
  });

  it("leak reports name each block's label, in the message and in error.report", () => {
    const { root } = makeRoot({ tracing });
    const level = root.child("level");
    const table = level.allocate(4000, 8, level.labelId('HashMap<u32, u32> "table"'));
    const raw = level.allocate(96);
    const err = leakOf(() => level.dispose());
    const lines = err.message.split("\n");
    const tableLine = lines.find((l) => l.startsWith(`  ${hex(table)}`))!;
    const rawLine = lines.find((l) => l.startsWith(`  ${hex(raw)}`))!;
    if (tracing === "counts") {
      expect(tableLine).toBe(`  ${hex(table)}  4,000 B  HashMap<u32, u32> "table"`);
      expect(rawLine).toBe(`  ${hex(raw)}     96 B`);
    } else {
      expect(tableLine).toMatch(new RegExp(`^  ${hex(table)}  4,000 B  HashMap<u32, u32> "table"  allocated at `));
      expect(rawLine).toMatch(new RegExp(`^  ${hex(raw)}     96 B  allocated at `));
    }
    const blocks: TracedBlock[] = err.report.blocks;
    expect(blocks.map((b) => [b.ptr, b.label])).toEqual([
      [table, 'HashMap<u32, u32> "table"'],
      [raw, undefined],
    ]);
    expect(foldLeakReport(err.report).split("\n").find((l) => l.includes("["))).toMatch(/^root;level;\[HashMap<u32, u32> "table"\](;.*)? 4000$/);
    // A leak in a child is named with its scope and its label.
    const child = level.child("streaming");
    const chunk = child.allocate(10, 8, child.labelId("chunk"));
    level.deallocate(table);
    level.deallocate(raw);
    const nested = leakOf(() => level.dispose());
    expect(nested.message.split("\n").find((l) => l.startsWith(`  ${hex(chunk)}`))).toMatch(/^ {2}0x[0-9a-f]+ {2}10 B {2}in root\/level\/streaming, chunk(?: {2}allocated at |$)/);
  });

  it("folded stacks put the label as a frame after the scope path, live and allocated", () => {
    const { root } = makeRoot({ tracing });
    const physics = root.child("physics");
    const grid = physics.labelId('HashMap<u32, u32> "grid; main"');
    function spawnGrid(): number {
      return physics.allocate(4000, 8, grid);
    }
    const p = spawnGrid();
    physics.allocate(50);
    const live = root.foldedStacks().trim().split("\n");
    expect(live).toHaveLength(2);
    const labelled = live.find((l) => l.startsWith("root;physics;[HashMap"))!;
    // ";" cannot appear inside a frame: it becomes ","
    if (tracing === "counts") expect(labelled).toBe('root;physics;[HashMap<u32, u32> "grid, main"] 4000');
    else expect(labelled).toMatch(/^root;physics;\[HashMap<u32, u32> "grid, main"\];.*spawnGrid \(test\/labels\.test\.ts:\d+\) 4000$/);
    physics.reallocate(p, 6000);
    const allocated = root.foldedStacks({ which: "allocated" }).trim().split("\n");
    const sumOf = (prefix: string): number => allocated.filter((l) => l.startsWith(prefix)).reduce((s, l) => s + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    expect(sumOf("root;physics;[HashMap")).toBe(10000);
    expect(sumOf("root;physics") - sumOf("root;physics;[")).toBe(50);
  });
});

describe("labels and the other levels", () => {
  it('at tracing "off" a label is ignored: the block is allocated, counted, freed as any other', () => {
    const { root } = makeRoot({ tracing: "off" });
    const id = root.labelId("grid");
    const p = root.allocate(100, 8, id);
    const q = root.reallocate(p, 200, 8, id);
    expect(root.stats().liveCount).toBe(1);
    expect(root.report().labels).toBeUndefined();
    root.deallocate(q);
    expect(root.stats().liveCount).toBe(0);
    root.dispose();
  });

  it('with guarded headers (debug) labels work the same, and at "callstacks" unsampled blocks keep their label', () => {
    const { root } = makeRoot({ guardHeaders: true, tracing: "callstacks", sampleEvery: 3 });
    const id = root.labelId("pool");
    const ptrs = Array.from({ length: 7 }, () => root.allocate(10, 8, id));
    expect(labelsOf(root.report())).toEqual({ pool: { liveBytes: 70, liveCount: 7, peakLiveBytes: 70 } });
    const lines = root.foldedStacks().trim().split("\n");
    expect(lines.every((l) => l.startsWith("root;[pool]"))).toBe(true);
    root.check();
    for (const p of ptrs) root.deallocate(p);
    expect(labelsOf(root.report())).toEqual({ pool: { liveBytes: 0, liveCount: 0, peakLiveBytes: 70 } });
    root.check();
  });
});

describe("labels of retained blocks through dispose", () => {
  it("a retained labelled block is adopted with its label: the parent lists it, a free through either scope uncounts it", () => {
    const { root } = makeRoot();
    const level = root.child("level");
    const cache = level.child("cache");
    const id = cache.labelId("textures");
    const kept = cache.allocate(300, 8, id);
    const kept2 = cache.allocate(200, 8, id);
    cache.retain(kept);
    cache.retain(kept2);
    cache.dispose();
    expect(labelsOf(level.report())).toEqual({ textures: { liveBytes: 500, liveCount: 2, peakLiveBytes: 500 } });
    expect(level.retainedBlocks().map((b) => b.label)).toEqual(["textures", "textures"]);
    level.check();
    cache.deallocate(kept); // through the disposed scope it came from
    expect(labelsOf(level.report())).toEqual({ textures: { liveBytes: 200, liveCount: 1, peakLiveBytes: 500 } });
    root.check();
    level.deallocate(kept2); // through the owner
    expect(labelsOf(level.report())).toEqual({ textures: { liveBytes: 0, liveCount: 0, peakLiveBytes: 500 } });
    root.check();
    // A new scope on the recycled row starts with no labels.
    const next = level.child("cache2");
    expect(next.report().labels).toBeUndefined();
    root.check();
  });

  it("disposeAllowingLeaks hands labelled leaks to the parent with their labels; the root's dispose keeps them", () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    const plugin = root.child("plugin");
    plugin.allocate(64, 8, plugin.labelId("third-party"));
    plugin.disposeAllowingLeaks(1000);
    expect(labelsOf(root.report())).toEqual({ "third-party": { liveBytes: 64, liveCount: 1, peakLiveBytes: 64 } });
    root.check();
  });
});

describe("label sums always match the blocks (model)", () => {
  type Op =
    | { kind: "alloc"; at: number; size: number; label: number; align: number }
    | { kind: "free"; at: number; pick: number }
    | { kind: "realloc"; at: number; pick: number; size: number; label: number }
    | { kind: "child"; at: number }
    | { kind: "retain"; at: number; pick: number }
    | { kind: "dispose"; at: number }
    | { kind: "reset"; at: number };
  const n = fc.nat(1000);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant("alloc" as const), at: n, size: fc.integer({ min: 0, max: 3000 }), label: fc.integer({ min: 0, max: 3 }), align: fc.constantFrom(8, 64) }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("free" as const), at: n, pick: n }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("realloc" as const), at: n, pick: n, size: fc.integer({ min: 0, max: 3000 }), label: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("child" as const), at: n }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("retain" as const), at: n, pick: n }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("dispose" as const), at: n }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const), at: n }) },
  );

  it("after every step: each scope's labels sum its labelled live blocks exactly, peaks hold, check() passes", () => {
    fc.assert(
      fc.property(fc.constantFrom("counts" as const, "callstacks" as const), fc.array(op, { maxLength: 120 }), (tracing, ops) => {
        const root = new TraceAllocator(makePages(), { tracing, sampleEvery: 2 });
        const texts = ["", "grid", "ids", "bodies"];
        const ids = texts.map((t) => (t === "" ? 0 : root.labelId(t)));
        // The model: each block's owner scope (the one that lists it now), size, label text and whether it is retained.
        const blocks = new Map<number, { owner: TraceAllocator; origin: TraceAllocator; size: number; label: string; retained: boolean }>();
        const peaks = new Map<string, number>(); // `${path}\n${label}` -> highest live since the scope's last reset
        const scopes: TraceAllocator[] = [root];
        let names = 0;
        const liveOf = (scope: TraceAllocator, label: string): number =>
          [...blocks.values()].filter((b) => b.owner === scope && b.label === label).reduce((s, b) => s + b.size, 0);
        const notePeak = (scope: TraceAllocator, label: string): void => {
          if (label === "") return;
          const key = `${scope.path}\n${label}`;
          peaks.set(key, Math.max(peaks.get(key) ?? 0, liveOf(scope, label)));
        };
        const ownedBy = (scope: TraceAllocator): number[] => [...blocks.entries()].filter(([, b]) => b.owner === scope).map(([p]) => p);
        for (const o of ops) {
          const scope = scopes[o.at % scopes.length]!;
          if (o.kind === "alloc") {
            const p = scope.allocate(o.size, o.align, ids[o.label]);
            blocks.set(p, { owner: scope, origin: scope, size: o.size, label: texts[o.label]!, retained: false });
            notePeak(scope, texts[o.label]!);
          } else if (o.kind === "free" || o.kind === "realloc" || o.kind === "retain") {
            const mine = ownedBy(scope);
            if (mine.length === 0) continue;
            const p = mine[o.pick % mine.length]!;
            const b = blocks.get(p)!;
            if (o.kind === "free") {
              scope.deallocate(p);
              blocks.delete(p);
            } else if (o.kind === "retain") {
              scope.retain(p);
              b.retained = true;
            } else {
              const q = scope.reallocate(p, o.size, 8, ids[o.label]);
              blocks.delete(p);
              const label = o.label === 0 ? b.label : texts[o.label]!;
              blocks.set(q, { ...b, origin: scope, size: o.size, label });
              notePeak(scope, label);
            }
          } else if (o.kind === "child") {
            scopes.push(scope.child(`s${names++}`));
          } else if (o.kind === "dispose") {
            if (scope === root) continue;
            // Free what is not retained (the subtree's), then dispose: retained blocks go to the parent.
            const subtree = scopes.filter((s) => s.path === scope.path || s.path.startsWith(`${scope.path}/`));
            for (const [p, b] of [...blocks]) {
              if (!subtree.includes(b.owner)) continue;
              if (b.retained) continue;
              b.owner.deallocate(p);
              blocks.delete(p);
            }
            // Deepest first: a scope with live children cannot be disposed.
            for (const s of [...subtree].reverse()) s.dispose();
            for (const b of blocks.values()) {
              if (!subtree.includes(b.owner)) continue;
              b.owner = scope.parent!;
              notePeak(scope.parent!, b.label);
            }
            for (const s of subtree) {
              scopes.splice(scopes.indexOf(s), 1);
              for (const key of [...peaks.keys()]) if (key.startsWith(`${s.path}\n`)) peaks.delete(key);
            }
          } else {
            scope.resetPeak();
            for (const s of scopes.filter((x) => x.path === scope.path || x.path.startsWith(`${scope.path}/`))) {
              for (const key of [...peaks.keys()]) if (key.startsWith(`${s.path}\n`)) peaks.set(key, liveOf(s, key.slice(s.path.length + 1)));
            }
          }
          root.check();
          for (const s of scopes) {
            const report = s.report();
            const expected: Record<string, Omit<LabelReport, "label" | "peakFrame">> = {};
            for (const label of texts.slice(1)) {
              const peak = peaks.get(`${s.path}\n${label}`) ?? 0;
              const held = [...blocks.values()].filter((b) => b.owner === s && b.label === label);
              if (held.length === 0 && peak === 0) continue;
              expected[label] = { liveBytes: liveOf(s, label), liveCount: held.length, peakLiveBytes: peak };
            }
            expect(labelsOf(report)).toEqual(expected);
            // Labelled plus unlabelled blocks are the scope's own live bytes.
            const unlabelled = [...blocks.values()].filter((b) => b.owner === s && b.label === "").reduce((sum, b) => sum + b.size, 0);
            expect((report.labels ?? []).reduce((sum, l) => sum + l.liveBytes, 0) + unlabelled).toBe(report.liveBytes);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
