import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom } from "@memkit/core";
import { rankTemporaries } from "@memkit/trace-allocator";
import { MemoryGlobals, findLeakSuspects, rankChurn, type TimelineScope } from "@memkit/memory-globals";

afterEach(() => {
  try {
    MemoryGlobals.current?.shutdown();
  } catch {
    // the planted leak
  }
});

function scope(path: string, liveBytes: number[]): TimelineScope {
  const zeros = liveBytes.map(() => 0);
  return { path, liveBytes, liveCount: liveBytes.map((b) => Math.ceil(b / 64)), totalBytes: liveBytes, allocs: zeros, frees: zeros, budgetBytes: zeros };
}

describe("leak suspects", () => {
  it("flags the scope with a slow leak in a small game loop, and not the ones that churn, load once or wander; its temporary allocations are ranked too", () => {
    const memory = MemoryGlobals.init({ initialBytes: 8 << 20, timeline: { frames: 600, leakWindow: 240 } });
    const rng = new SeededRandom(17);
    const physics = memory.scope("physics");
    const level = memory.scope("level");
    const audio = memory.scope("audio");
    const ai = memory.scope("ai");
    let contacts: number[] = [];
    const voices: number[] = new Array<number>(24).fill(0);
    const levelBlocks: number[] = [];
    const forgotten: number[] = [];
    for (let frame = 0; frame < 400; frame++) {
      // physics: last frame's contact list goes, this frame's comes (a sawtooth around a steady floor)
      for (const p of contacts) physics.deallocate(p);
      contacts = Array.from({ length: rng.int(5, 40) }, () => physics.allocate(96));
      // level: loads 200 KiB once, then holds it
      if (frame === 30) for (let i = 0; i < 50; i++) levelBlocks.push(level.allocate(4096));
      // audio: voices start and stop at random
      for (let v = 0; v < voices.length; v++) {
        if (voices[v] === 0 && rng.int(0, 3) === 0) voices[v] = audio.allocate(rng.int(512, 2048));
        else if (voices[v] !== 0 && rng.int(0, 2) === 0) {
          audio.deallocate(voices[v]!);
          voices[v] = 0;
        }
      }
      // ai: scratch work each frame, freed; and every 9th frame a path cache entry nobody frees
      const work = ai.allocate(rng.int(64, 4000));
      if (frame % 9 === 0) forgotten.push(ai.allocate(48));
      ai.deallocate(work);
      memory.beginFrame();
    }
    const t = memory.snapshot().timeline!;
    expect(t.leakWindow).toBe(240);
    expect(t.leakSuspects.map((s) => s.path)).toEqual(["root/ai"]);
    const suspect = t.leakSuspects[0]!;
    expect(suspect.fromFrame).toBe(160);
    expect(suspect.toFrame).toBe(399);
    expect(suspect.toBytes - suspect.fromBytes).toBeGreaterThanOrEqual(48 * Math.floor(180 / 9));
    expect(suspect.toCount).toBe(forgotten.length);
    expect(suspect.bytesPerFrame).toBeCloseTo((suspect.toBytes - suspect.fromBytes) / 239, 6);
    // The same report flags ai's per-frame work block, made and freed within each frame, as temporary
    // allocations (frame-allocator material); physics' contact lists live into the next frame: not temporary.
    expect(rankTemporaries(memory.snapshot().scopes).map((x) => [x.path, x.count])).toEqual([["root/ai", 400]]);
    // Once the leak is fixed (the cache is emptied), the scope's floor stops rising.
    for (const p of forgotten) ai.deallocate(p);
    for (let frame = 0; frame < 240; frame++) {
      ai.deallocate(ai.allocate(100));
      memory.beginFrame();
    }
    expect(memory.timeline()!.leakSuspects).toEqual([]);
    for (const p of contacts) physics.deallocate(p);
    for (const p of levelBlocks) level.deallocate(p);
    for (const p of voices) audio.deallocate(p);
    memory.shutdown();
  });

  it("a series is a suspect exactly when each quarter's floor is above the one before and it ends above the first", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 8, maxLength: 80 }), (bytes) => {
        const frames = bytes.map((_, i) => i + 100);
        const flagged = findLeakSuspects(frames, [scope("root/x", bytes)], bytes.length).length === 1;
        const n = bytes.length;
        const floors = [0, 1, 2, 3].map((q) => Math.min(...bytes.slice(Math.floor((q * n) / 4), Math.floor(((q + 1) * n) / 4))));
        const expected = floors[0]! < floors[1]! && floors[1]! < floors[2]! && floors[2]! < floors[3]! && bytes[n - 1]! > floors[0]!;
        expect(flagged).toBe(expected);
      }),
    );
    const rising = Array.from({ length: 40 }, (_, i) => 1000 + 16 * i + (i % 3) * 500);
    const sawtooth = Array.from({ length: 40 }, (_, i) => 1000 + (i % 5) * 300);
    const step = Array.from({ length: 40 }, (_, i) => (i < 12 ? 1000 : 50_000));
    const frames = rising.map((_, i) => i);
    expect(findLeakSuspects(frames, [scope("a", rising), scope("b", sawtooth), scope("c", step)], 40).map((s) => s.path)).toEqual(["a"]);
    expect(findLeakSuspects(frames.slice(0, 7), [scope("a", rising.slice(0, 7))], 40)).toEqual([]);
  });
});

describe("churn", () => {
  it("ranks scopes by the blocks that came and went within a frame, the churning scope first", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20, timeline: { frames: 100 } });
    const particles = memory.scope("particles");
    const level = memory.scope("level");
    const ai = memory.scope("ai");
    const kept: number[] = [];
    let old = 0;
    for (let frame = 0; frame < 50; frame++) {
      const burst = Array.from({ length: 30 }, () => particles.allocate(64)); // made and dropped every frame
      for (const p of burst) particles.deallocate(p);
      if (frame % 10 === 0) kept.push(level.allocate(4096)); // loads, never frees
      if (old !== 0) ai.deallocate(old); // one block replaced per frame: last frame's block (counted too: churn is an upper bound)
      old = ai.allocate(200);
      memory.beginFrame();
    }
    const churn = memory.timeline()!.churn;
    expect(churn.map((c) => c.path)).toEqual(["root/particles", "root/ai"]);
    expect(churn[0]).toEqual({ path: "root/particles", blocks: 1500, perFrame: 30, frames: 50 });
    expect(churn[1]!.blocks).toBe(49);
    // The exact count tells them apart: ai's blocks each lived into the next frame.
    expect(rankTemporaries(memory.report()).map((t) => [t.path, t.count])).toEqual([["root/particles", 1500]]);
    for (const p of kept) level.deallocate(p);
    ai.deallocate(old);
    memory.shutdown();
  });

  it("is min(allocations, frees) per frame, summed", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(9), fc.nat(9)), { minLength: 1, maxLength: 40 }), (counts) => {
        const s = scope("root/x", counts.map(() => 0));
        s.allocs = counts.map(([a]) => a);
        s.frees = counts.map(([, f]) => f);
        const ranked = rankChurn(counts.length, [s]);
        const blocks = counts.reduce((n, [a, f]) => n + Math.min(a, f), 0);
        expect(ranked).toEqual(blocks === 0 ? [] : [{ path: "root/x", blocks, perFrame: blocks / counts.length, frames: counts.filter(([a, f]) => Math.min(a, f) > 0).length }]);
      }),
    );
  });
});
