import { describe, expect, it } from "vitest";
import { CorruptionError, DoubleFreeError, InvalidPointerError, OutOfMemoryError, hex, type Allocator } from "@memkit/core";
import { LiveBlocks } from "@memkit/core/testing";
import { TraceAllocator } from "../src/index.js";
import { makePages, makeRoot, thrown } from "./helpers.js";

describe("owner queries", () => {
  it("scopeOf answers which scope holds any live block of the tree", () => {
    const { root, pages } = makeRoot();
    const physics = root.child("physics");
    const broadphase = physics.child("broadphase");
    const audio = root.child("audio");
    const blocks = new Map<number, TraceAllocator>();
    for (const scope of [root, physics, broadphase, audio]) for (let i = 0; i < 20; i++) blocks.set(scope.allocate(8 + i * 40), scope);
    for (const [ptr, scope] of blocks) {
      expect(root.scopeOf(ptr)).toBe(scope);
      expect(audio.scopeOf(ptr)).toBe(scope); // any scope of the tree answers
      expect(scope.owns(ptr)).toBe(true);
      for (const other of [root, physics, broadphase, audio]) if (other !== scope) expect(other.owns(ptr)).toBe(false);
    }
    const [first] = blocks.keys();
    const foreign = pages.allocate(16);
    for (const miss of [0, first! + 8, foreign, -1, Number.NaN]) expect(root.scopeOf(miss)).toBeUndefined();
    blocks.get(first!)!.deallocate(first!);
    expect(root.scopeOf(first!)).toBeUndefined();
    pages.deallocate(foreign);
  });

  it("originOf gives the scope path, the size asked for and, with callstacks, the stack whose first frame is the caller", () => {
    const { root } = makeRoot({ tracing: "callstacks" });
    const ai = root.child("ai");
    function spawnAgent(): number {
      return ai.allocate(24);
    }
    const p = spawnAgent();
    const origin = ai.originOf(p)!;
    expect(origin.scope).toBe("root/ai");
    expect(origin.size).toBe(24);
    expect(origin.stack!.split("\n")[0]).toMatch(/^spawnAgent \(.*pointers\.test\.ts:\d+:\d+\)$/);
    expect(root.originOf(p)).toEqual(origin);
    expect(root.originOf(p + 8)).toBeUndefined();
    // A debug allocator below the scopes sees the backing block, which starts at the header:
    // the origin then names the pointer the user holds too.
    expect(root.originOf(p - 8)).toEqual({ ...origin, ptr: p });
    const wide = ai.allocate(40, 256);
    expect(root.originOf(wide - 256)).toMatchObject({ scope: "root/ai", size: 40, ptr: wide });
    expect(root.originOf(wide - 8)).toBeUndefined();
    ai.deallocate(wide);
    const counted = root.child("counted", { tracing: "counts" });
    const q = counted.allocate(8);
    expect(root.originOf(q)).toEqual({ scope: "root/counted", size: 8 });
    ai.deallocate(p);
    counted.deallocate(q);
  });
});

