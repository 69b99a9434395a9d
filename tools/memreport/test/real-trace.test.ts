import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator, formatReport, parseFoldedStacks } from "@memkit/trace-allocator";
import { describe, expect, test } from "vitest";
import { buildFlameTree, diffMemoryReports, formatMemoryDiff, formatText, hasCallStacks, layoutFlame, scopePaths, splitStack, validateReport } from "../src/index.js";
import type { MemoryReport } from "../src/report-types.js";
import { gameReport } from "./fixtures/reports.js";

/*
 * The scope tree and folded stacks here come from a real TraceAllocator with
 * tracing "callstacks" (the map and allocator figures from the fixture), so
 * memreport is checked against what the trace allocator really writes: real
 * frame names, real ordering, real peaks.
 */

function world(): { root: TraceAllocator; loadChunk: () => number; think: () => number; spawn: () => number } {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
  const root = new TraceAllocator(new PageAllocator(space, { pageSize: 256 }), { tracing: "callstacks" });
  const level = root.child("level");
  const streaming = level.child("streaming");
  const ai = root.child("ai");
  function loadChunk(): number {
    return streaming.allocate(4000);
  }
  function think(): number {
    return ai.allocate(100);
  }
  function spawn(): number {
    return level.allocate(48);
  }
  return { root, loadChunk, think, spawn };
}

function snapshot(root: TraceAllocator, label: string): MemoryReport {
  const base = gameReport();
  const report: MemoryReport = {
    ...base,
    label,
    frame: root.frame,
    stages: [],
    scopes: root.report(),
    folded: {
      liveBytes: root.foldedStacks({ metric: "bytes" }),
      liveCount: root.foldedStacks({ metric: "count" }),
      peakBytes: root.foldedStacks({ which: "peak" }),
    },
  };
  // Through JSON, as a file would be.
  return validateReport(JSON.parse(JSON.stringify(report)), label);
}

describe("reports from a real TraceAllocator", () => {
  test("validate, split into scope and call frames, fold into a flame graph and diff", () => {
    const { root, loadChunk, think, spawn } = world();
    const live: number[] = [];
    root.markFrame(100);
    live.push(loadChunk(), loadChunk(), spawn(), spawn(), think());
    const before = snapshot(root, "frame 100");

    root.markFrame(600);
    live.push(loadChunk(), loadChunk(), loadChunk());
    const after = snapshot(root, "frame 600");

    for (const report of [before, after]) {
      expect(hasCallStacks(report)).toBe(true);
      const lines = parseFoldedStacks(report.folded.liveBytes);
      expect(lines.reduce((s, l) => s + l.value, 0)).toBe(report.scopes.totalLiveBytes);
      // Each line splits at its scope; the call frames end in the function that allocated.
      const paths = scopePaths(report.scopes);
      const chunk = lines.map((l) => splitStack(l.frames, paths)).find((s) => s.scope === "root/level/streaming")!;
      expect(chunk.calls.at(-1)).toMatch(/^loadChunk \(.*real-trace\.test\.ts:\d+\)$/);
      expect(formatText(report)).toContain(formatReport(report.scopes));
    }

    // The flame graph: scope frames first, then call frames. loadChunk was called from two
    // lines of this test (2 and 3 chunks): two stacks, holding every streaming byte between them.
    const tree = buildFlameTree(after.folded.liveBytes, scopePaths(after.scopes));
    const layout = layoutFlame(tree);
    const chunkFrames = layout.rects.filter((r) => r.name.startsWith("loadChunk "));
    expect(chunkFrames.map((r) => r.value)).toEqual([12_000, 8000]);
    for (const frame of chunkFrames) {
      expect(frame.isScope).toBe(false);
      expect(frame.stack.slice(0, 4)).toEqual(["all", "root", "level", "streaming"]);
    }
    expect(layout.rects.find((r) => r.name === "streaming")!.isScope).toBe(true);

    const diff = diffMemoryReports(before, after);
    expect(diff.grew.map((c) => [c.path, c.deltaBytes])).toEqual([["root/level/streaming", 12_000]]);
    expect(diff.stacks!.grew).toHaveLength(1);
    expect(diff.stacks!.grew[0]).toMatchObject({ scope: "root/level/streaming", before: 0, after: 12_000, delta: 12_000 });
    expect(diff.stacks!.shrank).toEqual([]);
    expect(formatMemoryDiff(diff)).toMatch(/grew +\+11\.7 KiB {2}root\/level\/streaming: loadChunk \(.*real-trace\.test\.ts:\d+\) < /);

    for (const ptr of live) root.scopeOf(ptr)!.deallocate(ptr);
    // Children first: disposing a scope with live children is a leak.
    for (const path of ["level/streaming", "level", "ai"]) {
      let scope = root;
      for (const name of path.split("/")) scope = scope.getChild(name)!;
      scope.dispose();
    }
    root.dispose();
  });
});
