import { describe, expect, it } from "vitest";
import { DestroyedError, InvalidArgumentError, LeakError, formatBytes, hex } from "@memkit/core";
import { TraceAllocator, type TraceLeakReport } from "../src/index.js";
import { makeRoot, thrown } from "./helpers.js";

function leakOf(fn: () => unknown): LeakError & { report: TraceLeakReport } {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(LeakError);
  expect(err.code).toBe("ERR_LEAK");
  return err as LeakError & { report: TraceLeakReport };
}

describe("dispose asserts nothing is left", () => {
  it("throws LeakError naming the path, count, bytes and each block; nothing changes; fixing and retrying works", () => {
    const { root } = makeRoot();
    const streaming = root.child("level").child("streaming");
    const a = streaming.allocate(4000);
    const b = streaming.allocate(96);
    const before = root.report();
    const err = leakOf(() => streaming.dispose());
    const lines = err.message.split("\n");
    expect(lines[0]).toBe(`scope root/level/streaming leaked 2 blocks (${formatBytes(4096)})`);
    expect(lines[1]).toBe(`  ${hex(a)}  4,000 B`);
    expect(lines[2]).toBe(`  ${hex(b)}     96 B`);
    expect(err.message).toContain('use tracing "callstacks"');
    expect(err.stack!.startsWith("LeakError [ERR_LEAK]: scope root/level/streaming leaked 2 blocks")).toBe(true);
    expect(err.report).toMatchObject({
      scope: "root/level/streaming",
      scopes: ["root/level/streaming"],
      count: 2,
      bytes: 4096,
      liveScopes: [],
      retained: [],
      blocks: [
        { scope: "root/level/streaming", ptr: a, size: 4000, frame: 0 },
        { scope: "root/level/streaming", ptr: b, size: 96, frame: 0 },
      ],
    });
    // A failed dispose changes nothing: the scope still works and its report is readable.
    expect(streaming.disposed).toBe(false);
    expect(root.report()).toEqual(before);
    expect(streaming.report()).toMatchObject({ liveCount: 2, liveBytes: 4096 });
    streaming.deallocate(a);
    streaming.deallocate(streaming.reallocate(b, 10));
    streaming.dispose();
    expect(streaming.disposed).toBe(true);
    expect(root.getChild("level")!.children).toEqual([]);
    root.check();
  });

  it('with "callstacks", a block leaked inside loadLevel names loadLevel, stack lines aligned under "at"', () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    const level = root.child("level");
    function loadChunk(): number {
      return level.allocate(4000);
    }
    function loadLevel(): void {
      loadChunk();
      level.allocate(96);
    }
    root.markFrame(7);
    loadLevel();
    const err = leakOf(() => level.dispose());
    expect(err.message).toContain("loadLevel");
    const lines = err.message.split("\n");
    expect(lines[1]).toMatch(/^ {2}0x[0-9a-f]{8} {2}4,000 B {2}allocated at loadChunk \(test\/leaks\.test\.ts:\d+\) \[frame 7\]$/);
    expect(lines[2]).toMatch(/^ +at loadLevel \(test\/leaks\.test\.ts:\d+\)$/);
    expect(lines[2]!.indexOf("at loadLevel")).toBe(lines[1]!.indexOf("at loadChunk"));
    const second = lines.findIndex((l) => l.includes("96 B"));
    expect(lines[second]).toMatch(/96 B {2}allocated at loadLevel \(test\/leaks\.test\.ts:\d+\)/);
    expect(err.report.blocks[0]!.stack!.split("\n").slice(0, 2).map((f) => f.split(" ")[0])).toEqual(["loadChunk", "loadLevel"]);
    expect(err.message).not.toContain('use tracing "callstacks"');
  });

  it("lists 20 blocks and points to error.report for the rest", () => {
    const { root } = makeRoot();
    const s = root.child("s");
    for (let i = 0; i < 25; i++) s.allocate(10);
    const err = leakOf(() => s.dispose());
    const blockLines = err.message.split("\n").filter((l) => /^ {2}0x/.test(l));
    expect(blockLines).toHaveLength(20);
    expect(err.message).toContain("... and 5 more blocks (50 B): see error.report.blocks");
    expect(err.report.blocks).toHaveLength(25);
  });

  it("live child scopes are leaks too, listed with their blocks", () => {
    const { root } = makeRoot();
    const level = root.child("level");
    const streaming = level.child("streaming");
    level.child("empty");
    const p = streaming.allocate(64);
    const err = leakOf(() => level.dispose());
    expect(err.message.split("\n")[0]).toBe("scope root/level leaked 1 block (64 B) and has 2 live child scopes");
    expect(err.message).toContain(`  ${hex(p)}  64 B  in root/level/streaming`);
    expect(err.message).toContain("live child scopes (dispose them first): root/level/streaming, root/level/empty");
    expect(err.report.liveScopes).toEqual(["root/level/streaming", "root/level/empty"]);
    expect(err.report.scopes).toEqual(["root/level", "root/level/streaming", "root/level/empty"]);
    expect(level.children).toHaveLength(2);
    // The root's shutdown sees everything below it.
    const all = leakOf(() => root.dispose());
    expect(all.report.count).toBe(1);
    expect(all.report.liveScopes).toEqual(["root/level", "root/level/streaming", "root/level/empty"]);
  });

  it("`using` disposes at the end of the block and throws there when something leaked", () => {
    const { root } = makeRoot();
    {
      using physics = root.child("physics");
      physics.deallocate(physics.allocate(32));
    }
    expect(root.children).toEqual([]);
    let kept = 0;
    let escaped: TraceAllocator | undefined;
    const err = leakOf(() => {
      using physics = root.child("physics");
      escaped = physics;
      kept = physics.allocate(48);
    });
    expect(err.message).toContain("scope root/physics leaked 1 block (48 B)");
    escaped!.deallocate(kept);
    escaped![Symbol.dispose]();
    expect(escaped!.disposed).toBe(true);
  });
});

