import { afterEach, describe, expect, it } from "vitest";
import { AddressSpace, LeakError } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import {
  DynamicArray,
  HandlePool,
  HashMap,
  HashSet,
  StructArray,
  StructOfArrays,
  defineStruct,
  formatContainerLeak,
  isContainerDebug,
  setContainerDebug,
  setContainerLeakHandler,
  type ContainerLeak,
} from "../src/index.js";
import { movingAllocator } from "./support/moving-allocator.js";

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage until `done()` or a few rounds passed (FinalizationRegistry callbacks run as later tasks). */
async function collect(done: () => boolean): Promise<void> {
  if (gc === undefined) throw new Error("run with --expose-gc (vitest.config.ts passes it)");
  for (let round = 0; round < 20 && !done(); round++) {
    await new Promise((resolve) => setTimeout(resolve, 0)); // let WeakRefs of this job expire
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0)); // let cleanup callbacks run
  }
}

const Point = defineStruct({ x: "f32", y: "f32" });

/** Creates (and drops) one container of each type over `allocator`, in a frame of its own. */
function dropOneOfEach(allocator: Allocator, debug: boolean | undefined): void {
  const options = debug === undefined ? {} : { debug };
  new DynamicArray(allocator, "u32", { ...options, name: "dropped-array" }).push(1);
  new StructArray(allocator, Point, { ...options, name: "dropped-structs" }).push();
  new StructOfArrays(allocator, Point, { ...options, name: "dropped-soa" }).push();
  new HashMap(allocator, { ...options, key: "u32", value: "u32", name: "dropped-map" }).set(1, 1);
  new HashSet(allocator, { ...options, key: "i32", name: "dropped-set" }).add(1);
  new HandlePool(allocator, Point, { ...options, name: "dropped-pool" }).create();
}

describe("JS-side leak detection", () => {
  afterEach(() => {
    setContainerDebug(false);
    setContainerLeakHandler(null);
  });

  it("reports every debug container the GC reclaimed without dispose()", async () => {
    const leaks: ContainerLeak[] = [];
    setContainerLeakHandler((leak) => leaks.push(leak));
    const a = movingAllocator({ scope: "root/physics" });
    dropOneOfEach(a, true);
    await collect(() => leaks.length >= 6);
    expect(leaks.map((l) => l.name).sort()).toEqual(["dropped-array", "dropped-map", "dropped-pool", "dropped-set", "dropped-soa", "dropped-structs"]);
    for (const leak of leaks) {
      expect(leak.allocator).toBe("moving");
      expect(a.owns(leak.ptr)).toBe(true); // the block it never freed is still live
      expect(leak.bytes).toBe(a.allocatedSize(leak.ptr));
      expect(leak.origin?.scope).toBe("root/physics");
      expect(leak.stack).toContain("dropOneOfEach");
    }
    const array = leaks.find((l) => l.name === "dropped-array")!;
    expect(array.container).toBe("DynamicArray<u32>");
    expect(formatContainerLeak(array)).toMatch(/DynamicArray<u32> "dropped-array" was garbage-collected without dispose\(\): its block 0x[0-9a-f]{8} \(32 B\) is still live in allocator "moving" \(scope root\/physics\)/);
  });

  it("reports the block's current address after the container grew", async () => {
    const leaks: ContainerLeak[] = [];
    setContainerLeakHandler((leak) => leaks.push(leak));
    const a = movingAllocator();
    ((): void => {
      const arr = new DynamicArray(a, "f64", { debug: true });
      for (let i = 0; i < 1000; i++) arr.push(i); // moves the block ~8 times
    })();
    await collect(() => leaks.length > 0);
    expect(leaks).toHaveLength(1);
    expect(a.live.get(leaks[0]!.ptr)).toBe(leaks[0]!.bytes);
  });

  it("stays silent for disposed containers, non-debug containers and containers that never held memory", async () => {
    const leaks: ContainerLeak[] = [];
    setContainerLeakHandler((leak) => leaks.push(leak));
    const a = movingAllocator();
    ((): void => {
      new DynamicArray(a, "u8", { debug: true }).dispose();
      new DynamicArray(a, "u8", { debug: true }); // no push: no block
      dropOneOfEach(a, false);
    })();
    // A debug container dropped last proves the collector ran and callbacks were delivered.
    ((): void => void new DynamicArray(a, "u8", { debug: true, name: "canary" }).push(1))();
    await collect(() => leaks.length > 0);
    expect(leaks.map((l) => l.name)).toEqual(["canary"]);
  });

  it("names the descriptor of a persisted container too; a handle a restore took over is not a leak", async () => {
    const leaks: ContainerLeak[] = [];
    setContainerLeakHandler((leak) => leaks.push(leak));
    const a = movingAllocator();
    let restored: DynamicArray<"u32"> | undefined;
    ((): void => {
      const saved = new DynamicArray(a, "u32", { debug: true, name: "saved" });
      saved.push(1);
      saved.persist();
      const empty = new DynamicArray(a, "u32", { debug: true, name: "descriptor only" });
      empty.persist();
      const handedOver = new DynamicArray(a, "u32", { debug: true, name: "handed over" });
      handedOver.push(2);
      restored = DynamicArray.restore(a, handedOver.persist(), { kind: "u32" });
    })();
    await collect(() => leaks.length >= 3); // all rounds: the handed-over handle must not show up late
    expect(leaks.map((l) => l.name).sort()).toEqual(["descriptor only", "saved"]);
    const saved = leaks.find((l) => l.name === "saved")!;
    expect(a.owns(saved.descriptor!)).toBe(true);
    expect(formatContainerLeak(saved)).toMatch(/its block 0x[0-9a-f]{8} \(32 B\) and its descriptor 0x[0-9a-f]{8} are still live in allocator "moving"/);
    expect(formatContainerLeak(leaks.find((l) => l.name === "descriptor only")!)).toMatch(/without dispose\(\): its descriptor 0x[0-9a-f]{8} is still live/);
    expect(restored.toArray()).toEqual([2]);
    restored.dispose();
  });

  it("setContainerDebug(true) turns detection on for containers created afterwards", async () => {
    const leaks: ContainerLeak[] = [];
    setContainerLeakHandler((leak) => leaks.push(leak));
    expect(isContainerDebug()).toBe(false);
    setContainerDebug(true);
    expect(isContainerDebug()).toBe(true);
    const a = movingAllocator();
    dropOneOfEach(a, undefined);
    await collect(() => leaks.length >= 6);
    expect(leaks).toHaveLength(6);
  });

  it("the default handler warns on the console", async () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      const a = movingAllocator();
      ((): void => void new DynamicArray(a, "u16", { debug: true, name: "noisy" }).push(1))();
      await collect(() => warnings.length > 0);
    } finally {
      console.warn = original;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('DynamicArray<u16> "noisy" was garbage-collected without dispose()');
  });
});

