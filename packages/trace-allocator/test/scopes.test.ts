import { describe, expect, it } from "vitest";
import { AddressSpace, DestroyedError, InvalidArgumentError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator, type ScopeReport } from "../src/index.js";
import { makePages, makeRoot, thrown } from "./helpers.js";

function find(report: ScopeReport, path: string): ScopeReport {
  if (report.path === path) return report;
  for (const child of report.children) {
    if (path.startsWith(child.path)) return find(child, path);
  }
  throw new Error(`no scope ${path} in the report`);
}

describe("scope tree", () => {
  it("names scopes by path and rolls every child's blocks up into its ancestors' subtree totals", () => {
    const { root } = makeRoot();
    const physics = root.child("physics");
    const broadphase = physics.child("broadphase");
    const audio = root.child("audio");
    expect(broadphase.path).toBe("root/physics/broadphase");
    expect(broadphase.name).toBe("broadphase");
    expect(broadphase.parent).toBe(physics);
    expect(broadphase.root).toBe(root);
    expect(root.children).toEqual([physics, audio]);
    expect(root.getChild("audio")).toBe(audio);

    const r1 = root.allocate(10);
    const p1 = physics.allocate(100);
    const b1 = broadphase.allocate(1000);
    const b2 = broadphase.allocate(2000);
    const a1 = audio.allocate(5);

    let report = root.report();
    expect(find(report, "root/physics/broadphase")).toMatchObject({ liveBytes: 3000, liveCount: 2, totalLiveBytes: 3000, totalLiveCount: 2 });
    expect(find(report, "root/physics")).toMatchObject({ liveBytes: 100, liveCount: 1, totalLiveBytes: 3100, totalLiveCount: 3 });
    expect(find(report, "root/audio")).toMatchObject({ liveBytes: 5, totalLiveBytes: 5 });
    expect(report).toMatchObject({ liveBytes: 10, liveCount: 1, totalLiveBytes: 3115, totalLiveCount: 5, allocCount: 1 });
    // stats() is the scope's own part.
    expect(physics.stats()).toMatchObject({ liveBytes: 100, liveCount: 1, allocCount: 1, freeCount: 0 });

    broadphase.deallocate(b1);
    report = root.report();
    expect(find(report, "root/physics")).toMatchObject({ totalLiveBytes: 2100, totalPeakLiveBytes: 3100 });
    expect(report).toMatchObject({ totalLiveBytes: 2115, totalPeakLiveBytes: 3115 });

    for (const [scope, ptr] of [[root, r1], [physics, p1], [broadphase, b2], [audio, a1]] as const) scope.deallocate(ptr);
    report = root.report();
    expect(report.totalLiveBytes).toBe(0);
    expect(report.totalLiveCount).toBe(0);
    expect(find(report, "root/physics/broadphase")).toMatchObject({ allocCount: 2, freeCount: 2, peakLiveBytes: 3000 });
    root.check();
  });

  it("reports reservedBytes as what the backing gives (whole pages here, header included)", () => {
    const { root } = makeRoot();
    const p = root.allocate(300); // 300 + the 8-byte header: two 256-byte pages
    expect(root.stats()).toMatchObject({ liveBytes: 300, reservedBytes: 512 });
    expect(root.report().reservedBytes).toBe(512);
    expect(root.allocatedSize(p)).toBe(504);
    root.deallocate(p);
  });

  it("keeps sibling names unique, frees a name when its scope is disposed, and rejects bad names", () => {
    const { root } = makeRoot();
    const level = root.child("level");
    const err = thrown(() => root.child("level"));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toContain("root/level");
    expect(root.children).toEqual([level]);
    // The same name under another parent is fine.
    level.child("level").dispose();
    level.dispose();
    const again = root.createChild("level");
    expect(again).not.toBe(level);
    expect(again.path).toBe("root/level");
    for (const bad of ["", "a/b", "a;b", "line\nbreak", " padded", 42 as unknown as string]) {
      expect(thrown(() => root.child(bad))).toBeInstanceOf(InvalidArgumentError);
    }
    expect(thrown(() => new TraceAllocator(makePages(), { name: "x/y" }))).toBeInstanceOf(InvalidArgumentError);
    expect(root.children.map((c) => c.name)).toEqual(["level"]);
  });

  it("children inherit tracing and sampling unless told otherwise", () => {
    const { root } = makeRoot({ tracing: "callstacks", sampleEvery: 4 });
    const a = root.child("a");
    const b = root.child("b", { tracing: "counts" });
    const c = b.child("c");
    expect([a.tracing, b.tracing, c.tracing]).toEqual(["callstacks", "counts", "counts"]);
    const report = root.report();
    expect(report.children.map((x) => x.tracing)).toEqual(["callstacks", "counts"]);
  });

  it("a child may allocate from another allocator of the same space, but not from another space or its own tree", () => {
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 256 });
    const root = new TraceAllocator(pages);
    const bigPages = makePages();
    expect(thrown(() => root.child("elsewhere", { backing: bigPages }))).toBeInstanceOf(InvalidArgumentError);
    const other = new TraceAllocator(pages, { name: "other" });
    const viaOther = root.child("via-other", { backing: other });
    const p = viaOther.allocate(64);
    expect(viaOther.owns(p)).toBe(true);
    expect(other.owns(p - 8)).toBe(true); // the block other handed out starts at the header
    expect(other.scopeOf(p - 8)).toBe(other);
    expect(root.report().totalLiveBytes).toBe(64);
    expect(thrown(() => root.child("loop", { backing: viaOther })).message).toContain("same tree");
    viaOther.deallocate(p);
    viaOther.dispose();
    other.dispose();
    expect(root.children).toEqual([]);
  });

  it("switches between counts and callstacks at run time, but never to or from off", () => {
    const { root } = makeRoot();
    const early = root.allocate(16);
    root.setTracing("callstacks");
    const late = root.allocate(32);
    expect(root.originOf(early)!.stack).toBeUndefined();
    expect(root.originOf(late)!.stack).toBeDefined();
    root.setTracing("counts");
    expect(thrown(() => root.setTracing("off"))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => root.setTracing("loud" as never))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => root.setTracing("callstacks", 0))).toBeInstanceOf(InvalidArgumentError);
    root.deallocate(early);
    root.deallocate(late);
    root.check();
  });

  it("rejects bad root options with InvalidArgumentError naming the option", () => {
    const pages = makePages();
    const cases: [object, string][] = [
      [{ tracing: "verbose" }, "tracing"],
      [{ sampleEvery: 0 }, "sampleEvery"],
      [{ stackDepth: 0 }, "stackDepth"],
      [{ initialCapacity: 0 }, "initialCapacity"],
      [{ freedHistory: -1 }, "freedHistory"],
      [{ internalFrames: "memkit" }, "internalFrames"],
      [{ onBudgetWarning: 3 }, "onBudgetWarning"],
      [{ budget: -5 }, "budget"],
      [{ budget: { bytes: 10, onExceed: "ignore" } }, "onExceed"],
    ];
    for (const [options, word] of cases) {
      const err = thrown(() => new TraceAllocator(pages, options));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain(word);
    }
    expect(thrown(() => new TraceAllocator({} as never))).toBeInstanceOf(InvalidArgumentError);
  });

  it("a bad child option leaves no half-built child behind", () => {
    const { root } = makeRoot();
    expect(thrown(() => root.child("level", { budget: -1 }))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => root.child("level", { tracing: "x" as never }))).toBeInstanceOf(InvalidArgumentError);
    expect(root.children).toEqual([]);
    root.child("level").dispose();
    root.check();
  });
});

