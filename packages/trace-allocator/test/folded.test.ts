import { describe, expect, it } from "vitest";
import { InvalidArgumentError, type LeakError, type LeakReport } from "@memkit/core";
import { diffFoldedStacks, foldLeakReport, parseFoldedStacks, type TraceAllocator, type FoldedLine } from "../src/index.js";
import { makeRoot, thrown } from "./helpers.js";

function sum(lines: FoldedLine[]): number {
  return lines.reduce((s, l) => s + l.value, 0);
}

/** Parses and checks the format: every line `frames value`, no empty frame, a positive integer value, no duplicates. */
function parse(text: string): FoldedLine[] {
  expect(text === "" || text.endsWith("\n")).toBe(true);
  for (const line of text.split("\n").slice(0, -1)) expect(line).toMatch(/^[^ ;][^;\n]*(;[^;\n]+)* [1-9]\d*$/);
  const lines = parseFoldedStacks(text);
  expect(new Set(lines.map((l) => l.frames.join(";"))).size).toBe(lines.length);
  return lines;
}

function buildWorld(root: TraceAllocator): { physics: TraceAllocator; level: TraceAllocator; blocks: [TraceAllocator, number][] } {
  const physics = root.child("physics");
  const level = root.child("level", { tracing: "callstacks" });
  const blocks: [TraceAllocator, number][] = [];
  function stepBodies(n: number): void {
    for (let i = 0; i < n; i++) blocks.push([physics, physics.allocate(100 + i)]);
  }
  function loadChunk(): void {
    blocks.push([level, level.allocate(4000)]);
  }
  function loadLevel(): void {
    loadChunk();
    loadChunk();
    blocks.push([level, level.allocate(96)]);
  }
  stepBodies(5);
  loadLevel();
  blocks.push([root, root.allocate(7)]);
  return { physics, level, blocks };
}