describe("containers over a trace scope", () => {
  function tree(): { root: TraceAllocator; pages: PageAllocator } {
    const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 });
    const pages = new PageAllocator(space, { pageSize: 256 });
    return { root: new TraceAllocator(pages, { name: "root" }), pages };
  }

  it("show up in the scope's counts, and an undisposed one is the scope's leak", () => {
    const { root } = tree();
    const physics = root.child("physics");
    const bodies = new StructArray(physics, Point, { name: "bodies" });
    const cells = new HashMap(physics, { key: "u32", value: "u32", name: "cells" });
    for (let i = 0; i < 100; i++) {
      bodies.push();
      cells.set(i, i);
    }
    expect(physics.stats().liveCount).toBe(2);
    expect(physics.stats().liveBytes).toBe(bodies.byteLength + cells.byteLength);
    expect(physics.originOf(bodies.ptr)?.scope).toBe("root/physics");
    cells.dispose();
    let leak: unknown;
    try {
      physics.dispose();
    } catch (err) {
      leak = err;
    }
    expect(leak).toBeInstanceOf(LeakError);
    const report = (leak as LeakError).report;
    expect(report.count).toBe(1);
    expect(report.blocks[0]!.ptr).toBe(bodies.ptr);
    expect(report.blocks[0]!.size).toBe(bodies.byteLength);
    bodies.dispose();
    physics.dispose(); // now clean
    expect(root.stats().liveCount).toBe(0);
  });

  it("the leak detector names the scope of a collected container", async () => {
    const leaks: ContainerLeak[] = [];
    setContainerLeakHandler((leak) => leaks.push(leak));
    try {
      const { root } = tree();
      const ai = root.child("ai");
      ((): void => void new HashSet(ai, { key: "u32", debug: true, name: "visited" }).add(3))();
      await collect(() => leaks.length > 0);
      expect(leaks).toHaveLength(1);
      expect(leaks[0]!.allocator).toBe("ai");
      expect(leaks[0]!.origin?.scope).toBe("root/ai");
      expect(ai.owns(leaks[0]!.ptr)).toBe(true);
    } finally {
      setContainerLeakHandler(null);
    }
  });
});