describe("pointer errors change nothing", () => {
  function setup(): { root: TraceAllocator; physics: TraceAllocator; audio: TraceAllocator; live: LiveBlocks[] } {
    const { root } = makeRoot();
    const physics = root.child("physics");
    const audio = root.child("audio");
    const live = [new LiveBlocks(root), new LiveBlocks(physics), new LiveBlocks(audio)];
    for (const l of live) for (let i = 0; i < 10; i++) l.allocate(16 + i * 30);
    return { root, physics, audio, live };
  }

  function expectUnharmed(root: TraceAllocator, live: LiveBlocks[], before: unknown): void {
    expect(root.report()).toEqual(before);
    for (const l of live) l.verifyAll();
    root.check();
  }

  it("a free, resize or size query through a sibling, parent or child throws InvalidPointerError naming both scopes", () => {
    const { root, physics, audio, live } = setup();
    const broadphase = physics.child("broadphase");
    const deep = broadphase.allocate(64);
    const before = root.report();
    const cases: [TraceAllocator, number, string][] = [
      [audio, live[1]!.blocks[0]!.ptr, "root/physics"], // sibling
      [root, live[2]!.blocks[3]!.ptr, "root/audio"], // parent freeing a child's block
      [physics, live[0]!.blocks[1]!.ptr, "root"], // child freeing the parent's block
      [physics, deep, "root/physics/broadphase"], // grandchild's block
    ];
    for (const [wrong, ptr, owner] of cases) {
      for (const call of [() => wrong.deallocate(ptr), () => wrong.reallocate(ptr, 8), () => wrong.allocatedSize(ptr), () => wrong.retain(ptr)]) {
        const err = thrown(call);
        expect(err).toBeInstanceOf(InvalidPointerError);
        expect(err.message).toContain(hex(ptr));
        expect(err.message).toContain(`belongs to scope ${owner},`);
        expect(err.message).toContain(`not ${wrong.path}`);
      }
      expectUnharmed(root, live, before);
    }
    broadphase.deallocate(deep);
  });

  it("a second free throws DoubleFreeError; a freed pointer's resize or size throws InvalidPointerError", () => {
    const { root, physics, live } = setup();
    const victim = live[1]!.blocks[4]!;
    live[1]!.free(4);
    const before = root.report();
    const err = thrown(() => physics.deallocate(victim.ptr));
    expect(err).toBeInstanceOf(DoubleFreeError);
    expect(err.message).toBe(`root/physics: double free of ${hex(victim.ptr)}: it was already freed (through root/physics) and has not been allocated again.`);
    // Through another scope it is still a double free (the table never lies about which scope freed it).
    expect(thrown(() => root.deallocate(victim.ptr))).toBeInstanceOf(DoubleFreeError);
    expect(thrown(() => physics.reallocate(victim.ptr, 64))).toBeInstanceOf(InvalidPointerError);
    expect(thrown(() => physics.allocatedSize(victim.ptr)).message).toContain("was freed");
    expectUnharmed(root, live, before);
  });

  it("double-free detection reaches back freedHistory frees; older ones are reported as invalid pointers", () => {
    const root = new TraceAllocator(makePages(), { freedHistory: 4 });
    const ptrs = Array.from({ length: 6 }, () => root.allocate(32));
    for (const p of ptrs) root.deallocate(p);
    expect(thrown(() => root.deallocate(ptrs[5]!))).toBeInstanceOf(DoubleFreeError);
    expect(thrown(() => root.deallocate(ptrs[2]!))).toBeInstanceOf(DoubleFreeError);
    expect(thrown(() => root.deallocate(ptrs[0]!))).toBeInstanceOf(InvalidPointerError);
  });

  it("interior, foreign and malformed pointers throw InvalidPointerError with the reason", () => {
    const { root, physics, live } = setup();
    const pages = root.backing;
    const target = live[1]!.blocks[5]!;
    const foreign = pages.allocate(64);
    const before = root.report();
    const interior = thrown(() => physics.deallocate(target.ptr + 8));
    expect(interior).toBeInstanceOf(InvalidPointerError);
    expect(interior.message).toContain(`points +8 into the live block ${hex(target.ptr)} (${target.size} B, scope root/physics)`);
    const alien = thrown(() => physics.deallocate(foreign));
    expect(alien).toBeInstanceOf(InvalidPointerError);
    expect(alien.message).toContain("not allocated through this scope tree");
    const nowhere = thrown(() => physics.deallocate(0x7ff000));
    expect(nowhere).toBeInstanceOf(InvalidPointerError);
    expect(nowhere.message).toContain("not a live block of this scope tree");
    for (const bad of [-8, 1.5, Number.NaN, 2 ** 32, Infinity]) {
      for (const call of [() => physics.deallocate(bad), () => physics.reallocate(bad, 8), () => physics.allocatedSize(bad)]) {
        expect(thrown(call)).toBeInstanceOf(InvalidPointerError);
      }
      expect(physics.owns(bad)).toBe(false);
    }
    expect(thrown(() => physics.allocatedSize(0))).toBeInstanceOf(InvalidPointerError);
    expectUnharmed(root, live, before);
    pages.deallocate(foreign);
  });
});

describe("backing allocator failures", () => {
  it("an exhausted backing gives OutOfMemoryError prefixed with the scope path, the cause kept, nothing counted", () => {
    const { root } = makeRoot({}, 1 << 20);
    const level = root.child("level");
    const p = level.allocate(100);
    const before = root.report();
    const err = thrown(() => level.allocate(4 << 20));
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err.message.startsWith("root/level: ")).toBe(true);
    expect((err as Error).cause).toBeInstanceOf(OutOfMemoryError);
    expect(thrown(() => level.reallocate(p, 4 << 20))).toBeInstanceOf(OutOfMemoryError);
    expect(level.owns(p)).toBe(true);
    expect(root.report()).toEqual(before);
    level.deallocate(p);
  });

  it("a backing that hands out a live block twice is reported as corruption and not recorded twice", () => {
    const pages = makePages();
    let repeat = 0;
    const broken: Allocator = {
      name: "broken",
      space: pages.space,
      allocate: (size, align) => repeat || pages.allocate(size, align),
      deallocate: (ptr) => pages.deallocate(ptr),
      reallocate: (ptr, size, align) => (repeat && ptr !== repeat ? repeat : pages.reallocate(ptr, size, align)),
      allocatedSize: (ptr) => pages.allocatedSize(ptr),
      owns: (ptr) => pages.owns(ptr),
      stats: () => pages.stats(),
    };
    const root = new TraceAllocator(broken);
    const p = root.allocate(32);
    const q = root.allocate(32);
    repeat = p - 8; // the backing block of p starts at its header
    const err = thrown(() => root.allocate(32));
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.message).toContain(`broken returned the block at ${hex(p - 8)}, which holds the live block ${hex(p)}`);
    expect(thrown(() => root.reallocate(q, 64))).toBeInstanceOf(CorruptionError);
    expect(root.stats()).toMatchObject({ liveCount: 2, allocCount: 2 });
    root.check();
  });
});
