import { LeakError } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";
import { run } from "@memkit/game-loop";
import { validateReport } from "@memkit/memreport";
import { afterEach, describe, expect, test } from "vitest";
import { WebGame, type WebGameSettings } from "../src/web-game.js";

/*
 * The page's game loop without the page: WebGame plays the headless sample's
 * game frame by frame (the same checksum as the command line), and stop()
 * unloads, tears down and shuts the memory down at any point, returning a leak.
 */

const SETTINGS: WebGameSettings = { tracing: "counts", debug: false, entities: 300, seed: 7, shared: false, workers: 0, leak: false };

afterEach(() => {
  // A failed test must not leave a memory behind for the next (init refuses while one is live).
  const current = MemoryGlobals.current;
  if (current?.alive === true) {
    try {
      current.shutdown();
    } catch {
      // the test that left it has failed already
    }
  }
});

function playTo(web: WebGame, frames: number): void {
  for (let guard = 0; web.playFrames < frames; guard++) {
    if (guard > frames + 100) throw new Error("the load stage did not end");
    web.step();
  }
}

async function headlessChecksum(frames: number, settings: WebGameSettings): Promise<string> {
  let out = "";
  const io = { stdout: (t: string) => void (out += t), stderr: (t: string) => void (out += t), isTTY: false, writeFile: () => {}, readFile: () => new Uint8Array() };
  const args = ["--frames", String(frames), "--warmup", "0", "--entities", String(settings.entities), "--seed", String(settings.seed), "--tracing", settings.tracing, "--quiet"];
  if (settings.debug) args.push("--debug");
  expect(await run(args, io)).toBe(0);
  const m = /checksum (0x[0-9a-f]{8})/.exec(out);
  if (m === null) throw new Error(`no checksum in the headless run's output:\n${out}`);
  return m[1]!;
}

describe("WebGame", () => {
  test.each([
    ["counts", false],
    ["callstacks", true],
  ] as const)("plays the headless sample's game: the checksum of `game-loop --warmup 0` (tracing %s, debug %s)", async (tracing, debug) => {
    const settings = { ...SETTINGS, tracing, debug };
    const web = new WebGame(settings);
    playTo(web, 45);
    const checksum = "0x" + web.game.summary().checksum.toString(16).padStart(8, "0");
    expect(await web.stop()).toBeUndefined();
    expect(checksum).toBe(await headlessChecksum(45, settings));
  });

  test("its report is what memreport reads, labelled with the settings", async () => {
    const web = new WebGame(SETTINGS);
    playTo(web, 10);
    const report = validateReport(JSON.parse(JSON.stringify(web.report())));
    expect(report.label).toBe("web-game --entities 300 --seed 7 --tracing counts (play frame 10)");
    expect(report.stages.map((s) => s.name)).toEqual(["load"]);
    expect(await web.stop()).toBeUndefined();
  });

  test("stop() unloads and shuts the memory down clean, during load or play; a new game can start after", async () => {
    for (const steps of [0, 3, 40]) {
      const web = new WebGame(SETTINGS);
      for (let i = 0; i < steps; i++) web.step();
      const stopping = web.stop();
      // Stopping has begun: no more frames, and a second stop() is the same outcome.
      expect(() => web.step()).toThrow(/stopped/);
      expect(web.stop()).toBe(stopping);
      expect(await stopping).toBeUndefined();
      expect([web.stopped, web.memory.alive]).toEqual([true, false]);
      expect(web.memory.stages.map((s) => s.name)).toEqual(["load", "play", "unload"]);
      expect(() => web.step()).toThrow(/stopped/);
      expect(await web.stop()).toBeUndefined();
    }
  });

  test("job workers without a shared memory are refused before any memory is made", () => {
    expect(() => new WebGame({ ...SETTINGS, workers: 2 })).toThrow(/2 job workers need a shared memory/);
    expect(MemoryGlobals.current).toBeUndefined();
  });

  test("the game's own --leak comes back from stop() as the LeakError naming root/audio and, with call stacks, the function", async () => {
    const web = new WebGame({ ...SETTINGS, tracing: "callstacks", leak: true });
    playTo(web, 5);
    expect(web.label()).toContain("--leak");
    const leak = await web.stop();
    expect(leak).toBeInstanceOf(LeakError);
    expect(leak!.message).toContain("root/audio");
    expect(leak!.message).toContain("Audio.loadVoiceBank");
    expect(MemoryGlobals.current).toBeUndefined();
  });

  test("memory left in a scope at stop() comes back as the LeakError naming it, and the memory is shut down", async () => {
    const web = new WebGame(SETTINGS);
    playTo(web, 5);
    const forgotten = web.game.audio.mem.allocate(96);
    const leak = await web.stop();
    expect(leak).toBeInstanceOf(LeakError);
    expect(leak!.message).toContain("root/audio");
    expect(leak!.message).toContain("0x" + forgotten.toString(16).padStart(8, "0"));
    expect(web.memory.alive).toBe(false);
    const next = new WebGame(SETTINGS);
    expect(await next.stop()).toBeUndefined();
  });
});
