import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { AllocatorError, CorruptionError, DestroyedError, DoubleFreeError, InvalidArgumentError, LeakError, SeededRandom } from "@memkit/core";
import { DynamicArray, HashMap } from "@memkit/containers";
import { MemoryGlobals } from "@memkit/memory-globals";
import { decodeSave, encodeSave } from "../src/saved-memory.js";

afterEach(() => MemoryGlobals.current?.shutdown());

interface Held {
  scope: string;
  ptr: number;
  size: number;
  byte: number;
}

/** A memory with scopes, blocks of every tier, frame and scratch use, containers and a named root. */
function buildMemory(seed: number): { memory: MemoryGlobals; held: Held[] } {
  const memory = MemoryGlobals.init({ initialBytes: 4 << 20, maximumBytes: 256 << 20, tracing: "counts" });
  const rng = new SeededRandom(seed);
  const physics = memory.scope("physics", { budget: 64 << 20 });
  const level = memory.scope("level");
  const streaming = level.child("streaming");
  const held: Held[] = [];
  const scopes = { "": memory.default, physics, level, "level/streaming": streaming };
  memory.beginStage("load");
  for (let i = 0; i < 400; i++) {
    const [path, scope] = Object.entries(scopes)[rng.int(0, 3)]!;
    const size = [8, 40, 700, 5000, 90_000, 700_000][rng.int(0, 5)]!;
    const ptr = scope.allocate(size, rng.int(0, 4) === 0 ? 64 : 8);
    const byte = rng.int(1, 255);
    memory.space.u8.fill(byte, ptr, ptr + size);
    held.push({ scope: path, ptr, size, byte });
  }
  for (let i = held.length - 1; i >= 0; i -= 3) {
    const h = held[i]!;
    (h.scope === "" ? memory.default : memory.openScope(h.scope)).deallocate(h.ptr);
    held.splice(i, 1);
  }
  memory.endStage();
  for (let f = 0; f < 5; f++) {
    memory.beginFrame();
    memory.frame.allocate(1000);
  }
  const ids = new DynamicArray(physics, "u32", { name: "ids" });
  for (let i = 0; i < 1000; i++) ids.push(i * 7);
  const table = new HashMap(level, { key: "u32", value: "f64", name: "table" });
  for (let i = 0; i < 500; i++) table.set(i * 3, i / 4);
  memory.setRoot("ids", ids.persist());
  memory.setRoot("table", table.persist());
  return { memory, held };
}

function expectHeld(memory: MemoryGlobals, held: Held[]): void {
  const u8 = memory.space.u8;
  for (const h of held) {
    const scope = h.scope === "" ? memory.default : memory.openScope(h.scope);
    expect(scope.owns(h.ptr)).toBe(true);
    expect(u8.subarray(h.ptr, h.ptr + h.size).every((b) => b === h.byte)).toBe(true);
  }
}

