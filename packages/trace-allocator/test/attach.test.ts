import { describe, expect, it } from "vitest";
import { AddressSpace, CorruptionError, DestroyedError, InvalidArgumentError, InvalidPointerError, LeakError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator, type BudgetWarning } from "../src/index.js";
import { makePages, thrown } from "./helpers.js";

// A tree's state is in linear memory: a second handle (TraceAllocator.attach) on the same
// control block, and handles opened on its scopes, see and change the same tree.

function tree(options: ConstructorParameters<typeof TraceAllocator>[1] = {}) {
  const pages = makePages();
  const root = new TraceAllocator(pages, options);
  const again = (extra: Parameters<typeof TraceAllocator.attach>[2] = {}) => TraceAllocator.attach(pages.space, root.controlPtr, { backing: pages, ...extra });
  return { pages, root, again };
}

describe("TraceAllocator.attach", () => {
  it("a second handle on the root sees the same blocks and counts; a block allocated through one is freed through the other", () => {
    const { root, again } = tree();
    const p = root.allocate(100);
    const other = again();
    expect(other).not.toBe(root);
    expect(other.path).toBe("root");
    expect(other.owns(p)).toBe(true);
    expect(other.allocatedSize(p)).toBe(root.allocatedSize(p));
    expect(other.stats()).toEqual(root.stats());
    const q = other.allocate(200);
    expect(root.owns(q)).toBe(true);
    other.deallocate(p);
    expect(root.owns(p)).toBe(false);
    expect(root.stats()).toMatchObject({ liveBytes: 200, liveCount: 1, allocCount: 2, freeCount: 1 });
    root.check();
    other.check();
    // A double free through the first handle is recognised from the shared ring of recent frees.
    expect(thrown(() => root.deallocate(p)).code).toBe("ERR_DOUBLE_FREE");
    root.deallocate(q);
    expect(other.report()).toEqual(root.report());
  });

  it("openScope finds a scope another handle created (through memory), with its counts, budget, tracing and stage", () => {
    const { root, again } = tree();
    const physics = root.child("physics", { budget: 10_000 });
    const broadphase = physics.child("broadphase", { tracing: "callstacks" });
    const b = broadphase.allocate(64);
    physics.resetPeak("loading");
    root.markFrame(7);
    const other = again();
    const opened = other.openScope("physics/broadphase");
    expect(opened.path).toBe("root/physics/broadphase");
    expect(opened.tracing).toBe("callstacks");
    expect(opened.owns(b)).toBe(true);
    expect(opened.parent!.path).toBe("root/physics");
    expect(opened.parent!.budgetBytes).toBe(10_000);
    expect(opened.stage).toBe("loading");
    expect(other.frame).toBe(7);
    expect(other.openScope("physics").getChild("broadphase")).toBe(opened);
    expect(other.children.map((c) => c.path)).toEqual(["root/physics"]);
    // The budget set through one handle holds for allocations through the other.
    expect(thrown(() => opened.allocate(20_000)).code).toBe("ERR_OUT_OF_MEMORY");
    opened.deallocate(b);
    expect(broadphase.stats()).toMatchObject({ liveCount: 0, freeCount: 1 });
    expect(thrown(() => other.openScope("physics/narrowphase"))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => other.openScope("physics//x"))).toBeInstanceOf(InvalidArgumentError);
    root.check();
  });

  it("a scope created through the second handle is a child for the first; disposing it through one is seen by the other", () => {
    const { root, again } = tree();
    const other = again();
    const audio = other.child("audio");
    expect(root.getChild("audio")!.path).toBe("root/audio");
    const viaRoot = root.getChild("audio")!;
    const p = viaRoot.allocate(32);
    expect(audio.owns(p)).toBe(true);
    expect(thrown(() => audio.dispose())).toBeInstanceOf(LeakError);
    audio.deallocate(p);
    audio.dispose();
    expect(viaRoot.disposed).toBe(true);
    const err = thrown(() => viaRoot.allocate(8));
    expect(err).toBeInstanceOf(DestroyedError);
    expect(err.message).toContain("this scope was disposed");
    expect(root.children).toEqual([]);
    // The row is reused by a new scope: the old handles must not reach its blocks.
    const music = root.child("music");
    const m = music.allocate(16);
    expect(viaRoot.owns(m)).toBe(false);
    expect(thrown(() => viaRoot.deallocate(m))).toBeInstanceOf(InvalidPointerError);
    expect(thrown(() => audio.deallocate(m))).toBeInstanceOf(InvalidPointerError);
    music.deallocate(m);
    root.check();
  });

  it("labels and call stacks are the tree's: the same id through every handle, texts shared by this thread's handles", () => {
    const { root, again } = tree({ tracing: "callstacks" });
    const id = root.labelId('HashMap "grid"');
    const other = again();
    expect(other.labelId('HashMap "grid"')).toBe(id);
    expect(other.labelId("another")).toBe(id + 1);
    expect(root.labelId("another")).toBe(id + 1);
    const p = root.allocate(40, 8, id);
    const origin = other.originOf(p)!;
    expect(origin.stack).toBe(root.originOf(p)!.stack);
    expect(origin.stack).toMatch(/attach\.test\.ts/);
    expect(other.report().labels).toEqual([expect.objectContaining({ label: 'HashMap "grid"', liveBytes: 40 })]);
    expect(other.uniqueStacks).toBe(root.uniqueStacks);
    other.deallocate(p);
    root.check();
  });

  it("another thread's view (another space object on the same memory) reads the tree; stacks it did not capture say so", () => {
    const { pages, root } = tree({ tracing: "callstacks" });
    const p = root.child("level").allocate(1000);
    // What a worker does with a shared memory: its own AddressSpace and handles on the same bytes.
    const space2 = AddressSpace.attach(pages.space.memory);
    const pages2 = PageAllocator.attach(space2, pages.controlPtr);
    const worker = TraceAllocator.attach(space2, root.controlPtr, { backing: pages2 });
    const level = worker.openScope("level");
    expect(level.owns(p)).toBe(true);
    expect(worker.originOf(p)!.stack).toBe("(stack not captured in this thread)");
    expect(worker.foldedStacks()).toContain("root;level;(stack not captured in this thread) 1000");
    const q = level.allocate(24);
    expect(worker.originOf(q)!.stack).toMatch(/attach\.test\.ts/);
    expect(root.originOf(q)!.stack).toBe("(stack not captured in this thread)");
    level.deallocate(p);
    root.getChild("level")!.deallocate(q);
    worker.check();
    root.check();
  });

  it("each handle runs its own budget-warning hook", () => {
    const first: string[] = [];
    const second: string[] = [];
    const { root, again } = tree({ onBudgetWarning: (w: BudgetWarning) => first.push(w.scope) });
    root.child("a", { budget: { bytes: 100, onExceed: "warn" } });
    const other = again({ onBudgetWarning: (w) => second.push(w.scope) });
    const a = other.openScope("a");
    const p = a.allocate(200);
    expect(second).toEqual(["root/a"]);
    expect(first).toEqual([]);
    a.deallocate(p);
  });

  it("detach ends that handle and the scopes opened through it; the tree lives on", () => {
    const { root, again } = tree();
    const keep = root.allocate(8);
    const other = again();
    const child = other.child("c");
    const p = child.allocate(16);
    other.detach();
    for (const call of [() => other.allocate(8), () => child.allocate(8), () => child.deallocate(p), () => other.report(), () => other.check()]) {
      const err = thrown(call);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(err.message).toContain("detached");
    }
    expect(other.alive).toBe(false);
    expect(root.alive).toBe(true);
    root.getChild("c")!.deallocate(p);
    root.deallocate(keep);
    root.check();
  });

  it("destroy through any handle ends the tree for every handle of this thread; attaching to it again is refused", () => {
    const { pages, root, again } = tree();
    const scope = root.child("s");
    const other = again();
    other.destroy();
    for (const handle of [root, scope, other]) {
      const err = thrown(() => handle.allocate(8));
      expect(err).toBeInstanceOf(DestroyedError);
      expect(err.message).toContain("destroyed");
    }
    expect(pages.stats().liveCount).toBe(0);
    expect(thrown(() => TraceAllocator.attach(pages.space, root.controlPtr, { backing: pages }))).toBeInstanceOf(CorruptionError);
  });

  it("refuses what is not a tree, and a backing that is not the tree's", () => {
    const { pages, root } = tree();
    expect(thrown(() => TraceAllocator.attach(pages.space, root.controlPtr + 8, { backing: pages }))).toBeInstanceOf(CorruptionError);
    expect(thrown(() => TraceAllocator.attach(pages.space, "x" as never, { backing: pages }))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => TraceAllocator.attach(pages.space, root.controlPtr, { backing: {} as never }))).toBeInstanceOf(InvalidArgumentError);
    // Without { backing }, the attach uses this thread's handle on the allocator the tree records.
    const found = TraceAllocator.attach(pages.space, root.controlPtr);
    expect(found.backing).toBe(pages);
    found.check();
    found.detach();
    // Another allocator than the one the tree records, or another space: refused, naming both.
    const elsewhere = new PageAllocator(pages.space, { pageSize: 256, controlPtr: 8 << 20, firstByte: 16 << 20 });
    expect(String(thrown(() => TraceAllocator.attach(pages.space, root.controlPtr, { backing: elsewhere })))).toMatch(/the tree was built on the allocator at 0x[0-9a-f]+; the backing given \(pages\) is at 0x00800000/);
    // A space where no tree lives: found at the control pointer, before the backing is looked at.
    expect(thrown(() => TraceAllocator.attach(makePages().space, root.controlPtr, { backing: pages }))).toBeInstanceOf(CorruptionError);
  });

  it("a copy of the whole memory is the same tree (what a save and restore gives)", () => {
    const { pages, root } = tree({ tracing: "callstacks" });
    const physics = root.child("physics", { budget: 1 << 20 });
    const label = root.labelId("bodies");
    const blocks = [physics.allocate(100, 8, label), physics.allocate(300, 64), root.allocate(5)];
    physics.retain(blocks[1]!, "cache");
    root.markFrame(42);
    const before = root.report();
    const copy = new WebAssembly.Memory({ initial: pages.space.byteLength >>> 16, maximum: 1024 });
    new Uint8Array(copy.buffer).set(pages.space.u8);
    const space2 = AddressSpace.attach(copy);
    const pages2 = PageAllocator.attach(space2, pages.controlPtr);
    const restored = TraceAllocator.attach(space2, root.controlPtr, { backing: pages2 });
    restored.check();
    expect(restored.report()).toEqual(before);
    expect(restored.retainedBlocks()).toEqual([expect.objectContaining({ ptr: blocks[1], reason: "cache", origin: "root/physics" })]);
    const again = restored.openScope("physics");
    for (const p of blocks.slice(0, 2)) again.deallocate(p);
    restored.deallocate(blocks[2]!);
    again.dispose();
    restored.check();
    expect(restored.report()).toMatchObject({ totalLiveCount: 0, children: [] });
    // The original is untouched.
    expect(root.report()).toEqual(before);
  });
});
