import { afterEach, describe, expect, test } from "vitest";
import { LeakError } from "@memkit/core";
import type { MemoryGlobals } from "@memkit/memory-globals";
import { BaselineGame, EngineStages, MemkitGame, NO_STAGE_HOOKS, SUBSYSTEMS, budgetFor, initEngineMemory } from "../src/index.js";
import type { Simulation, StageHooks } from "../src/index.js";
import type { GameConfig } from "../src/game/config.js";

let memory: MemoryGlobals | undefined;
afterEach(() => {
  if (memory?.alive) {
    try {
      memory.shutdown();
    } catch {
      // a failed test may leave memory behind; the next test needs a fresh init
    }
  }
  memory = undefined;
});

/** The memkit game's frame hooks (memory.beginFrame), or none for the baseline. */
function hooksOf(sim: Simulation): StageHooks {
  return sim.kind === "memkit" ? stages! : NO_STAGE_HOOKS;
}

let stages: EngineStages | undefined;

function load(sim: Simulation): number {
  let step = 0;
  for (;;) {
    hooksOf(sim).beginFrame();
    if (sim.loadFrame(step++)) return step;
  }
}

function play(sim: Simulation, frames: number): void {
  for (let f = 0; f < frames; f++) {
    hooksOf(sim).beginFrame();
    sim.playFrame();
  }
}

function unload(sim: Simulation): void {
  for (let step = 0; ; step++) {
    hooksOf(sim).beginFrame();
    if (sim.unloadFrame(step)) return;
  }
}

function memkitGame(config: GameConfig, tracing: "off" | "counts" | "callstacks" = "counts"): MemkitGame {
  memory = initEngineMemory({ entities: config.entities, tracing, debug: false });
  stages = new EngineStages(memory);
  return new MemkitGame(memory, config);
}

/** Every unit's records line up: its handle maps to its dense index in gameplay, physics and AI. */
function checkConsistent(game: MemkitGame): void {
  const { gameplay, physics, ai } = game;
  const n = gameplay.units.length;
  expect(physics.bodies.length).toBe(n);
  expect(ai.brains.length).toBe(n);
  expect(gameplay.entities.size).toBe(n);
  expect(gameplay.team0 + gameplay.team1).toBe(n);
  for (let i = 0; i < n; i++) {
    const handle = gameplay.handle.get(i);
    expect(gameplay.entities.isAlive(handle)).toBe(true);
    expect(gameplay.dense.get(handle)).toBe(i);
    expect(physics.handle.get(i)).toBe(handle);
    expect(physics.team.get(i)).toBe(gameplay.team.get(i));
  }
  expect(gameplay.events.length).toBe(0);
}

