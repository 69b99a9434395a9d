import { InvalidArgumentError } from "@memkit/core";
import { describe, expect, test } from "vitest";
import { FOLDED_METRICS, foldedText, heaviestStages, scopePaths, splitStack, stageMatrix, type FoldedMetric } from "../src/index.js";
import { countsGameReport, gameReport } from "./fixtures/reports.js";

describe("foldedText", () => {
  test("returns the report's own folded stacks for each metric", () => {
    const report = gameReport();
    expect(foldedText(report, "bytes")).toBe(report.folded.liveBytes);
    expect(foldedText(report, "count")).toBe(report.folded.liveCount);
    expect(foldedText(report, "peak")).toBe(report.folded.peakBytes);
    expect(FOLDED_METRICS).toEqual(["bytes", "count", "peak"]);
  });

  test("peak without call stacks, or an unknown metric: InvalidArgumentError saying what to do", () => {
    expect(() => foldedText(countsGameReport(), "peak")).toThrow(InvalidArgumentError);
    expect(() => foldedText(countsGameReport(), "peak")).toThrow('peak stacks need tracing "callstacks"');
    expect(() => foldedText(gameReport(), "bogus" as FoldedMetric)).toThrow('folded metric must be one of bytes, count, peak, received "bogus".');
  });
});

describe("splitStack", () => {
  const paths = scopePaths(gameReport().scopes);

  test("cuts after the longest known scope path", () => {
    expect(splitStack(["root", "level", "streaming", "main (m.ts:1)", "loadChunk (s.ts:8)"], paths)).toEqual({
      scope: "root/level/streaming",
      calls: ["main (m.ts:1)", "loadChunk (s.ts:8)"],
    });
    expect(splitStack(["root", "level"], paths)).toEqual({ scope: "root/level", calls: [] });
  });

  test("a frame named like a scope below a call frame stays a call frame", () => {
    expect(splitStack(["root", "main (m.ts:1)", "level"], paths)).toEqual({ scope: "root", calls: ["main (m.ts:1)", "level"] });
  });

  test("a scope unknown to the tree (disposed since): scope frames run to the first call site", () => {
    expect(splitStack(["root", "loader", "pack", "readPack (l.ts:19)"], new Set(["root"]))).toEqual({ scope: "root/loader/pack", calls: ["readPack (l.ts:19)"] });
    expect(splitStack(["main (m.ts:1)"], new Set())).toEqual({ scope: "main (m.ts:1)", calls: [] });
  });
});

describe("stages", () => {
  test("matrix rows follow first appearance; heaviest stage per scope", () => {
    const { stages } = gameReport();
    const m = stageMatrix(stages);
    expect(m.paths[0]).toBe("root");
    expect(m.paths.at(-1)).toBe("root/ai");
    expect(m.cell("root/ai", 0)).toBeUndefined();
    expect(m.cell("root/ai", 1)?.peakLiveBytes).toBe(30_000);
    const heaviest = heaviestStages(stages);
    expect(heaviest.get("root")).toBe(0);
    expect(heaviest.get("root/level/streaming")).toBe(1);
    expect(heaviest.get("root/audio")).toBe(2);
  });

  test("a tie goes to the earlier stage; scopes that never held a byte have none", () => {
    const rows = (peak: number) => [{ path: "root/x", peakLiveBytes: peak, liveBytes: 0, allocCount: 0, freeCount: 0 }];
    const stages = [
      { name: "a", startFrame: 0, endFrame: 1, scopes: rows(5) },
      { name: "b", startFrame: 1, endFrame: 2, scopes: rows(5) },
    ];
    expect(heaviestStages(stages).get("root/x")).toBe(0);
    expect(heaviestStages([{ name: "a", startFrame: 0, endFrame: 1, scopes: rows(0) }]).has("root/x")).toBe(false);
  });
});
