import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { CorruptionError, InvalidArgumentError, SeededRandom } from "@memkit/core";
import { MemoryGlobals, type TimelineReport } from "@memkit/memory-globals";
import { CELL, H_FRAME, SAMPLE_HEAD } from "../src/timeline.js";

afterEach(() => {
  const current = MemoryGlobals.current;
  if (current === undefined) return;
  try {
    current.shutdown();
  } catch {
    // a test that planted a leak on purpose
  }
});

/** What one frame's sample should hold for a scope. */
interface Expected {
  liveBytes: number;
  liveCount: number;
  allocs: number;
  frees: number;
}

function series(t: TimelineReport, path: string): TimelineReport["scopes"][number] {
  const s = t.scopes.find((x) => x.path === path);
  if (s === undefined) throw new Error(`no series for ${path} in ${t.scopes.map((x) => x.path).join(", ")}`);
  return s;
}

describe("timeline", () => {
  it("samples every scope at each frame boundary: live bytes, blocks, allocations and frees in the frame (random frames against a model)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.integer({ min: 1, max: 40 }), (seed, frames) => {
        const memory = MemoryGlobals.init({ initialBytes: 4 << 20, maximumBytes: 64 << 20, timeline: { frames: 16, scopes: 8 } });
        const rng = new SeededRandom(seed);
        const scopes = { physics: memory.scope("physics", { budget: 1 << 20 }), audio: memory.scope("audio") };
        const live: { path: keyof typeof scopes; ptr: number; size: number }[] = [];
        const expected: Record<string, Expected>[] = [];
        for (let f = 0; f < frames; f++) {
          const now: Record<string, Expected> = {};
          for (const path of Object.keys(scopes)) now[path] = { liveBytes: 0, liveCount: 0, allocs: 0, frees: 0 };
          const steps = rng.int(0, 12);
          for (let i = 0; i < steps; i++) {
            if (live.length > 0 && rng.int(0, 2) === 0) {
              const { path, ptr } = live.splice(rng.int(0, live.length - 1), 1)[0]!;
              scopes[path].deallocate(ptr);
              now[path]!.frees++;
            } else {
              const path = rng.int(0, 1) === 0 ? "physics" : "audio";
              const size = rng.int(1, 5000);
              live.push({ path, ptr: scopes[path].allocate(size), size });
              now[path]!.allocs++;
            }
          }
          for (const l of live) {
            now[l.path]!.liveBytes += l.size;
            now[l.path]!.liveCount++;
          }
          expected.push(now);
          memory.beginFrame();
        }
        const t = memory.timeline()!;
        const held = Math.min(frames, 16);
        expect(t.capacity).toBe(16);
        expect(t.frames).toEqual(Array.from({ length: held }, (_, i) => frames - held + i));
        for (const path of ["physics", "audio"] as const) {
          const s = series(t, `root/${path}`);
          const want = expected.slice(frames - held);
          expect(s.liveBytes).toEqual(want.map((e) => e[path]!.liveBytes));
          expect(s.liveCount).toEqual(want.map((e) => e[path]!.liveCount));
          expect(s.allocs).toEqual(want.map((e) => e[path]!.allocs));
          expect(s.frees).toEqual(want.map((e) => e[path]!.frees));
          expect(s.budgetBytes.every((b) => b === (path === "physics" ? 1 << 20 : 0))).toBe(true);
        }
        expect(series(t, "root").totalBytes.at(-1)).toBe(live.reduce((n, l) => n + l.size, 0));
        for (const l of live) scopes[l.path].deallocate(l.ptr);
        memory.shutdown();
      }),
      { numRuns: 25 },
    );
  });

  it("records the allocators' figures per frame: frame fill, pages handed out", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20, timeline: true });
    for (let f = 0; f < 4; f++) {
      memory.beginFrame();
      memory.frame.allocate(1000 * (f + 1));
    }
    memory.beginFrame();
    const t = memory.timeline()!;
    expect(t.frames).toEqual([0, 1, 2, 3, 4]);
    expect(t.timeMs.every((ms, i) => ms > 0 && (i === 0 || ms >= t.timeMs[i - 1]!))).toBe(true);
    // Two arenas: a frame's sample holds its own bytes and the frame before's.
    expect(t.allocators.frameLiveBytes.slice(2).map((b) => Math.round(b / 1000))).toEqual([3, 5, 7]);
    expect(t.allocators.pagesBytes.every((b) => b > 0)).toBe(true);
    expect(t.allocators.frameReservedBytes.at(-1)).toBeGreaterThan(0);
    expect(memory.snapshot().timeline).toEqual(t);
    expect(Object.values(memory.snapshot().memoryMap.owners)).toContain("timeline");
  });

  it("keeps a disposed scope's name, starts a new series for a scope that reuses its row, and counts scopes past its capacity", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20, timeline: { frames: 8, scopes: 3 } });
    const a = memory.scope("a");
    const p = a.allocate(100);
    memory.beginFrame();
    a.deallocate(p);
    a.dispose();
    const b = memory.scope("b");
    b.allocate(50);
    memory.scope("c");
    memory.scope("d");
    memory.beginFrame();
    const t = memory.timeline()!;
    expect(t.scopes.map((s) => s.path)).toEqual(["root", "root/a", "root/b", "root/c"]);
    expect(series(t, "root/a").liveBytes).toEqual([100, 0]);
    expect(series(t, "root/b").liveBytes).toEqual([0, 50]);
    expect(series(t, "root/b").allocs).toEqual([0, 1]);
    expect(t.scopesLeftOut).toBe(1);
  });

  it("is off by default, and bad options are refused naming the option", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20 });
    memory.beginFrame();
    expect(memory.timeline()).toBeUndefined();
    expect(memory.snapshot().timeline).toBeUndefined();
    memory.shutdown();
    for (const [timeline, message] of [
      [{ frames: 0 }, /timeline\.frames must be an integer from 1/],
      [{ scopes: 1.5 }, /timeline\.scopes must be an integer from 1/],
      [{ frame: 10 }, /timeline has no field "frame"/],
      ["yes", /option timeline must be an object/],
    ] as const) {
      expect(() => MemoryGlobals.init({ timeline: timeline as never })).toThrow(InvalidArgumentError);
      expect(() => MemoryGlobals.init({ timeline: timeline as never })).toThrow(message);
    }
  });

  it("lives in the memory: save and restore carry it, and sampling carries on", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20, timeline: { frames: 6, scopes: 8 } });
    const physics = memory.scope("physics");
    for (let f = 0; f < 4; f++) {
      physics.allocate(64);
      memory.beginFrame();
    }
    const before = memory.timeline()!;
    const bytes = memory.save();
    const scopes = memory.formatReport();
    expect(() => memory.shutdown()).toThrow(/leaked/);
    expect(memory.timeline()).toEqual(before);
    const restored = MemoryGlobals.restore(bytes);
    expect(restored.formatReport()).toBe(scopes);
    expect(restored.timeline()).toEqual(before);
    expect(restored.options.timeline).toEqual({ frames: 6, scopes: 8, leakWindow: 8 });
    restored.openScope("physics").allocate(64);
    restored.beginFrame();
    restored.beginFrame();
    restored.beginFrame();
    const after = restored.timeline()!;
    expect(after.frames).toEqual([1, 2, 3, 4, 5, 6]);
    expect(series(after, "root/physics").liveCount).toEqual([2, 3, 4, 5, 5, 5]);
    expect(series(after, "root/physics").allocs).toEqual([1, 1, 1, 1, 0, 0]);
    restored.check();
  });

  it("a damaged ring is a CorruptionError from check() and from restore, and repairing the word heals it", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20, timeline: { frames: 4, scopes: 4 } });
    for (let f = 0; f < 3; f++) memory.beginFrame();
    const owner = Object.entries(memory.snapshot().memoryMap.owners).find(([, name]) => name === "timeline")![0];
    const span = memory.snapshot().memoryMap.spans.find((s) => s.used && s.owner === Number(owner))!;
    // The drawing in timeline.ts: 16 words, the column table (6 words per scope row), then records; frame 2 sits in slot 2.
    const at = (span.start >>> 2) + 16 + 4 * 6 + 2 * (SAMPLE_HEAD + 4 * CELL) + H_FRAME;
    const u32 = memory.space.u32;
    expect(u32[at]).toBe(2);
    u32[at] = 0;
    expect(() => memory.check()).toThrow(CorruptionError);
    expect(() => memory.check()).toThrow(/a sample of frame 1 older than its sample of frame 0/);
    const damaged = memory.save();
    u32[at] = 2;
    memory.check();
    memory.beginFrame();
    expect(memory.timeline()!.frames).toEqual([0, 1, 2, 3]);
    memory.shutdown();
    expect(() => MemoryGlobals.restore(damaged)).toThrow(CorruptionError);
    expect(MemoryGlobals.current).toBeUndefined();
  });
});