describe("peaks and stages", () => {
  it("keeps own and subtree peaks with the frame they happened in; resetPeak starts a stage for the subtree", () => {
    const { root } = makeRoot();
    const level = root.child("level");
    const streaming = level.child("streaming");
    root.markFrame(10);
    const a = streaming.allocate(4000);
    const b = level.allocate(1000);
    root.markFrame(20);
    const c = streaming.allocate(3000);
    streaming.deallocate(a);
    streaming.deallocate(c);
    let report = root.report();
    expect(report.frame).toBe(20);
    expect(find(report, "root/level")).toMatchObject({ peakLiveBytes: 1000, peakFrame: 10, totalLiveBytes: 1000, totalPeakLiveBytes: 8000, totalPeakFrame: 20 });
    expect(find(report, "root/level/streaming")).toMatchObject({ peakLiveBytes: 7000, peakFrame: 20 });

    root.markFrame(30);
    level.resetPeak("playing");
    report = root.report();
    expect(find(report, "root/level")).toMatchObject({ stage: "playing", totalPeakLiveBytes: 1000, totalPeakFrame: 30, peakLiveBytes: 1000 });
    expect(find(report, "root/level/streaming")).toMatchObject({ stage: "playing", peakLiveBytes: 0 });
    // The root was not reset: it still remembers the loading peak.
    expect(report).toMatchObject({ totalPeakLiveBytes: 8000, totalPeakFrame: 20 });
    expect(report.stage).toBeUndefined();

    root.markFrame(40);
    const d = streaming.allocate(500);
    streaming.deallocate(d);
    expect(find(root.report(), "root/level")).toMatchObject({ totalPeakLiveBytes: 1500, totalPeakFrame: 40 });
    expect(thrown(() => root.markFrame(-1))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => root.markFrame(1.5))).toBeInstanceOf(InvalidArgumentError);
    level.deallocate(b);
    root.check();
  });

  it("reallocate moves bytes, counts a reallocation, and can set a new peak", () => {
    const { root } = makeRoot();
    const child = root.child("c");
    let p = child.allocate(100);
    p = child.reallocate(p, 5000);
    p = child.reallocate(p, 10);
    const r = child.report();
    expect(r).toMatchObject({ liveBytes: 10, peakLiveBytes: 5000, allocCount: 1, reallocCount: 2, freeCount: 0, allocatedBytes: 5110 });
    expect(root.report().totalPeakLiveBytes).toBe(5000);
    const q = child.reallocate(0, 64);
    expect(child.report()).toMatchObject({ liveCount: 2, allocCount: 2 });
    child.deallocate(p);
    child.deallocate(q);
    root.check();
  });
});

