import { afterEach, describe, expect, it } from "vitest";
import { AddressSpace, LeakError, SeededRandom } from "@memkit/core";
import { runAttachMutations, type AttachMutationTarget, type MutationSubject } from "@memkit/core/testing";
import { MemoryGlobals } from "@memkit/memory-globals";
import { decodeSave, encodeSave } from "../src/saved-memory.js";

// Restore is MemoryGlobals' attach: damage the control blocks it opens (the
// memory root, the bootstrap region, the page map, the generic, heap, slot,
// scope-tree, frame and scratch control blocks) in a save whose hashes are
// made right again, and restore must refuse with CorruptionError, or give a
// memory whose check() refuses, or one that serves only good blocks.

afterEach(() => {
  try {
    MemoryGlobals.current?.shutdown();
  } catch (err) {
    if (!(err instanceof LeakError)) throw err;
  }
});

function shutdownAllowingLeaks(memory: MemoryGlobals): void {
  try {
    memory.shutdown();
  } catch (err) {
    if (!(err instanceof LeakError)) throw err;
  }
}

const target: AttachMutationTarget & { saves: Map<AddressSpace, { rootPtr: number; maximumBytes: number }> } = {
  saves: new Map(),
  build(seed: number): MutationSubject {
    if (MemoryGlobals.current !== undefined) shutdownAllowingLeaks(MemoryGlobals.current);
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 32 << 20 });
    const rng = new SeededRandom(seed);
    const physics = memory.scope("physics");
    const live: [number, number][] = [];
    for (let i = 0; i < 60; i++) {
      const size = [16, 200, 3000, 40_000, 600_000][rng.int(0, 4)]!;
      live.push([(i % 2 === 0 ? physics : memory.default).allocate(size), size]);
    }
    memory.beginFrame();
    memory.frame.allocate(500);
    const scratchMark = memory.scratch.mark();
    memory.scratch.allocate(100);
    memory.scratch.release(scratchMark);
    const pages = memory.pages;
    const controlRegions: [number, number][] = [
      [memory.rootPtr, memory.rootPtr + 64],
      [memory.bootstrap.base, memory.bootstrap.base + 64],
      [pages.controlPtr, pages.controlPtr + 256],
      [memory.generic.controlPtr, memory.generic.controlPtr + 128],
      [memory.generic.heap.controlPtr, memory.generic.heap.controlPtr + 512],
      [memory.generic.slots.controlPtr, memory.generic.slots.controlPtr + 512],
      [memory.default.controlPtr, memory.default.controlPtr + 256],
      [memory.frame.controlPtr, memory.frame.controlPtr + 128],
      [memory.scratch.controlPtr, memory.scratch.controlPtr + 128],
    ];
    const pagesStart = pages.range.start;
    const saved = decodeSave(memory.save());
    shutdownAllowingLeaks(memory);
    // The image in a plain space of its own, for the harness to damage.
    const space = AddressSpace.create({ initialBytes: Math.ceil(saved.image.byteLength / 65536) * 65536, maximumBytes: 32 << 20 });
    space.u8.set(saved.image);
    this.saves.set(space, { rootPtr: saved.rootPtr, maximumBytes: saved.maximumBytes });
    return {
      space,
      controlPtr: saved.rootPtr,
      regions: controlRegions,
      live,
      reserved: [[0, pagesStart], ...controlRegions],
    };
  },
  attach(space: AddressSpace) {
    const { rootPtr, maximumBytes } = this.saves.get(space)!;
    this.saves.delete(space);
    if (MemoryGlobals.current !== undefined) shutdownAllowingLeaks(MemoryGlobals.current);
    const image = space.u8.slice(0, Math.ceil(space.byteLength / 4) * 4);
    const memory = MemoryGlobals.restore(encodeSave(image, image.byteLength, { maximumBytes, rootPtr, shared: false, note: null }));
    return { allocator: memory.default, check: () => memory.check() };
  },
};

describe("MemoryGlobals.restore trusts nothing", () => {
  it("480 damaged memories, re-hashed: each is refused, caught by check(), or serves only good blocks", () => {
    const outcome = runAttachMutations(target, { cases: 480 });
    expect(outcome.refusedAtAttach + outcome.caughtByCheck + outcome.servedSafely).toBe(480);
    expect(outcome.refusedAtAttach).toBeGreaterThan(0);
    expect(outcome.servedSafely).toBeGreaterThan(0);
  });
});