describe("memory.save() and MemoryGlobals.restore()", () => {
  it("gives back every allocator, scope, block, container and root where it was; the memory carries on", () => {
    const { memory, held } = buildMemory(1);
    const report = memory.report();
    const stages = memory.stages;
    const frame = memory.frameNumber;
    const bytes = memory.save();
    // The original goes on changing: the save is a copy.
    memory.default.allocate(64);
    expect(() => MemoryGlobals.restore(bytes)).toThrow(AllocatorError); // one memory at a time
    try {
      memory.shutdown();
    } catch {
      // buildMemory() left its blocks live: leaks of the original, not of the save
    }

    const restored = MemoryGlobals.restore(bytes);
    expect(restored.report()).toEqual(report);
    expect(restored.stages).toEqual(stages);
    expect(restored.frameNumber).toBe(frame);
    expect(restored.options).toMatchObject({ tracing: "counts", maximumBytes: 256 << 20, pageSize: 16384 });
    restored.check();
    expectHeld(restored, held);
    const ids = DynamicArray.restore(restored.openScope("physics"), restored.root("ids"), { kind: "u32" });
    const table = HashMap.restore(restored.openScope("level"), restored.root("table"), { key: "u32", value: "f64" });
    expect(ids.length).toBe(1000);
    expect(ids.get(999)).toBe(999 * 7);
    expect(table.get(30, -1)).toBe(10 / 4);
    expect(restored.roots().map((r) => r.name)).toEqual(["ids", "table"]);

    // It carries on: allocate, free, frames, budgets, a new scope, then a clean shutdown.
    restored.beginFrame();
    expect(restored.frameNumber).toBe(frame + 1);
    restored.frame.allocate(100);
    const extra = restored.openScope("physics").allocate(1234);
    expect(() => restored.openScope("physics").allocate(100 << 20)).toThrow(/budget/);
    ids.push(1);
    table.set(1, 1);
    restored.check();
    restored.openScope("physics").deallocate(extra);
    for (const h of held) (h.scope === "" ? restored.default : restored.openScope(h.scope)).deallocate(h.ptr);
    ids.dispose();
    table.dispose();
    restored.setRoot("ids", 0);
    restored.setRoot("table", 0);
    const audio = restored.scope("audio");
    audio.deallocate(audio.allocate(10));
    audio.dispose();
    restored.check();
    restored.shutdown();
  });

  it("restores in a fresh process: the same bytes, the same report", async () => {
    const { memory, held } = buildMemory(2);
    const dir = mkdtempSync(join(tmpdir(), "memkit-save-"));
    const file = join(dir, "memory.mksave");
    writeFileSync(file, memory.save());
    const report = memory.report();
    for (const h of held) (h.scope === "" ? memory.default : memory.openScope(h.scope)).deallocate(h.ptr);
    DynamicArray.restore(memory.openScope("physics"), memory.root("ids"), { kind: "u32" }).dispose();
    HashMap.restore(memory.openScope("level"), memory.root("table"), { key: "u32", value: "f64" }).dispose();
    memory.shutdown();

    // The child is bundled from its TypeScript source (memkit resolved to src, as the tests run it) and run by plain node.
    const child = join(dir, "restore-child.mjs");
    await build({
      input: fileURLToPath(new URL("./fixtures/restore-child.ts", import.meta.url)),
      platform: "node",
      resolve: { conditionNames: ["@memkit/source", "import", "default"] },
      output: { format: "esm", file: child },
      logLevel: "warn",
    });
    const out = execFileSync(process.execPath, [child, file], { encoding: "utf8" });
    const result = JSON.parse(out) as { report: unknown; heldOk: boolean; shutdown: string };
    expect(result.report).toEqual(report);
    expect(result.heldOk).toBe(true);
    expect(result.shutdown).toBe("clean");
    expect(readFileSync(file).byteLength).toBeGreaterThan(0);
  });

  it("refuses a damaged save with CorruptionError and builds nothing (property over flipped bits)", () => {
    const { memory } = buildMemory(3);
    const bytes = memory.save();
    try {
      memory.shutdown();
    } catch {
      // buildMemory() leaves its blocks and containers live
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.byteLength * 8 - 1 }), (bit) => {
        const damaged = bytes.slice();
        damaged[bit >>> 3]! ^= 1 << (bit & 7);
        expect(() => MemoryGlobals.restore(damaged)).toThrow(CorruptionError);
        expect(MemoryGlobals.current).toBeUndefined();
      }),
      { numRuns: 50 },
    );
    for (const cut of [0, 10, 36, bytes.byteLength >>> 1, bytes.byteLength - 4]) {
      expect(() => MemoryGlobals.restore(bytes.subarray(0, cut))).toThrow(CorruptionError);
    }
    expect(() => MemoryGlobals.restore("save" as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    // The undamaged save still restores.
    const restored = MemoryGlobals.restore(bytes);
    restored.check();
    expect(() => restored.shutdown()).toThrow(LeakError); // what buildMemory() left live is still live
  });

  it("a damaged allocator inside a save that still hashes right is found by restore's check (a CorruptionError, not a broken heap)", () => {
    const { memory } = buildMemory(4);
    const bytes = memory.save();
    try {
      memory.shutdown();
    } catch {
      // buildMemory() leaves its blocks live
    }
    // Damage the image and hash the save again, as a forger (or a bug before saving) would: the hashes pass,
    // and restore's own checks must still refuse it.
    const saved = decodeSave(bytes);
    const cases: [string, (image: DataView) => void][] = [
      ["the memory root's page allocator pointer", (image) => image.setUint32(saved.rootPtr + 13 * 4, image.getUint32(saved.rootPtr + 13 * 4, true) + 64, true)],
      ["the memory root's seal", (image) => image.setUint32(saved.rootPtr + 12, image.getUint32(saved.rootPtr + 12, true) ^ 1, true)],
      ["the page allocator's control block", (image) => image.setUint32(image.getUint32(saved.rootPtr + 13 * 4, true) + 16, 0, true)],
    ];
    for (const [what, damage] of cases) {
      const image = saved.image.slice();
      damage(new DataView(image.buffer));
      const forged = encodeSave(image, image.byteLength, { maximumBytes: saved.maximumBytes, rootPtr: saved.rootPtr, shared: saved.shared, note: saved.note });
      expect(() => MemoryGlobals.restore(forged), what).toThrow(CorruptionError);
      expect(MemoryGlobals.current).toBeUndefined();
    }
  });

  it("a debug: true memory round-trips: bytes, guards checked after restore, double frees within the free history", () => {
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 64 << 20, debug: true });
    const ai = memory.scope("ai");
    const keep = ai.allocate(40);
    memory.space.u8.fill(7, keep, keep + 40);
    // Below the scopes: one block pushed out of quarantine but still in the free history, one still quarantined.
    const layers = memory.debugLayer!;
    const old = layers.allocate(64);
    layers.deallocate(old);
    const big = [layers.allocate(600_000), layers.allocate(600_000)];
    big.forEach((p) => layers.deallocate(p));
    expect(layers.quarantine!.isQuarantined(old)).toBe(false);
    const quarantined = layers.allocate(32);
    layers.deallocate(quarantined);
    const bytes = memory.save();
    expect(() => memory.shutdown()).toThrow(LeakError); // keep is still live

    const restored = MemoryGlobals.restore(bytes);
    expect(restored.options.debug).toBe(true);
    const debug = restored.debugLayer!;
    expect(debug.quarantine!.isQuarantined(quarantined)).toBe(true);
    const ai2 = restored.openScope("ai");
    expect(restored.space.u8.subarray(keep, keep + 40).every((b) => b === 7)).toBe(true);
    expect(ai2.allocatedSize(keep)).toBe(40);
    // Double frees of blocks freed before the save: still known, in quarantine or in the free history.
    expect(() => debug.deallocate(quarantined)).toThrow(/double free of .*still in quarantine/);
    expect(() => debug.deallocate(old)).toThrow(DoubleFreeError);
    restored.check();
    // An overrun made after the restore is caught, naming the user's block and scope.
    restored.space.u8[keep + 40] = 1;
    const overrun = (() => {
      try {
        restored.check();
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(overrun).toBeInstanceOf(CorruptionError);
    expect((overrun as Error).message).toMatch(/guard byte after the block changed at \+40.*/);
    expect((overrun as Error).message).toContain("scope root/ai");
    restored.space.u8[keep + 40] = 0xfd;
    ai2.deallocate(keep);
    restored.check();
    restored.shutdown();
    expect(() => restored.save()).toThrow(DestroyedError);
  });

  it("named roots: set, read, replace, remove, refuse bad names and a full table", () => {
    const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 64 << 20 });
    expect(memory.root("game")).toBe(0);
    memory.setRoot("game", 4096);
    memory.setRoot("gamé", 8192);
    expect(memory.root("game")).toBe(4096);
    expect(memory.root("gamé")).toBe(8192);
    memory.setRoot("game", 12288);
    expect(memory.root("game")).toBe(12288);
    memory.setRoot("game", 0);
    expect(memory.root("game")).toBe(0);
    expect(() => memory.setRoot("", 8)).toThrow(InvalidArgumentError);
    expect(() => memory.setRoot("x".repeat(29), 8)).toThrow(/1 to 28 bytes/);
    expect(() => memory.setRoot("n", 8n as unknown as number)).toThrow(InvalidArgumentError);
    for (let i = 0; i < 15; i++) memory.setRoot(`r${i}`, 8 * (i + 1));
    expect(() => memory.setRoot("one too many", 8)).toThrow(/all 16 named roots are in use/);
    expect(memory.roots()).toHaveLength(16);
    memory.shutdown();
  });
});
