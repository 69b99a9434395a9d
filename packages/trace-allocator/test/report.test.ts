import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "@memkit/core";
import { diffReports, formatReport, formatReportDiff } from "../src/index.js";
import { makeRoot, thrown } from "./helpers.js";

describe("report()", () => {
  it("is plain JSON with the documented fields", () => {
    const { root } = makeRoot();
    const physics = root.child("physics", { budget: { bytes: 32 << 20, onExceed: "warn" } });
    const p = physics.allocate(1000);
    physics.retain(p, "kept");
    root.markFrame(3);
    const report = root.report();
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(report).toEqual({
      name: "root",
      path: "root",
      tracing: "counts",
      liveBytes: 0,
      liveCount: 0,
      peakLiveBytes: 0,
      peakFrame: 0,
      allocCount: 0,
      freeCount: 0,
      reallocCount: 0,
      allocatedBytes: 0,
      tempFreeCount: 0,
      tempFreeBytes: 0,
      reservedBytes: 0,
      retainedBytes: 0,
      retainedCount: 0,
      totalLiveBytes: 1000,
      totalLiveCount: 1,
      totalPeakLiveBytes: 1000,
      totalPeakFrame: 0,
      frame: 3,
      children: [
        {
          name: "physics",
          path: "root/physics",
          tracing: "counts",
          liveBytes: 1000,
          liveCount: 1,
          peakLiveBytes: 1000,
          peakFrame: 0,
          allocCount: 1,
          freeCount: 0,
          reallocCount: 0,
          allocatedBytes: 1000,
          tempFreeCount: 0,
          tempFreeBytes: 0,
          reservedBytes: 1024,
          retainedBytes: 1000,
          retainedCount: 1,
          totalLiveBytes: 1000,
          totalLiveCount: 1,
          totalPeakLiveBytes: 1000,
          totalPeakFrame: 0,
          budgetBytes: 32 << 20,
          budgetAction: "warn",
          children: [],
        },
      ],
    });
    physics.deallocate(p);
  });
});

describe("formatReport()", () => {
  it("prints an aligned tree with human units and budget use", () => {
    const { root } = makeRoot();
    const physics = root.child("physics", { budget: 32 << 20 });
    const broadphase = physics.child("broadphase");
    const audio = root.child("audio");
    physics.allocate(1500);
    broadphase.allocate(64);
    broadphase.allocate(64);
    audio.allocate(3 << 20);
    audio.resetPeak("loading");
    const text = root.formatReport();
    expect(text).toBe(formatReport(root.report()));
    const lines = text.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^scope\s+live\s+self\s+blocks\s+peak\s+allocs\s+frees\s+budget$/);
    expect(lines[1]).toMatch(/^root\s+3\.00 MiB\s+0 B\s+4\s+3\.00 MiB\s+0\s+0$/);
    expect(lines[2]).toMatch(/^├─ physics\s+1\.59 KiB\s+1\.46 KiB\s+3\s+1\.59 KiB\s+1\s+0\s+1\.59 KiB \/ 32\.0 MiB \(0%\)$/);
    expect(lines[3]).toMatch(/^│ {2}└─ broadphase\s+128 B\s+128 B\s+2/);
    expect(lines[4]).toMatch(/^└─ audio \[loading\]\s+3\.00 MiB/);
    // Numeric columns are right-aligned: every row's "live" cell ends in the same column.
    const end = lines[0]!.indexOf("live") + 4;
    for (const line of lines.slice(1)) expect(line[end - 1]).toMatch(/[BiK]/);
  });
});

describe("diffReports()", () => {
  it("says per scope what grew between two reports, including scopes that came and went", () => {
    const { root } = makeRoot();
    const physics = root.child("physics");
    const menu = root.child("menu");
    const m = menu.allocate(100);
    root.markFrame(100);
    const before = JSON.parse(JSON.stringify(root.report())) as ReturnType<typeof root.report>;
    menu.deallocate(m);
    menu.dispose();
    const level = root.child("level");
    const streaming = level.child("streaming");
    streaming.allocate(4096);
    physics.allocate(10);
    root.markFrame(5000);
    const diff = diffReports(before, root.report());
    expect(diff.fromFrame).toBe(100);
    expect(diff.toFrame).toBe(5000);
    expect(diff.scopes.map((s) => [s.path, s.status, s.depth])).toEqual([
      ["root", "changed", 0],
      ["root/physics", "changed", 1],
      ["root/level", "added", 1],
      ["root/level/streaming", "added", 2],
      ["root/menu", "removed", 1],
    ]);
    const byPath = new Map(diff.scopes.map((s) => [s.path, s]));
    expect(byPath.get("root")!.delta.totalLiveBytes).toBe(4096 + 10 - 100);
    expect(byPath.get("root/level")!.delta).toMatchObject({ totalLiveBytes: 4096, liveBytes: 0 });
    expect(byPath.get("root/level")!.before).toBeUndefined();
    expect(byPath.get("root/menu")!.delta).toMatchObject({ totalLiveBytes: -100, allocCount: -1, freeCount: 0 });
    expect(byPath.get("root/menu")!.after).toBeUndefined();

    const text = formatReportDiff(diff);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^scope \(frame 100 -> 5000\)\s+live\s+self\s+blocks\s+peak\s+allocs\s+frees$/);
    expect(lines.find((l) => l.trimStart().startsWith("streaming"))).toMatch(/^ {4}streaming \(new\)\s+\+4\.00 KiB\s+\+4\.00 KiB\s+\+1\s+\+4\.00 KiB\s+\+1\s+0$/);
    expect(lines.find((l) => l.includes("menu"))).toMatch(/^ {2}menu \(gone\)\s+-100 B\s+-100 B\s+-1\s+-100 B\s+-1\s+0$/);
    expect(formatReportDiff(diffReports(before, before))).toBe("scope (frame 100 -> 100): no change");
    expect(formatReportDiff(diffReports(before, before), { all: true }).split("\n")).toHaveLength(4);
    expect(thrown(() => diffReports({} as never, before))).toBeInstanceOf(InvalidArgumentError);
  });
});
