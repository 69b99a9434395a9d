import { afterEach, describe, expect, test } from "vitest";
import { CorruptionError, DestroyedError, InvalidArgumentError, sealControl } from "@memkit/core";
import type { MemoryGlobals, TracingLevel } from "@memkit/memory-globals";
import { EngineStages, MemkitGame, drive, initEngineMemory } from "../src/index.js";
import { GcObserver } from "../src/stats/gc-observer.js";
import type { GameConfig, SimSummary } from "../src/index.js";
import { EVENT_SPAWN } from "../src/game/config.js";
import { GAME_RECORD_BYTES, GAME_RECORD_LAYOUT } from "../src/game/game-record.js";

/*
 * Issue #13 point 4, in-process: play N frames, persist the game into its
 * memory, drop every JS handle of it, restore it from the record over the same
 * memory, play M more frames: the game ends exactly where a straight run of
 * N + M frames ends.
 */

let memory: MemoryGlobals | undefined;
let stages: EngineStages | undefined;
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

function start(config: GameConfig, tracing: TracingLevel = "counts", debug = false): MemkitGame {
  memory = initEngineMemory({ entities: config.entities, tracing, debug });
  stages = new EngineStages(memory);
  const game = new MemkitGame(memory, config);
  for (let step = 0; ; step++) {
    stages.beginFrame();
    if (game.loadFrame(step)) return game;
  }
}

function play(game: MemkitGame, frames: number): void {
  for (let f = 0; f < frames; f++) {
    stages!.beginFrame();
    game.playFrame();
  }
}

/** Unloads, disposes and shuts the memory down: throws if anything (record, descriptors, blocks) is still held. */
function finish(game: MemkitGame): void {
  for (let step = 0; ; step++) {
    stages!.beginFrame();
    if (game.unloadFrame(step)) break;
  }
  game[Symbol.dispose]();
  memory!.shutdown();
}

/** A straight run of `frames` frames: its summary, then a clean shutdown. */
function straight(config: GameConfig, frames: number): SimSummary {
  const game = start(config);
  play(game, frames);
  const summary = game.summary();
  finish(game);
  return summary;
}

/** The bytes of the record at `ptr`. */
function recordBytes(ptr: number): Uint8Array {
  return memory!.space.u8.slice(ptr, ptr + GAME_RECORD_BYTES);
}

