import { describe, expect, test } from "vitest";
import { MemoryGlobals } from "@memkit/memory-globals";
import { MEMORY_SAVE_AVAILABLE } from "../src/memory-save.js";
import { runCli } from "./helpers.js";

/*
 * --save FILE and --restore FILE: the command-line side of issue #13 point 4
 * ("run the sample game for N frames, save, restore in a fresh process, run M
 * more frames; the checksum equals a run of N + M frames"). The game's side is
 * test/save-restore.test.ts; the memory's side (memory.save(),
 * MemoryGlobals.restore, named roots) is wired in src/memory-save.ts.
 */

const checksum = (text: string): string => /checksum (0x[0-9a-f]{8})/.exec(text)![1]!;
const game = (text: string): string => /game: (.*)/.exec(text)![1]!;

describe.skipIf(MEMORY_SAVE_AVAILABLE)("before MemoryGlobals can save and restore", () => {
  test("--save plays the game, then says the save is not available (exit 1) and shuts the memory down clean", async () => {
    const r = await runCli(["--frames", "10", "--warmup", "0", "--entities", "100", "--quiet", "--save", "g.mksave"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/memkit: 10 play frames/);
    expect(r.stderr).toMatch(/^memkit-game-loop: cannot save the game to g\.mksave: \w+ is not available until MemoryGlobals\.save\/restore exist/m);
    expect(r.files.has("g.mksave")).toBe(false);
    expect(r.stdout).toContain("Shutdown: clean.");
    expect(MemoryGlobals.current).toBeUndefined();
  });

  test("--restore of a file it can read says the restore is not available (exit 1)", async () => {
    const r = await runCli(["--restore", "g.mksave", "--quiet"], false, new Map([["g.mksave", new Uint8Array(64)]]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\w+ is not available until MemoryGlobals\.save\/restore exist/);
    expect(MemoryGlobals.current).toBeUndefined();
  });
});

describe("--restore of a file it cannot read", () => {
  test("is an error before the run (exit 1), naming the file", async () => {
    const r = await runCli(["--restore", "missing.mksave", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^memkit-game-loop: cannot read the save missing\.mksave: ENOENT/);
  });
});

describe.skipIf(!MEMORY_SAVE_AVAILABLE)("saving after N frames and restoring for M more", () => {
  test.each([
    [1, 300, 30, 20],
    [9, 200, 1, 40],
  ])("seed %i, %i units: N = %i, M = %i frames: the restored run ends with the straight N + M run's game", async (seed, entities, n, m) => {
    const common = ["--warmup", "0", "--quiet"];
    const saved = await runCli([...common, "--frames", String(n), "--entities", String(entities), "--seed", String(seed), "--save", "g.mksave"]);
    expect(saved.code).toBe(0);
    const bytes = saved.files.get("g.mksave");
    expect(bytes).toBeInstanceOf(Uint8Array);
    const restored = await runCli([...common, "--frames", String(m), "--restore", "g.mksave"], false, new Map([["g.mksave", bytes as Uint8Array]]));
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`restored from g.mksave: ${n} frames played before the save`);
    const straight = await runCli([...common, "--frames", String(n + m), "--entities", String(entities), "--seed", String(seed)]);
    expect(game(restored.stdout)).toBe(game(straight.stdout));
    expect(checksum(restored.stdout)).toBe(checksum(straight.stdout));
    expect(restored.stdout).toContain("Shutdown: clean.");
  });

  test("a save with one flipped bit is refused with a CorruptionError (exit 1)", async () => {
    const saved = await runCli(["--warmup", "0", "--frames", "5", "--entities", "100", "--quiet", "--save", "g.mksave"]);
    const bytes = (saved.files.get("g.mksave") as Uint8Array).slice();
    bytes[bytes.length >> 1]! ^= 0x10;
    const r = await runCli(["--restore", "g.mksave", "--quiet"], false, new Map([["g.mksave", bytes]]));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("CorruptionError");
  });
});
