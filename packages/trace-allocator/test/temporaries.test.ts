import { describe, expect, it } from "vitest";
import { SharedLock } from "@memkit/core";
import { TraceAllocator, rankTemporaries, type TraceAllocatorOptions } from "../src/index.js";
import { makePages, makeRoot } from "./helpers.js";

/** A frame of churn in `scope`: `temps` blocks allocated and freed in it, one kept for the next frame and freed there. */
function play(root: TraceAllocator, scope: TraceAllocator, frames: number, temps: number, align: number, label = 0): void {
  let kept = 0;
  for (let f = 1; f <= frames; f++) {
    root.markFrame(f);
    if (kept !== 0) scope.deallocate(kept); // allocated last frame: not a temporary
    for (let i = 0; i < temps; i++) scope.deallocate(scope.allocate(24 + i, align, label));
    kept = scope.allocate(100, align, label);
  }
  root.markFrame(frames + 1);
  scope.deallocate(kept);
}

describe("temporary allocations: blocks freed in the frame they were allocated in", () => {
  const cases: [string, TraceAllocatorOptions, number, boolean][] = [
    ["counts, align 8 (the inline paths)", {}, 8, false],
    ["counts, align 16 (the inline paths, 16-byte headers)", {}, 16, false],
    ["counts, align 64 (the general paths)", {}, 64, false],
    ["callstacks", { tracing: "callstacks", sampleEvery: 3 }, 8, false],
    ["guarded headers", { guardHeaders: true }, 8, false],
    ["a labelled block", {}, 8, true],
  ];
  for (const [name, options, align, labelled] of cases) {
    it(`are counted exactly, per scope: ${name}`, () => {
      const { root } = makeRoot(options);
      const ai = root.child("ai");
      const render = root.child("render");
      play(root, ai, 10, 5, align, labelled ? ai.labelId("paths") : 0);
      play(root, render, 10, 2, align);
      const report = root.report();
      const [rAi, rRender] = report.children;
      expect(rAi!.tempFreeCount).toBe(50);
      expect(rAi!.tempFreeBytes).toBe(10 * (24 + 25 + 26 + 27 + 28));
      expect(rAi!.freeCount).toBe(60);
      expect(rRender!.tempFreeCount).toBe(20);
      expect(report.tempFreeCount).toBe(0); // own, not the subtree's
      expect(rankTemporaries(report)).toEqual([
        { path: "root/ai", count: 50, bytes: 1300, shareOfFrees: 50 / 60 },
        { path: "root/render", count: 20, bytes: 10 * (24 + 25), shareOfFrees: 20 / 30 },
      ]);
      root.check();
    });
  }

  it("on a tree shared by threads (its lock), through the shared block paths", () => {
    const pages = makePages();
    const lockPtr = pages.allocate(SharedLock.bytes(8), 8);
    pages.space.u8.fill(0, lockPtr, lockPtr + SharedLock.bytes(8));
    const root = new TraceAllocator(pages, { lock: new SharedLock(pages.space, lockPtr, 8) });
    const ai = root.child("ai");
    play(root, ai, 4, 3, 8);
    play(root, ai, 4, 3, 64);
    expect(root.report().children[0]!.tempFreeCount).toBe(24);
    root.check();
  });

  it("an \"off\" scope has no headers to read a frame from: none counted", () => {
    const { root } = makeRoot({ tracing: "off" });
    play(root, root, 3, 4, 8);
    expect(root.report().tempFreeCount).toBe(0);
    expect(rankTemporaries(root.report())).toEqual([]);
  });
});
