import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";
import { describe, expect, test } from "vitest";
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

describe("--restore of a file it cannot read", () => {
  test("is an error before the run (exit 1), naming the file", async () => {
    const r = await runCli(["--restore", "missing.mksave", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^memkit-game-loop: cannot read the save missing\.mksave: ENOENT/);
  });
});

describe("saving after N frames and restoring for M more", () => {
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

describe("in fresh processes, as the issue asks", () => {
  test("run N frames and save in one process, restore and run M more in another: the checksum of a straight N + M run", async () => {
    // The CLI bundled from its sources (memkit resolved to src, as the tests run it) and run by plain node, three times.
    const dir = mkdtempSync(join(tmpdir(), "memkit-game-"));
    const cli = join(dir, "game.mjs");
    await build({
      input: fileURLToPath(new URL("../src/main.ts", import.meta.url)),
      platform: "node",
      resolve: { conditionNames: ["@memkit/source", "import", "default"] },
      transform: { target: "es2022" }, // Node 20 has no \`using\` syntax
      output: { format: "esm", file: cli },
      logLevel: "warn",
    });
    const file = join(dir, "game.mksave");
    const node = (args: string[]): string => execFileSync(process.execPath, [cli, "--warmup", "0", "--quiet", ...args], { encoding: "utf8", cwd: dir });
    const saved = node(["--frames", "40", "--entities", "300", "--seed", "5", "--save", file]);
    expect(saved).toContain("Shutdown: clean.");
    const restored = node(["--frames", "25", "--restore", file]);
    const straight = node(["--frames", "65", "--entities", "300", "--seed", "5"]);
    expect(restored).toContain("40 frames played before the save");
    expect(checksum(restored)).toBe(checksum(straight));
    expect(game(restored)).toBe(game(straight));
    expect(restored).toContain("Shutdown: clean.");
  });
});