describe("folded stacks", () => {
  it("live: scope frames first, then call frames outermost first; values sum to live bytes and blocks", () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    buildWorld(root);
    const report = root.report();
    const bytes = parse(root.foldedStacks());
    expect(sum(bytes)).toBe(report.totalLiveBytes);
    expect(sum(parse(root.foldedStacks({ metric: "count" })))).toBe(report.totalLiveCount);
    expect(bytes.every((l) => l.frames[0] === "root")).toBe(true);
    const chunk = bytes.find((l) => l.frames.some((f) => f.startsWith("loadChunk ")))!;
    expect(chunk.value).toBe(4000); // two calls to loadChunk from two lines of loadLevel: two stacks
    expect(chunk.frames.slice(0, 2)).toEqual(["root", "level"]);
    const names = chunk.frames.map((f) => f.split(" ")[0]);
    expect(names.indexOf("loadLevel")).toBeLessThan(names.indexOf("loadChunk"));
    expect(names.at(-1)).toBe("loadChunk");
    // The subtree of one scope only.
    const levelLines = parse(root.getChild("level")!.foldedStacks({ live: true }));
    expect(sum(levelLines)).toBe(8096);
    expect(levelLines.every((l) => l.frames[1] === "level")).toBe(true);
  });

  it('live at "counts": one line per scope, the scope path as frames', () => {
    const { root } = makeRoot();
    const a = root.child("a");
    const b = a.child("b");
    a.allocate(10);
    b.allocate(20);
    b.allocate(30);
    expect(root.foldedStacks()).toBe("root;a 10\nroot;a;b 50\n");
    expect(root.foldedStacks({ metric: "count" })).toBe("root;a 1\nroot;a;b 2\n");
  });

  it("peak: what was live when the subtree peaked sums to its peak, after frees, resets, and a disposed child", () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    const { level, blocks } = buildWorld(root);
    const streaming = level.child("streaming");
    const s1 = streaming.allocate(1000);
    const peak = root.report().totalLiveBytes;
    for (const [scope, ptr] of blocks.splice(0, 3)) scope.deallocate(ptr);
    streaming.deallocate(s1);
    streaming.dispose();
    const small = root.allocate(1);
    let lines = parse(root.foldedStacks({ which: "peak" }));
    expect(sum(lines)).toBe(peak);
    expect(root.report().totalPeakLiveBytes).toBe(peak);
    // The disposed child's part of the peak is still there.
    expect(lines.find((l) => l.frames.join(";") === "root;level;streaming" || l.frames.slice(0, 3).join(";") === "root;level;streaming")!.value).toBe(1000);
    expect(sum(parse(root.foldedStacks({ which: "peak", metric: "count" })))).toBe(blocks.length + 3 + 1);
    // A new stage: the peak is now, and grows with the next allocation.
    root.resetPeak("stage 2");
    const now = root.report().totalLiveBytes;
    expect(sum(parse(root.foldedStacks({ which: "peak" })))).toBe(now);
    const big = root.allocate(50_000);
    root.deallocate(big);
    lines = parse(root.foldedStacks({ which: "peak" }));
    expect(sum(lines)).toBe(now + 50_000);
    expect(sum(parse(level.foldedStacks({ which: "peak" })))).toBe(level.report().totalPeakLiveBytes);
    root.deallocate(small);
    for (const [scope, ptr] of blocks) scope.deallocate(ptr);
    root.check();
  });

  it('peak needs "callstacks"', () => {
    const { root } = makeRoot();
    const err = thrown(() => root.foldedStacks({ which: "peak" }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain('needs tracing "callstacks"');
  });

  it("allocated (live: false): every allocate and reallocate, at any level", () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    const counted = root.child("counted", { tracing: "counts" });
    const { blocks } = buildWorld(root);
    let p = counted.allocate(10);
    p = counted.reallocate(p, 30);
    for (const [scope, ptr] of blocks) scope.deallocate(ptr);
    counted.deallocate(p);
    const report = root.report();
    const all = (r: typeof report): number => r.allocatedBytes + r.children.reduce((s, c) => s + all(c), 0);
    const events = (r: typeof report): number => r.allocCount + r.reallocCount + r.children.reduce((s, c) => s + events(c), 0);
    expect(root.foldedStacks()).toBe("");
    const bytes = parse(root.foldedStacks({ live: false }));
    expect(sum(bytes)).toBe(all(report));
    expect(sum(parse(root.foldedStacks({ which: "allocated", metric: "count" })))).toBe(events(report));
    expect(bytes.find((l) => l.frames.join(";") === "root;counted")!.value).toBe(40);
    expect(thrown(() => root.foldedStacks({ live: true, which: "allocated" }))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => root.foldedStacks({ metric: "time" as never }))).toBeInstanceOf(InvalidArgumentError);
  });

  it("sampling keeps the interned stacks few: 1M allocations from 3 call sites", () => {
    const { root } = makeRoot({ tracing: "callstacks", sampleEvery: 97 });
    const particles = root.child("particles");
    const ring = new Int32Array(64);
    function emitSpark(i: number): void {
      ring[i & 63] = particles.allocate(16);
    }
    function emitSmoke(i: number): void {
      ring[i & 63] = particles.allocate(48);
    }
    function emitDebris(i: number): void {
      ring[i & 63] = particles.allocate(200);
    }
    for (let i = 0; i < 1_000_000; i++) {
      if (ring[i & 63] !== 0) particles.deallocate(ring[i & 63]!);
      const site = i % 3;
      if (site === 0) emitSpark(i);
      else if (site === 1) emitSmoke(i);
      else emitDebris(i);
    }
    expect(root.uniqueStacks).toBeLessThanOrEqual(3);
    expect(root.uniqueStacks).toBeGreaterThanOrEqual(3);
    const lines = parse(root.foldedStacks({ metric: "count" }));
    expect(sum(lines)).toBe(64);
    expect(lines.length).toBeLessThanOrEqual(4); // three sites plus the unsampled remainder at the scope
    const allocated = parse(root.foldedStacks({ live: false, metric: "count" }));
    expect(sum(allocated)).toBe(1_000_000);
    // The first allocation is sampled, then every 97th.
    expect(allocated.find((l) => l.frames.join(";") === "root;particles")!.value).toBe(1_000_000 - Math.ceil(1_000_000 / 97));
    for (let i = 0; i < 64; i++) particles.deallocate(ring[i]!);
    root.check();
  });

  it("leak reports fold to what was left at the end; two foldings diff into flamegraph.pl's differential form", () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    const level = root.child("level");
    function loadLevel(): void {
      level.allocate(300);
    }
    loadLevel();
    const before = root.foldedStacks();
    level.allocate(5);
    const after = root.foldedStacks();
    let report: LeakReport | undefined;
    try {
      level.dispose();
    } catch (err) {
      report = (err as LeakError).report;
    }
    const left = parse(foldLeakReport(report!));
    expect(sum(left)).toBe(305);
    expect(left.some((l) => l.frames.at(-1)!.startsWith("loadLevel "))).toBe(true);
    expect(sum(parse(foldLeakReport(report!, "count")))).toBe(2);
    const diff = diffFoldedStacks(before, after).trim().split("\n");
    expect(diff).toHaveLength(2);
    expect(diff.every((l) => / \d+ \d+$/.test(l))).toBe(true);
    expect(diff.some((l) => l.endsWith(" 0 5"))).toBe(true);
    expect(diff.some((l) => l.endsWith(" 300 300"))).toBe(true);
  });

  it("parseFoldedStacks rejects malformed lines", () => {
    expect(parseFoldedStacks("a;b 3\n\nc 4\n")).toEqual([
      { frames: ["a", "b"], value: 3 },
      { frames: ["c"], value: 4 },
    ]);
    for (const bad of ["a;b", "a;;b 3", "3", ";a 3", "a b"]) expect(thrown(() => parseFoldedStacks(bad))).toBeInstanceOf(InvalidArgumentError);
  });
});