describe("escape hatches", () => {
  it("retained blocks are not leaks: listed apart, adopted by the parent, freeable through either scope", () => {
    const { root } = makeRoot();
    const level = root.child("level");
    const streaming = level.child("streaming");
    const cache = streaming.allocate(500);
    const cache2 = streaming.allocate(300);
    const leak = streaming.allocate(7);
    streaming.retain(cache, "shader cache");
    streaming.retain(cache2);
    expect(streaming.report()).toMatchObject({ liveBytes: 807, retainedBytes: 800, retainedCount: 2 });
    const err = leakOf(() => streaming.dispose());
    expect(err.report.count).toBe(1);
    expect(err.message).toContain("retained on purpose, not counted: 2 blocks (800 B)");
    expect(err.report.retained.map((r) => [r.ptr, r.origin, r.reason])).toEqual([
      [cache2, "root/level/streaming", undefined],
      [cache, "root/level/streaming", "shader cache"],
    ].sort((x, y) => (x[0] as number) - (y[0] as number)));
    streaming.deallocate(leak);
    streaming.dispose();

    // The parent adopted both; the origin is remembered.
    expect(root.scopeOf(cache)).toBe(level);
    expect(level.owns(cache)).toBe(true);
    expect(root.originOf(cache)).toEqual({ scope: "root/level/streaming", size: 500 });
    expect(level.report()).toMatchObject({ liveBytes: 800, retainedBytes: 800, totalLiveBytes: 800 });
    expect(level.retainedBlocks().map((b) => [b.scope, b.origin, b.reason])).toContainEqual(["root/level", "root/level/streaming", "shader cache"]);
    // Freeing through the disposed scope that allocated it still works, and so does the owner.
    streaming.deallocate(cache);
    expect(root.scopeOf(cache)).toBeUndefined();
    level.dispose(); // cache2 is retained: not a leak, so the root adopts it
    expect(root.report()).toMatchObject({ liveBytes: 300, retainedCount: 1 });
    expect(thrown(() => streaming.reallocate(cache2, 5))).toBeInstanceOf(DestroyedError);
    // The root keeps what it retains even after its own dispose, and can still free it.
    root.dispose();
    expect(root.disposed).toBe(true);
    expect(root.owns(cache2)).toBe(true);
    root.deallocate(cache2);
    expect(root.report().totalLiveBytes).toBe(0);
    root.check();
  });

  it("unretain makes a block count as a leak again", () => {
    const { root } = makeRoot();
    const s = root.child("s");
    const p = s.allocate(10);
    s.retain(p);
    s.retain(p, "twice is fine");
    s.unretain(p);
    s.unretain(p);
    expect(s.report().retainedCount).toBe(0);
    expect(leakOf(() => s.dispose()).report.count).toBe(1);
    s.deallocate(p);
    root.check();
  });

  it("disposeAllowingLeaks tolerates up to maxBytes (the parent adopts them as 'allowed leak') and refuses more", () => {
    const { root } = makeRoot();
    const thirdParty = root.child("physx");
    const inner = thirdParty.child("cooking");
    const a = thirdParty.allocate(100);
    const b = inner.allocate(50);
    const before = root.report();
    const refused = leakOf(() => thirdParty.disposeAllowingLeaks(120));
    expect(refused.message.split("\n")[0]).toBe("scope root/physx leaked 2 blocks (150 B) and has 1 live child scope: more than the 120 B disposeAllowingLeaks(120) tolerates");
    expect(root.report()).toEqual(before);
    const report = thirdParty.disposeAllowingLeaks(150);
    expect(report).toMatchObject({ count: 2, bytes: 150, liveScopes: ["root/physx/cooking"] });
    expect(thirdParty.disposed && inner.disposed).toBe(true);
    expect(root.report()).toMatchObject({ liveBytes: 150, retainedBytes: 150, children: [] });
    expect(root.retainedBlocks().map((r) => [r.ptr, r.origin, r.reason])).toEqual([
      [a, "root/physx", "allowed leak"],
      [b, "root/physx/cooking", "allowed leak"],
    ]);
    expect(thrown(() => root.disposeAllowingLeaks(-1))).toBeInstanceOf(InvalidArgumentError);
    root.dispose();
    expect(root.disposeAllowingLeaks(0)).toMatchObject({ count: 0 });
    inner.deallocate(b);
    root.deallocate(a);
    root.check();
  });

  it("a root may also be disposed allowing leaks (a leaky root scope for singletons)", () => {
    const root = new TraceAllocator(makeRoot().pages);
    const child = root.child("c");
    child.allocate(10);
    root.allocate(20);
    expect(root.disposeAllowingLeaks(Infinity)).toMatchObject({ count: 2, bytes: 30 });
    expect(root.report()).toMatchObject({ liveBytes: 30, retainedBytes: 30, children: [] });
    root.check();
  });
});
