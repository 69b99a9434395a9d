import { afterEach, describe, expect, it } from "vitest";
import { AllocatorError, CorruptionError, LeakError, OutOfMemoryError } from "@memkit/core";
import { describeAllocatorContract } from "@memkit/core/testing";
import { TraceAllocator } from "@memkit/trace-allocator";
import { MEMORY_REPORT_SCHEMA, MemoryGlobals } from "@memkit/memory-globals";

afterEach(() => {
  const memory = MemoryGlobals.current;
  if (memory === undefined) return;
  try {
    memory.shutdown();
  } catch {
    // a test that leaks on purpose has already asserted what it needed
  }
});

const small = { initialBytes: 4 << 20, maximumBytes: 256 << 20 };

describe("MemoryGlobals, complete", () => {
  it("builds default, frame, scratch and named scopes that roll up into the root", () => {
    const memory = MemoryGlobals.init(small);
    const physics = memory.scope("physics", { budget: 1 << 20 });
    const a = physics.allocate(100);
    const b = memory.default.allocate(50);
    expect(memory.default.scopeOf(a)).toBe(physics);
    const report = memory.report();
    expect(report.name).toBe("root");
    expect(report.children.map((c) => c.path)).toEqual(["root/physics"]);
    expect(report.totalLiveBytes).toBe(150);
    expect(report.children[0]!.budgetBytes).toBe(1 << 20);
    expect(memory.formatReport()).toMatch(/physics/);
    const f = memory.frame.allocate(64);
    const mark = memory.scratch.mark();
    memory.scratch.allocate(128);
    memory.scratch.release(mark);
    memory.beginFrame();
    expect(memory.frame.owns(f)).toBe(true);
    physics.deallocate(a);
    memory.default.deallocate(b);
    physics.dispose();
    memory.check();
    memory.shutdown();
    expect(memory.alive).toBe(false);
  });

  it("throws one LeakError naming every scope that still holds memory, and keeps the report readable", () => {
    const memory = MemoryGlobals.init(small);
    const physics = memory.scope("physics");
    const broadphase = physics.child("broadphase");
    memory.scope("audio"); // empty and never disposed: shutdown disposes it quietly
    broadphase.allocate(4000);
    memory.scope("render").allocate(96);
    let error: unknown;
    try {
      memory.shutdown();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LeakError);
    const leak = error as LeakError;
    expect(leak.message).toMatch(/root\/physics\/broadphase/);
    expect(leak.message).toMatch(/root\/render/);
    expect(leak.report.count).toBe(2);
    expect(leak.report.bytes).toBe(4096);
    expect(memory.alive).toBe(false);
    expect(memory.report().totalLiveBytes).toBe(4096);
    expect(() => memory.scope("x")).toThrow(AllocatorError);
    expect(MemoryGlobals.current).toBeUndefined();
  });

  it("records the call stack of a leak under tracing: \"callstacks\"", () => {
    const memory = MemoryGlobals.init({ ...small, tracing: "callstacks" });
    const level = memory.scope("level");
    function loadLevel(): void {
      level.allocate(1234);
    }
    loadLevel();
    expect(() => memory.shutdown()).toThrow(/loadLevel/);
  });

  it("records each stage's peaks", () => {
    const memory = MemoryGlobals.init(small);
    const level = memory.scope("level");
    memory.beginStage("load");
    const blocks = Array.from({ length: 10 }, () => level.allocate(1000));
    for (const b of blocks) level.deallocate(b);
    const load = memory.endStage();
    memory.beginStage("play");
    const one = level.allocate(10);
    memory.beginFrame();
    const play = memory.endStage();
    level.deallocate(one);
    const row = (stage: typeof load) => stage.scopes.find((s) => s.path === "root/level")!;
    expect(row(load)).toMatchObject({ peakLiveBytes: 10_000, liveBytes: 0, allocCount: 10, freeCount: 10 });
    expect(row(play)).toMatchObject({ peakLiveBytes: 10, allocCount: 1 });
    expect(memory.stages.map((s) => s.name)).toEqual(["load", "play"]);
    expect(() => memory.endStage()).toThrow(/no stage is running/);
    level.dispose();
  });

  it("snapshots scopes, stages, folded stacks, allocators and the page map", () => {
    const memory = MemoryGlobals.init({ ...small, tracing: "callstacks" });
    const ai = memory.scope("ai");
    memory.beginStage("play");
    const blocks = [ai.allocate(100), ai.allocate(5000), ai.allocate(800 * 1024)];
    memory.frame.allocate(256);
    memory.scratch.allocate(256);
    memory.endStage();
    const report = memory.snapshot("test");
    expect(report.schema).toBe(MEMORY_REPORT_SCHEMA);
    expect(report.scopes.children[0]!.path).toBe("root/ai");
    expect(report.stages[0]!.name).toBe("play");
    expect(report.folded.liveBytes).toMatch(/^root;ai;.* \d+$/m);
    const sum = report.folded.liveBytes.trim().split("\n").reduce((acc, line) => acc + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    expect(sum).toBe(100 + 5000 + 800 * 1024);
    expect(report.allocators.map((a) => a.name)).toContain("generic");
    const map = report.memoryMap;
    expect(map.spans.length).toBeGreaterThan(0);
    expect(Object.values(map.owners)).toEqual(expect.arrayContaining(["generic.slots", "generic.heap", "generic.large", "frame", "scratch"]));
    expect(map.pageUse.some((u) => u > 0)).toBe(true);
    expect(map.scopePaths).toContain("root/ai");
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    for (const b of blocks) ai.deallocate(b);
    ai.dispose();
  });

  it("enforces scope budgets with OutOfMemoryError naming the scope", () => {
    const memory = MemoryGlobals.init(small);
    const audio = memory.scope("audio", { budget: 1000 });
    const a = audio.allocate(600);
    expect(() => audio.allocate(600)).toThrow(OutOfMemoryError);
    expect(() => audio.allocate(600)).toThrow(/root\/audio/);
    audio.deallocate(a);
    audio.dispose();
  });
});

describe("MemoryGlobals with debug: true", () => {
  it("catches a 1-byte overrun of a block from memory.default at deallocate", () => {
    const memory = MemoryGlobals.init({ ...small, debug: true });
    const p = memory.default.allocate(24);
    memory.space.u8[p + 24] = 0;
    expect(() => memory.default.deallocate(p)).toThrow(CorruptionError);
  });

  it("catches a 1-byte overrun with memory.check(), naming the scope", () => {
    const memory = MemoryGlobals.init({ ...small, debug: true });
    const ai = memory.scope("ai");
    const p = ai.allocate(24);
    memory.space.u8[p + 24] = memory.space.u8[p + 24]! ^ 0xff;
    expect(() => memory.check()).toThrow(CorruptionError);
    expect(() => memory.check()).toThrow(/root\/ai/);
  });

  it("catches a write into a freed block with memory.check()", () => {
    const memory = MemoryGlobals.init({ ...small, debug: true });
    const p = memory.default.allocate(64);
    memory.default.deallocate(p);
    memory.space.u8[p + 10] = 1;
    expect(() => memory.check()).toThrow(CorruptionError);
  });

  it("lets legal use pass every check", () => {
    const memory = MemoryGlobals.init({ ...small, debug: true });
    const s = memory.scope("gameplay");
    const blocks: number[] = [];
    for (let i = 0; i < 500; i++) {
      const size = 1 + ((i * 97) % 3000);
      const p = s.allocate(size);
      memory.space.u8.fill(i & 0xff, p, p + size);
      blocks.push(p);
    }
    memory.check();
    for (const p of blocks) s.deallocate(p);
    memory.check();
    s.dispose();
  });
});

// The kit builds a second subject for its foreign-pointer case: a sibling scope
// of the same memory, so the pointer it passes really is another scope's.
function scopeFactory(options: Parameters<typeof MemoryGlobals.init>[0]) {
  let open = 0;
  let serial = 0;
  return () => {
    const memory = MemoryGlobals.current ?? MemoryGlobals.init(options);
    const scope = memory.scope(`subject${serial++}`);
    open++;
    return {
      allocator: scope,
      check: () => memory.check(),
      dispose: () => {
        scope.dispose();
        if (--open === 0) memory.shutdown();
      },
      // A second handle on the same scope: a new handle on the tree, then the scope found through memory by its path.
      attach: () => {
        const tree = TraceAllocator.attach(memory.space, memory.default.controlPtr, { backing: memory.default.backing });
        const again = tree.openScope(scope.name);
        return { allocator: again, check: () => memory.check(), dispose: () => tree.detach() };
      },
    };
  };
}

// "after-destroy" is left out: a disposed scope still frees the blocks its parent adopted, by design.
describeAllocatorContract("MemoryGlobals scope", scopeFactory({ initialBytes: 16 << 20, maximumBytes: 512 << 20 }), { randomOps: 100_000, skip: ["after-destroy"] });
describeAllocatorContract("MemoryGlobals scope with debug: true", scopeFactory({ initialBytes: 16 << 20, maximumBytes: 512 << 20, debug: true }), {
  randomOps: 100_000,
  skip: ["after-destroy"],
});