describe("the memkit game", () => {
  test("keeps every unit's handle, dense index and records consistent through spawns and deaths", () => {
    const game = memkitGame({ frames: 200, entities: 400, seed: 3, leak: false });
    load(game);
    checkConsistent(game);
    for (let block = 0; block < 10; block++) {
      play(game, 20);
      checkConsistent(game);
    }
    const s = game.summary();
    // A real battle happened: shots, hits, deaths and respawns, particles and sounds.
    expect(s.died).toBeGreaterThan(0);
    expect(s.spawned).toBe(400 + s.died - (400 - s.unitsAlive));
    expect(s.shots).toBeGreaterThan(s.hits);
    expect(s.hits).toBeGreaterThan(0);
    expect(s.soundsPlayed).toBeGreaterThan(0);
    expect(game.ai.plans).toBeGreaterThan(0);
    expect(game.physics.contactCount).toBeGreaterThan(0);
    expect(game.audio.peakVoices).toBeLessThanOrEqual(32);
    memory!.check();
    unload(game);
    game[Symbol.dispose]();
    memory!.shutdown();
  });

  test("each subsystem allocates through its own scope; after unload every scope is empty", () => {
    const game = memkitGame({ frames: 60, entities: 200, seed: 1, leak: false });
    load(game);
    play(game, 60);
    const report = memory!.report();
    expect(report.children.map((c) => c.name).sort()).toEqual([...SUBSYSTEMS].sort());
    for (const child of report.children) {
      expect(child.totalLiveBytes, child.path).toBeGreaterThan(0);
      expect(child.budgetBytes).toBe(budgetFor(child.name as (typeof SUBSYSTEMS)[number], 200));
    }
    expect(memory!.default.stats().liveBytes).toBe(0); // nothing allocated in the root itself
    unload(game);
    for (const child of memory!.report().children) {
      expect(child.totalLiveBytes, child.path).toBe(0);
    }
    game[Symbol.dispose]();
    memory!.shutdown();
  });

  test("stages record the heaviest moment per scope: the level peaks while loading, AI paths while playing", () => {
    const game = memkitGame({ frames: 60, entities: 300, seed: 2, leak: false });
    const hooks = stages!;
    hooks.beginStage("load");
    load(game);
    hooks.endStage();
    hooks.beginStage("play");
    play(game, 60);
    hooks.endStage();
    hooks.beginStage("unload");
    unload(game);
    hooks.endStage();
    const [loadStage, playStage, unloadStage] = memory!.stages;
    const at = (stage: typeof loadStage, path: string) => stage!.scopes.find((s) => s.path === path)!;
    expect(at(loadStage, "root/level").allocCount).toBeGreaterThanOrEqual(48);
    expect(at(playStage, "root/level").allocCount).toBe(0);
    expect(at(playStage, "root/ai").peakLiveBytes).toBeGreaterThan(at(loadStage, "root/ai").peakLiveBytes);
    expect(at(unloadStage, "root/level").liveBytes).toBe(0);
    expect(hooks.temp.map((t) => t.name)).toEqual(["load", "play", "unload"]);
    const playTemp = hooks.temp[1]!;
    expect(playTemp.frameAllocs).toBe(60 * 5); // contacts, draw keys, draw payloads, AI candidates, the audio mix
    expect(playTemp.framePeakBytes).toBeGreaterThan(0);
    expect(playTemp.scratchAllocs).toBe(60 * 3); // the radix sort's two buffers and its counters
    game[Symbol.dispose]();
    memory!.shutdown();
  });

  test("with leak: true the audio scope's teardown assert throws, and shutdown reports the block under root/audio", () => {
    const game = memkitGame({ frames: 10, entities: 50, seed: 1, leak: true }, "callstacks");
    load(game);
    play(game, 10);
    unload(game);
    let disposeError: unknown;
    try {
      game[Symbol.dispose]();
    } catch (err) {
      disposeError = err;
    }
    expect(disposeError).toBeInstanceOf(LeakError);
    expect((disposeError as LeakError).message).toMatch(/^scope root\/audio leaked 1 block \(86\.1 KiB\)/);
    let shutdownError: unknown;
    try {
      memory!.shutdown();
    } catch (err) {
      shutdownError = err;
    }
    expect(shutdownError).toBeInstanceOf(LeakError);
    const leak = shutdownError as LeakError;
    expect(leak.report.blocks).toHaveLength(1);
    expect(leak.report.blocks[0]).toMatchObject({ scope: "root/audio", size: 88_200 });
    expect(leak.report.blocks[0]!.stack).toMatch(/loadVoiceBank/);
  });
});

describe("memkit and the plain-JS baseline", () => {
  test.each([
    [1, 300],
    [7, 250],
    [42, 500],
  ])("simulate exactly the same game (seed %i, %i units)", (seed, entities) => {
    const config: GameConfig = { frames: 150, entities, seed, leak: false };
    const game = memkitGame(config);
    using baseline = new BaselineGame(config);
    expect(load(game)).toBe(load(baseline));
    for (let block = 0; block < 5; block++) {
      play(game, 30);
      play(baseline, 30);
      expect(game.summary()).toEqual(baseline.summary());
    }
    expect(game.summary().died).toBeGreaterThan(0);
    unload(game);
    unload(baseline);
    game[Symbol.dispose]();
    memory!.shutdown();
  });
});