describe("MemkitGame.persist / MemkitGame.restore", () => {
  test.each([
    // seed, units, N frames before the save, M after
    [1, 300, 40, 40],
    [7, 250, 0, 30], // saved right after the load stage, before any play frame
    [42, 400, 1, 59],
    [3, 200, 75, 5],
  ])("seed %i, %i units: N = %i frames, persist, restore, M = %i frames == a straight N + M run", (seed, entities, n, m) => {
    const config: GameConfig = { frames: n + m, entities, seed, leak: false };
    const expected = straight(config, n + m);

    const old = start(config);
    play(old, n);
    const record = old.persist();
    // From here on the game is the record and the memory (the old handle is only used to see it refuse).
    const restored = MemkitGame.restore(memory!, record, config);
    expect(restored.framesPlayed).toBe(n);
    play(restored, m);
    expect(restored.summary()).toEqual(expected);
    expect(restored.framesPlayed).toBe(n + m);
    memory!.check();
    // The old handle was taken over: it refuses to play, and its teardown frees nothing the restored game owns.
    expect(() => old.playFrame()).toThrow(DestroyedError);
    expect(() => old.summary()).toThrow(/MemkitGame.restore took this game over/);
    old[Symbol.dispose]();
    // The restored game tears down clean: its record and every descriptor are freed with it.
    finish(restored);
  });

  test("persisting again reuses the record; persist without a restore does not change the game; two round trips in a row", () => {
    const config: GameConfig = { frames: 90, entities: 250, seed: 11, leak: false };
    const expected = straight(config, 90);
    const game = start(config);
    play(game, 20);
    const first = game.persist();
    play(game, 20); // an autosave: the game plays on after persist
    expect(game.persist()).toBe(first);
    const second = MemkitGame.restore(memory!, first, config);
    play(second, 25);
    const third = MemkitGame.restore(memory!, second.persist(), config);
    expect(() => second.playFrame()).toThrow(DestroyedError);
    play(third, 25);
    expect(third.summary()).toEqual(expected);
    finish(third);
  });

  test.each([
    ["off", false],
    ["callstacks", false],
    ["counts", true],
  ] as const)("tracing %s, debug %s: the same game after a round trip, and a clean teardown", (tracing, debug) => {
    const config: GameConfig = { frames: 50, entities: 200, seed: 5, leak: false };
    const expected = straight(config, 50);
    const game = start(config, tracing, debug);
    play(game, 30);
    const restored = MemkitGame.restore(memory!, game.persist());
    play(restored, 20);
    expect(restored.summary()).toEqual(expected);
    if (debug) memory!.check();
    finish(restored);
  });

  test("the record is filed in the root scope under its label, and freed when unload starts", () => {
    const game = start({ frames: 10, entities: 100, seed: 2, leak: false });
    play(game, 5);
    const root = memory!.default;
    const before = root.stats().liveCount;
    const record = game.persist();
    expect(root.owns(record)).toBe(true);
    expect(root.stats().liveCount).toBe(before + 1);
    expect(memory!.formatReport()).toContain("MemkitGame record");
    stages!.beginFrame();
    game.unloadFrame(0);
    expect(root.owns(record)).toBe(false);
    expect(() => MemkitGame.restore(memory!, record)).toThrow(CorruptionError);
    for (let step = 1; ; step++) {
      stages!.beginFrame();
      if (game.unloadFrame(step)) break;
    }
    game[Symbol.dispose]();
    memory!.shutdown();
  });

  test("teardown without unload (a failed run) frees the record and the descriptors too", () => {
    const game = start({ frames: 10, entities: 100, seed: 2, leak: false });
    play(game, 5);
    MemkitGame.restore(memory!, game.persist())[Symbol.dispose]();
    memory!.shutdown();
  });

  test("persist is refused outside play and between the steps of a frame", () => {
    memory = initEngineMemory({ entities: 100, tracing: "counts", debug: false });
    stages = new EngineStages(memory);
    const game = new MemkitGame(memory, { frames: 10, entities: 100, seed: 1, leak: false });
    stages.beginFrame();
    game.loadFrame(0);
    expect(() => game.persist()).toThrow(/persist\(\) saves a game between play frames; this game is loading/);
    for (let step = 1; !game.loadFrame(step); step++) stages.beginFrame();
    play(game, 3);
    // Mid-frame: events posted and not yet cleared are frame state the record does not hold.
    game.gameplay.events.post(EVENT_SPAWN, 0, 0, 0, game.physics.bodies.ptr >>> 3);
    expect(() => game.persist()).toThrow(/between play frames/);
    game.gameplay.events.clear();
    stages.beginFrame();
    game.unloadFrame(0);
    expect(() => game.persist()).toThrow(/this game is unloading/);
    game[Symbol.dispose]();
    memory.shutdown();
  });
});

