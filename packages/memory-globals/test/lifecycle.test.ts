import { afterEach, describe, expect, it } from "vitest";
import { DestroyedError, InvalidArgumentError, type AllocatorStats } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";

afterEach(() => {
  try {
    MemoryGlobals.current?.shutdown();
  } catch {
    // a test that leaks on purpose has already asserted what it needed
  }
});

const small = { initialBytes: 4 << 20, maximumBytes: 64 << 20 };

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected a throw");
}

describe("use after shutdown", () => {
  it("every member throws DestroyedError (ERR_DESTROYED) saying what to do; report() and formatReport() give the tree as it was", () => {
    const memory = MemoryGlobals.init(small);
    const physics = memory.scope("physics");
    physics.deallocate(physics.allocate(100));
    const text = memory.formatReport();
    memory.shutdown();
    for (const call of [() => memory.space, () => memory.pages, () => memory.default, () => memory.scope("x"), () => memory.check(), () => memory.beginFrame(), () => memory.snapshot(), () => memory.shutdown()]) {
      const err = thrown(call);
      expect(err).toBeInstanceOf(DestroyedError);
      expect(err.code).toBe("ERR_DESTROYED");
      expect(err.message).toMatch(/^MemoryGlobals\.\w+: this memory was shut down; call MemoryGlobals\.init\(\) again/);
    }
    expect(memory.report().children.map((c) => c.path)).toEqual(["root/physics"]);
    expect(memory.formatReport()).toBe(text);
    // A scope of a shut-down memory refuses new work the same way.
    expect(thrown(() => physics.allocate(8))).toBeInstanceOf(DestroyedError);
  });

  it("a BigInt or Symbol scope name is an InvalidArgumentError", () => {
    const memory = MemoryGlobals.init(small);
    expect(thrown(() => memory.scope(1n as never))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => memory.scope(Symbol("s") as never))).toBeInstanceOf(InvalidArgumentError);
    memory.check();
  });
});

describe('tracing: "off" keeps the Allocator contract', () => {
  it.each([false, true])("memory.default and every scope give true stats (the generic allocator's usable sizes), debug %s", (debug) => {
    const memory = MemoryGlobals.init({ ...small, tracing: "off", debug });
    const usable = (ptr: number): number => memory.default.backing.allocatedSize(ptr);
    const a = memory.default.allocate(100);
    const physics = memory.scope("physics");
    const b = physics.allocate(5000);
    const c = physics.allocate(24);
    const expected = (blocks: number[], allocs: number, frees: number, peak: number): AllocatorStats => {
      const bytes = blocks.reduce((sum, p) => sum + usable(p), 0);
      return { liveBytes: bytes, liveCount: blocks.length, peakLiveBytes: peak, allocCount: allocs, freeCount: frees, reservedBytes: bytes };
    };
    expect(memory.default.stats()).toEqual(expected([a], 1, 0, usable(a)));
    const peak = usable(b) + usable(c);
    expect(physics.stats()).toEqual(expected([b, c], 2, 0, peak));
    expect(usable(b)).toBeGreaterThanOrEqual(5000);
    expect(memory.report()).toMatchObject({ totalLiveCount: 3, totalLiveBytes: usable(a) + peak });
    physics.deallocate(b);
    expect(physics.stats()).toEqual(expected([c], 2, 1, peak));
    memory.check();
    physics.deallocate(c);
    memory.default.deallocate(a);
    expect(memory.report()).toMatchObject({ totalLiveCount: 0, totalLiveBytes: 0 });
    physics.dispose();
    memory.check();
  });
});
