import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import {
  DestroyedError,
} from "@memkit/core";
import {
  DynamicArray,
  HandlePool,
  HashMap,
  StaleHandleError,
  StructArray,
  defineStruct,
  formatContainerLeak,
  isContainerDebug,
  offsetOf,
  setContainerDebug,
  setContainerLeakHandler,
  sizeOf,
} from "../src/index.js";

// The README's examples, verbatim (imports hoisted above). The last test
// checks this file still contains every line of every example.

function quickStart() {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  const root = new TraceAllocator(new PageAllocator(space, { pageSize: 4096 }));
  const physics = root.child("physics");

  // A struct layout with C rules: sizeOf 12, offsetOf(Body, "hp") 8.
  const Body = defineStruct({ x: "f32", y: "f32", hp: "u16", flags: "u8" });
  console.log(sizeOf(Body), offsetOf(Body, "hp"));

  const bodies = new StructArray(physics, Body, { name: "bodies" });
  const x = bodies.field("x"); // resolved once: x.get(i) / x.set(i, v)
  for (let i = 0; i < 100; i++) x.set(bodies.push(), i * 0.5);

  const cells = new HashMap(physics, { key: "u32", value: "u32", name: "grid" });
  cells.set(42, 7);
  const body = cells.get(42, -1); // -1 is your "missing" value: no undefined on the hot path

  const ids = new DynamicArray(physics, "u32", { name: "visible" });
  ids.push(body);
  ids.sort();

  const Entity = defineStruct({ hp: "u16", team: "u8" });
  const entities = new HandlePool(physics, Entity, { name: "entities" });
  const e = entities.create(); // a plain number, never 0
  entities.set(e, "hp", 100);
  entities.destroy(e);
  entities.isAlive(e); // false; entities.get(e, "hp") throws StaleHandleError

  console.log(physics.formatReport()); // physics' blocks, one line per container (below)

  for (const c of [entities, ids, cells, bodies]) c.dispose();
  physics.dispose(); // a container left undisposed would be this scope's LeakError

  return { root, physics, bodies, cells, ids, entities, e, x };
}

function savingAndRestoring() {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
  const pages = new PageAllocator(space, { pageSize: 4096 });
  const Unit = defineStruct({ x: "f32", y: "f32", hp: "u16" });
  const units = new HandlePool(pages, Unit, { name: "units" });
  const byCell = new HashMap(pages, { key: "u32", value: "u32", name: "byCell" });
  const hero = units.create();
  units.set(hero, "hp", 100);
  byCell.set(42, hero);

  // Saving: persist() right before the memory is copied; keep the pointers with the bytes.
  const saved = { units: units.persist(), byCell: byCell.persist(), pages: pages.controlPtr };
  const image = space.u8.slice(); // what a save of the memory keeps

  // Restoring, in another process: nothing of the JS objects above survives, only `image` and `saved`.
  const space2 = AddressSpace.create({ initialBytes: image.length, maximumBytes: 64 << 20 });
  space2.u8.set(image);
  const pages2 = PageAllocator.attach(space2, saved.pages);
  const units2 = HandlePool.restore(pages2, saved.units, Unit);
  const byCell2 = HashMap.restore(pages2, saved.byCell, { key: "u32", value: "u32" });
  console.log(units2.get(byCell2.get(42, 0), "hp")); // 100: the hero's handle is still valid

  return { pages, units, byCell, hero, pages2, units2, byCell2 };
}

function leakDetection() {
  const leaks: string[] = [];
  setContainerDebug(true); // or { debug: true } per container
  setContainerLeakHandler((leak) => leaks.push(formatContainerLeak(leak))); // default: console.warn(formatContainerLeak(leak))

  return leaks;
}

const gc = (globalThis as { gc?: () => void }).gc;

describe("README examples", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    setContainerDebug(false);
    setContainerLeakHandler(null);
  });

  it("the quick start runs as written and prints what it says", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const { root, physics, bodies, cells, ids, entities, e, x } = quickStart();
    expect(log.mock.calls[0]).toEqual([12, 8]);
    const report = log.mock.calls[1]![0] as string;
    expect(report).toMatch(/^physics +[\d.]+ [KMG]?i?B +[\d.]+ [KMG]?i?B +4 /m); // the four containers' blocks
    // The README prints the report as it is, a line per container.
    const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    expect(readme).toContain("```text\n" + report + "\n```");
    expect(bodies.disposed && cells.disposed && ids.disposed && entities.disposed).toBe(true);
    expect(entities.isAlive(e)).toBe(false);
    expect(() => x.get(0)).toThrow(/used after dispose/);
    expect(physics.stats().liveCount).toBe(0);
    expect(root.stats().liveCount).toBe(0);
    // The claim in the comment: a stale handle throws StaleHandleError.
    const pool = new HandlePool(root, defineStruct({ hp: "u16" }));
    const h = pool.create();
    pool.destroy(h);
    expect(() => pool.get(h, "hp")).toThrow(StaleHandleError);
    pool.dispose();
  });

  it("saving and restoring: the restored containers hold the same state in the copied memory and keep working", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const { pages, units, byCell, hero, pages2, units2, byCell2 } = savingAndRestoring();
    expect(log.mock.calls).toEqual([[100]]);
    expect(units2.isAlive(hero)).toBe(true);
    expect(units2.capacity).toBe(units.capacity);
    expect(byCell2.name).toBe("byCell");
    // The copy is independent of the original memory; both go on.
    units2.set(hero, "hp", 50);
    expect(units.get(hero, "hp")).toBe(100);
    const h2 = units2.create();
    byCell2.set(7, h2);
    expect(byCell.has(7)).toBe(false);
    for (const c of [units2, byCell2, units, byCell]) c.dispose();
    expect(pages2.stats().liveCount).toBe(0);
    expect(pages.stats().liveCount).toBe(0);
    pages2.check();
    expect(() => units2.create()).toThrow(DestroyedError);
  });

  it("leak detection: the handler receives a dropped container", async () => {
    const leaks = leakDetection();
    expect(isContainerDebug()).toBe(true);
    const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
    const pages = new PageAllocator(space, { pageSize: 4096 });
    (() => new DynamicArray(pages, "u32", { name: "forgotten" }).push(1))();
    if (gc === undefined) throw new Error("run with --expose-gc (vitest.config.ts passes it)");
    for (let round = 0; round < 20 && leaks.length === 0; round++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatch(/^memkit: DynamicArray<u32> "forgotten" was garbage-collected without dispose\(\)/);
  });

  it("the README's examples are the code these tests run", () => {
    const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    const source = readFileSync(fileURLToPath(import.meta.url), "utf8")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.length > 0)
      .join("\n");
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBe(3);
    for (const block of blocks) {
      const lines = block
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.length > 0 && !line.startsWith("import "));
      expect(source).toContain(lines.join("\n"));
    }
  });
});