describe("restoring a damaged or wrong record", () => {
  test("every flipped bit of the record is a CorruptionError, and the game and its record are unharmed", () => {
    const config: GameConfig = { frames: 60, entities: 200, seed: 9, leak: false };
    const expected = straight(config, 60);
    const game = start(config);
    play(game, 30);
    const record = game.persist();
    const u8 = memory!.space.u8;
    const pristine = recordBytes(record);
    for (let byte = 0; byte < GAME_RECORD_BYTES; byte++) {
      const bit = 1 << (byte * 5) % 8;
      u8[record + byte] = u8[record + byte]! ^ bit;
      let error: unknown;
      try {
        MemkitGame.restore(memory!, record, config);
      } catch (err) {
        error = err;
      }
      u8[record + byte] = u8[record + byte]! ^ bit;
      expect(error, `byte ${byte}`).toBeInstanceOf(CorruptionError);
    }
    expect(recordBytes(record)).toEqual(pristine);
    // Nothing was taken over by the refused restores: the original game plays on, the same game.
    play(game, 30);
    expect(game.summary()).toEqual(expected);
    finish(game);
  });

  test("a forged record, sealed again, is still refused word by word (ranges, stage, flags, containers)", () => {
    const config: GameConfig = { frames: 20, entities: 150, seed: 4, leak: false };
    const game = start(config);
    play(game, 10);
    const record = game.persist();
    const u32 = memory!.space.u32;
    const f64 = memory!.space.f64;
    const w = record >>> 2;
    const forge = (edit: () => void, message: RegExp): void => {
      const pristine = recordBytes(record);
      edit();
      sealControl(memory!.space, record, GAME_RECORD_LAYOUT);
      expect(() => MemkitGame.restore(memory!, record, config)).toThrow(CorruptionError);
      expect(() => MemkitGame.restore(memory!, record, config)).toThrow(message);
      memory!.space.u8.set(pristine, record);
    };
    forge(() => (u32[w + 4] = 0), /stage/); // loading
    forge(() => (u32[w + 5] = 0), /entities/);
    forge(() => (u32[w + 7] = 6), /flags/);
    forge(() => (u32[w + 10] = 0), /level.tiles/); // the first container: none
    // Refused at the record: the game is untouched.
    expect(game.summary().unitsAlive).toBe(150);
    forge(() => (u32[w + 10] = u32[w + 11]!), /level.tiles/); // the flow field (a DynamicArray<i32>) where the tiles (u8) should be
    forge(() => (u32[w + 13] = u32[w + 14]!), /level.assets/); // the asset index (a HashMap) where the assets (a StructArray) should be
    // Refused past the record (some containers were taken over): the old game has ended, the record restores once sound.
    expect(() => game.summary()).toThrow(DestroyedError);
    const numbers = (record >>> 3) + 14;
    forge(() => (f64[numbers] = -1), /game.framesPlayed/);
    forge(() => (f64[numbers + 1] = 2 ** 31), /level.assetHash/);
    forge(() => (f64[numbers + 2] = 0.5), /gameplay.spawned/);
    forge(() => (f64[numbers + 6] = f64[numbers + 6]! + 1), /team/); // team counts no longer match the units
    // Refused restores changed nothing: the record still restores.
    const restored = MemkitGame.restore(memory!, record, config);
    play(restored, 10);
    finish(restored);
  });

  test("a pointer that is not a record: CorruptionError; not a number: InvalidArgumentError; another game's config: InvalidArgumentError", () => {
    const config: GameConfig = { frames: 20, entities: 150, seed: 4, leak: false };
    const game = start(config);
    play(game, 5);
    const record = game.persist();
    expect(() => MemkitGame.restore(memory!, 0)).toThrow(CorruptionError);
    expect(() => MemkitGame.restore(memory!, record + 8)).toThrow(CorruptionError);
    expect(() => MemkitGame.restore(memory!, game.physics.bodies.descriptorPtr)).toThrow(/no MemkitGame record .* found magic "SARR"/);
    expect(() => MemkitGame.restore(memory!, "0x100" as unknown as number)).toThrow(InvalidArgumentError);
    // A faithful copy of the record (sealed and all) in a block of another scope: not where persist() files records.
    const copy = game.physics.mem.allocate(GAME_RECORD_BYTES);
    memory!.space.u8.set(recordBytes(record), copy);
    expect(() => MemkitGame.restore(memory!, copy)).toThrow(/is not a live block of the root scope/);
    game.physics.mem.deallocate(copy);
    expect(() => MemkitGame.restore(memory!, record, { entities: 151 })).toThrow(InvalidArgumentError);
    expect(() => MemkitGame.restore(memory!, record, { seed: 5 })).toThrow(/saved with seed 4/);
    expect(() => MemkitGame.restore(memory!, record, { leak: true })).toThrow(InvalidArgumentError);
    // The original game is untouched by the refusals.
    play(game, 5);
    finish(game);
  });
});

describe("driving a restored game", () => {
  test("drive() with loaded: true plays it on from where it was (no load stage): the same game as a straight run", async () => {
    using gc = new GcObserver();
    const config: GameConfig = { frames: 30, entities: 200, seed: 8, leak: false };
    memory = initEngineMemory({ entities: 200, tracing: "counts", debug: false });
    stages = new EngineStages(memory);
    const mem = memory;
    const straightRun = await drive(() => new MemkitGame(mem, config), stages, { frames: 30, warmup: 15, gc, progress: undefined, label: "straight" });
    straightRun.sim[Symbol.dispose]();
    memory.shutdown();

    const game = start(config);
    play(game, 25);
    const record = game.persist();
    const resumed = memory;
    const run = await drive(() => MemkitGame.restore(resumed, record), stages, { frames: 15, warmup: 5, gc, progress: undefined, label: "restored", loaded: true });
    expect(run.summary).toEqual(straightRun.summary);
    expect(run.stages.map((s) => [s.name, s.frames])).toEqual([
      ["restore", 0],
      ["warmup", 5],
      ["play", 15],
      ["unload", 4],
    ]);
    expect(memory.stages.map((s) => s.name)).toEqual(["warmup", "play", "unload"]);
    run.sim[Symbol.dispose]();
    memory.shutdown();
  });
});