describe('tracing "off"', () => {
  it("forwards every call to the backing allocator and counts the backing's usable sizes", () => {
    const pages = makePages();
    const root = new TraceAllocator(pages, { tracing: "off" });
    const child = root.child("physics", { budget: 10 }); // budgets are not enforced when off
    const p = child.allocate(1000);
    expect(pages.owns(p)).toBe(true);
    expect(child.owns(p)).toBe(true);
    expect(child.allocatedSize(p)).toBe(1024);
    const q = child.reallocate(p, 2000);
    expect(child.stats()).toEqual({ liveBytes: 2048, liveCount: 1, peakLiveBytes: 2048, allocCount: 1, freeCount: 0, reservedBytes: 2048 });
    expect(child.scopeOf(q)).toBeUndefined();
    expect(root.report().children[0]).toMatchObject({ tracing: "off", liveBytes: 2048, totalLiveBytes: 2048, reallocCount: 1 });
    expect(root.report()).toMatchObject({ liveBytes: 0, totalLiveBytes: 2048, totalLiveCount: 1 });
    expect(root.formatReport()).toContain("physics (off)");
    expect(thrown(() => child.retain(q))).toBeInstanceOf(InvalidArgumentError);
    child.deallocate(q);
    expect(pages.owns(q)).toBe(false);
    expect(child.stats()).toMatchObject({ liveBytes: 0, liveCount: 0, freeCount: 1, peakLiveBytes: 2048 });
    root.check();
    child.dispose();
    expect(child.disposed).toBe(true);
    expect(thrown(() => child.allocate(8))).toBeInstanceOf(DestroyedError);
    root.dispose();
  });

  it("an untracked child under a tracked parent: its blocks are not the parent's, but count in its subtree", () => {
    const { root } = makeRoot();
    const quiet = root.child("quiet", { tracing: "off" });
    const p = quiet.allocate(64);
    expect(root.report()).toMatchObject({ liveBytes: 0, totalLiveBytes: 256, totalLiveCount: 1 });
    expect(thrown(() => root.deallocate(p)).code).toBe("ERR_INVALID_POINTER");
    root.check();
    quiet.deallocate(p);
    quiet.dispose();
    root.check();
    root.dispose();
  });
});

describe("disposed scopes", () => {
  it("refuse new work with DestroyedError, and dispose twice is a no-op", () => {
    const { root } = makeRoot();
    const level = root.child("level");
    level.dispose();
    level.dispose();
    expect(level.disposed).toBe(true);
    for (const call of [() => level.allocate(8), () => level.reallocate(0, 8), () => level.child("x"), () => level.setBudget(10), () => level.setTracing("callstacks")]) {
      const err = thrown(call);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(err.code).toBe("ERR_DESTROYED");
      expect(err.message).toContain("root/level");
      expect(err.message).toContain("disposed");
    }
    expect(level.stats()).toMatchObject({ liveBytes: 0, liveCount: 0 });
    expect(level.report()).toMatchObject({ path: "root/level", totalLiveBytes: 0, children: [] });
    expect(level.foldedStacks()).toBe("");
    level.resetPeak();
    root.dispose();
  });
});

describe("forEachLiveBlock", () => {
  it("visits every live block of the subtree with its size and owning scope, and tolerates frees while walking", () => {
    const { root } = makeRoot();
    const a = root.child("a");
    const b = a.child("b");
    const blocks = new Map<number, [number, string]>();
    for (const [scope, size] of [[root, 10], [a, 20], [b, 30], [b, 40]] as const) blocks.set(scope.allocate(size, size === 40 ? 64 : 8), [size, scope.path]);
    const seen = new Map<number, [number, string]>();
    root.forEachLiveBlock((ptr, size, scope) => seen.set(ptr, [size, scope]));
    expect(seen).toEqual(blocks);
    const underA: string[] = [];
    a.forEachLiveBlock((ptr, _size, scope) => {
      underA.push(scope);
      root.scopeOf(ptr)!.deallocate(ptr);
    });
    expect(underA.sort()).toEqual(["root/a", "root/a/b", "root/a/b"]);
    expect(root.report().totalLiveCount).toBe(1);
    root.check();
  });
});
