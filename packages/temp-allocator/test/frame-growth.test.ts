import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidArgumentError } from "@memkit/core";
import { FrameAllocator, type FrameGrowthWarning } from "@memkit/temp-allocator";
import { makePages } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("FrameAllocator growth warning", () => {
  it("warns once, through console.warn by default, when a frame allocator is used without beginFrame()", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const frame = new FrameAllocator(makePages(), { chunkBytes: 4096 });
    for (let i = 0; i < 7; i++) frame.allocate(4000); // 7 chunks: under 8 x 4 KiB
    expect(warn).not.toHaveBeenCalled();
    for (let i = 0; i < 100; i++) frame.allocate(4000);
    expect(warn).toHaveBeenCalledTimes(1);
    const message = String(warn.mock.calls[0]![0]);
    expect(message).toMatch(/^frame: frame 0 holds 3\d,\d{3} B \(3\d\.\d KiB\), more than 8× a chunk \(4\.00 KiB\), and beginFrame\(\) was never called/);
    expect(message).toContain("Call it once per frame");
    frame.check();
  });

  it("compares each frame with the typical frame, and hands the figures to onFrameGrowth instead when given", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const seen: FrameGrowthWarning[] = [];
    const frame = new FrameAllocator(makePages(), { chunkBytes: 4096, growthWarningFactor: 4, onFrameGrowth: (w) => seen.push(w) });
    for (let f = 0; f < 50; f++) {
      frame.beginFrame();
      for (let i = 0; i < 20; i++) frame.allocate(500); // about 10 KB a frame
    }
    expect(seen).toEqual([]);
    frame.beginFrame();
    for (let i = 0; i < 100; i++) frame.allocate(500);
    expect(seen).toHaveLength(1);
    const w = seen[0]!;
    expect(w).toMatchObject({ allocator: "frame", frame: 51, factor: 4, beganFrames: true });
    expect(w.typicalBytes).toBeGreaterThan(9000);
    expect(w.typicalBytes).toBeLessThan(11_000);
    expect(w.bytes).toBeGreaterThan(4 * w.typicalBytes);
    expect(w.message).toContain(`frame 51 holds ${w.bytes.toLocaleString("en-US")} B`);
    expect(w.message).toContain("more than 4× the typical frame");
    // Once per allocator.
    for (let f = 0; f < 3; f++) {
      frame.beginFrame();
      for (let i = 0; i < 300; i++) frame.allocate(500);
    }
    expect(seen).toHaveLength(1);
    expect(warn).not.toHaveBeenCalled();
    frame.check();
  });

  it("gives the first frames room (16 chunks of typical size) before the average is trusted", () => {
    const seen: FrameGrowthWarning[] = [];
    const frame = new FrameAllocator(makePages(), { chunkBytes: 4096, onFrameGrowth: (w) => seen.push(w) });
    frame.beginFrame();
    for (let i = 0; i < 100; i++) frame.allocate(4000); // a big first frame: ~400 KB, under 8 x 16 chunks
    frame.beginFrame();
    expect(seen).toEqual([]);
    for (let i = 0; i < 200; i++) frame.allocate(4000); // past 8 x 16 chunks even with little history
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ frame: 2, typicalBytes: 64 << 10, beganFrames: true });
  });

  it("can be switched off, and rejects bad options", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const pages = makePages();
    const off = new FrameAllocator(pages, { chunkBytes: 4096, growthWarningFactor: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 200; i++) off.allocate(4000);
    expect(warn).not.toHaveBeenCalled();
    for (const growthWarningFactor of [0, 1, -8, Number.NaN, "8", 8n]) {
      expect(() => new FrameAllocator(pages, { growthWarningFactor: growthWarningFactor as number })).toThrow(InvalidArgumentError);
    }
    expect(() => new FrameAllocator(pages, { onFrameGrowth: "warn" as never })).toThrow(/onFrameGrowth must be a function/);
  });
});
