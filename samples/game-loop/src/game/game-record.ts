import {
  CONTROL_BLOCK_HEADER_WORDS,
  CorruptionError,
  InvalidArgumentError,
  hex,
  initControl,
  openControl,
  retireControl,
  sealControl,
  type ControlLayout,
  type Ptr,
} from "@memkit/core";
import type { TraceAllocator } from "@memkit/trace-allocator";
import { MAX_ENTITIES, type GameConfig } from "./config.js";

/*
 * The game record: what `MemkitGame.persist()` writes into memory so that
 * `MemkitGame.restore(memory, recordPtr)` can rebuild the game from memory
 * alone. The game's bulk state is already in memory (container blocks, paths,
 * inventories, assets, the voice bank); the record holds what the JS objects
 * keep: every container's descriptor (`container.persist()`), the random
 * generator's state, the config and every counter and hash the simulation
 * carries from frame to frame. Frame memory (contact pairs, draw lists, the
 * AI's candidates, the audio mix) is rebuilt every frame and is not saved, so
 * a record is written between two play frames.
 *
 * A control block in core's sense ("GAME"), allocated from the root scope
 * under the label "MemkitGame record". persist() rewrites every word and
 * seals again, so the seal covers all of them: any damage is a
 * CorruptionError at restore, before anything is taken over. Restore still
 * range-checks every word, and each container's restore checks its own
 * descriptor, so a forged record that was sealed again is refused too.
 *
 *   +0..3    core header: magic "GAME", version, bytes, seal
 *   +4       stage        1: playing (the one stage persist() accepts)
 *   +5       entities     } the config the game was started with
 *   +6       seed         }
 *   +7       flags        } bit 0: leak (the --leak demonstration)
 *   +8       frames       }
 *   +9       rng          the random generator's state (SeededRandom.seed)
 *   +10..27  containers   descriptor pointers, in RECORD_CONTAINERS order
 *   +28..    numbers      float64 each (exact integers), in RECORD_NUMBERS order
 */

/** The containers the game persists, in record order: subsystem, then the container's field. */
export const RECORD_CONTAINERS = [
  "level.tiles",
  "level.flow",
  "level.spawns",
  "level.assets",
  "level.assetIndex",
  "gameplay.events",
  "gameplay.entities",
  "gameplay.units",
  "physics.bodies",
  "physics.bullets",
  "physics.grid",
  "physics.next",
  "ai.brains",
  "render.particles",
  "audio.bank",
  "audio.voices",
  "audio.active",
  "audio.starts",
] as const;

/** A count: an integer from 0 to 2^53. */
const COUNT = 0;
/** A hash folded with mix32: an int32. */
const HASH = 1;

/** The numbers the simulation carries from frame to frame, in record order. */
export const RECORD_NUMBERS = [
  ["game.framesPlayed", COUNT],
  ["level.assetHash", HASH],
  ["gameplay.spawned", COUNT],
  ["gameplay.died", COUNT],
  ["gameplay.shots", COUNT],
  ["gameplay.hits", COUNT],
  ["gameplay.team0", COUNT],
  ["gameplay.team1", COUNT],
  ["gameplay.eventsPosted", COUNT],
  ["physics.contactCount", COUNT],
  ["ai.senses", COUNT],
  ["ai.plans", COUNT],
  ["render.drawItems", COUNT],
  ["render.drawBatches", COUNT],
  ["render.drawHash", HASH],
  ["audio.soundsPlayed", COUNT],
  ["audio.voicesStolen", COUNT],
  ["audio.peakVoices", COUNT],
  ["audio.mixHash", HASH],
] as const;

export type ContainerSlot = (typeof RECORD_CONTAINERS)[number];
export type NumberSlot = (typeof RECORD_NUMBERS)[number][0];

/** The stage word of a record written between two play frames. */
export const STAGE_PLAYING = 1;
const FLAG_LEAK = 1;

const W_STAGE = CONTROL_BLOCK_HEADER_WORDS;
const W_ENTITIES = W_STAGE + 1;
const W_SEED = W_STAGE + 2;
const W_FLAGS = W_STAGE + 3;
const W_FRAMES = W_STAGE + 4;
const W_RNG = W_STAGE + 5;
const W_CONTAINERS = W_STAGE + 6;
/** The first number's u32 word (8-aligned: numbers are float64). */
const W_NUMBERS = (W_CONTAINERS + RECORD_CONTAINERS.length + 1) & ~1;
const RECORD_WORDS = W_NUMBERS + 2 * RECORD_NUMBERS.length;

/** Bytes of a game record. */
export const GAME_RECORD_BYTES = RECORD_WORDS * 4;

/** The record's control layout: every word after the header is sealed (persist() rewrites them all). */
export const GAME_RECORD_LAYOUT: ControlLayout = Object.freeze({
  kind: "MemkitGame record",
  magic: "GAME",
  version: 1,
  fixedWords: RECORD_WORDS - CONTROL_BLOCK_HEADER_WORDS,
});

/** The label the record is filed under in the root scope's reports. */
export const GAME_RECORD_LABEL = "MemkitGame record";

/** What a record holds, as JS values: what persist() gathers and restore() hands to the subsystems (cold paths only). */
export interface GameState {
  /** The config the game was started with (`frames` as recorded). */
  config: GameConfig;
  /** The random generator's state. */
  rng: number;
  containers: Record<ContainerSlot, Ptr>;
  numbers: Record<NumberSlot, number>;
}

/** A state to fill in: every container 0 and every number NaN until a subsystem saves it. */
export function emptyGameState(config: GameConfig, rng: number): GameState {
  const containers = {} as Record<ContainerSlot, Ptr>;
  for (const slot of RECORD_CONTAINERS) containers[slot] = 0;
  const numbers = {} as Record<NumberSlot, number>;
  for (const [slot] of RECORD_NUMBERS) numbers[slot] = NaN;
  return { config, rng, containers, numbers };
}

/**
 * Writes `state` into the record at `ptr` (allocating one from `root` when
 * `ptr` is 0) and seals it; returns the record's address. Throws when a
 * subsystem left a slot unsaved (a bug in the sample, not in the data).
 */
export function writeRecord(root: TraceAllocator, ptr: Ptr, state: GameState): Ptr {
  for (const slot of RECORD_CONTAINERS) if (state.containers[slot] === 0) throw new Error(`MemkitGame.persist: container ${slot} was not persisted.`);
  for (const [slot] of RECORD_NUMBERS) if (Number.isNaN(state.numbers[slot])) throw new Error(`MemkitGame.persist: number ${slot} was not saved.`);
  const space = root.space;
  const record = ptr !== 0 ? ptr : root.allocate(GAME_RECORD_BYTES, 8, root.labelId(GAME_RECORD_LABEL));
  initControl(space, record, GAME_RECORD_LAYOUT, GAME_RECORD_BYTES);
  const u32 = space.u32;
  const w = record >>> 2;
  const { config } = state;
  u32[w + W_STAGE] = STAGE_PLAYING;
  u32[w + W_ENTITIES] = config.entities;
  u32[w + W_SEED] = config.seed;
  u32[w + W_FLAGS] = config.leak ? FLAG_LEAK : 0;
  u32[w + W_FRAMES] = config.frames;
  u32[w + W_RNG] = state.rng;
  RECORD_CONTAINERS.forEach((slot, i) => (u32[w + W_CONTAINERS + i] = state.containers[slot]));
  const f64 = space.f64;
  RECORD_NUMBERS.forEach(([slot], i) => (f64[((record + W_NUMBERS * 4) >>> 3) + i] = state.numbers[slot]));
  sealControl(space, record, GAME_RECORD_LAYOUT);
  return record;
}

/**
 * Reads and checks the record at `ptr`, a live block of `root`. A pointer
 * that is not an integer is an InvalidArgumentError; anything wrong in
 * memory — not a record, a broken seal, a word out of range — is a
 * CorruptionError naming what was found. Changes nothing.
 */
export function readRecord(root: TraceAllocator, ptr: Ptr, who: string): GameState {
  const space = root.space;
  openControl(space, ptr, GAME_RECORD_LAYOUT, who, [GAME_RECORD_BYTES, GAME_RECORD_BYTES]);
  if (ptr % 8 !== 0 || !root.owns(ptr)) {
    throw new CorruptionError(`${who}: the record at ${hex(ptr)} is not a live block of the root scope, where persist() files it.`);
  }
  const u32 = space.u32;
  const w = ptr >>> 2;
  const word = (at: number, name: string, min: number, max: number): number => {
    const value = u32[w + at]!;
    if (value < min || value > max) throw new CorruptionError(`${who}: the record at ${hex(ptr)} is damaged: ${name} holds ${value}, outside ${min}..${max}.`);
    return value;
  };
  word(W_STAGE, "stage", STAGE_PLAYING, STAGE_PLAYING);
  const config: GameConfig = {
    entities: word(W_ENTITIES, "entities", 1, MAX_ENTITIES),
    seed: u32[w + W_SEED]!,
    leak: (word(W_FLAGS, "flags", 0, FLAG_LEAK) & FLAG_LEAK) !== 0,
    frames: u32[w + W_FRAMES]!,
  };
  const state = emptyGameState(config, u32[w + W_RNG]!);
  const end = space.byteLength;
  RECORD_CONTAINERS.forEach((slot, i) => (state.containers[slot] = word(W_CONTAINERS + i, slot, 8, end - 8)));
  const f64 = space.f64;
  RECORD_NUMBERS.forEach(([slot, kind], i) => {
    const value = f64[((ptr + W_NUMBERS * 4) >>> 3) + i]!;
    const ok = kind === COUNT ? Number.isSafeInteger(value) && value >= 0 : Number.isInteger(value) && (value | 0) === value;
    if (!ok) throw new CorruptionError(`${who}: the record at ${hex(ptr)} is damaged: ${slot} holds ${value}, not ${kind === COUNT ? "a count" : "an int32 hash"}.`);
    state.numbers[slot] = value;
  });
  return state;
}

/**
 * Restores one container from its slot: `open(ptr)` is the container's
 * static restore. Its CorruptionError is given the slot's name, so a message
 * says which of the game's containers did not restore.
 */
export function restoreContainer<T>(state: GameState, slot: ContainerSlot, open: (ptr: Ptr) => T): T {
  try {
    return open(state.containers[slot]);
  } catch (err) {
    if (err instanceof CorruptionError) throw new CorruptionError(`MemkitGame.restore: container ${slot}: ${err.message}`);
    throw err;
  }
}

/** Throws InvalidArgumentError when `expected` names a config the record was not saved with (`frames` may differ: it is the run's length, not the game's). */
export function checkConfig(who: string, recorded: GameConfig, expected: Partial<GameConfig>): void {
  for (const key of ["entities", "seed", "leak"] as const) {
    const want = expected[key];
    if (want !== undefined && want !== recorded[key]) {
      throw new InvalidArgumentError(
        `${who}: the game was saved with ${key === "entities" ? `${recorded.entities} units` : `${key} ${String(recorded[key])}`}, ` +
          `not ${key === "entities" ? `${String(want)} units` : `${key} ${String(want)}`}; restore it with the config it was saved with.`,
      );
    }
  }
}

/** Retires the record at `ptr` (a later restore from a stale pointer is refused) and frees it. */
export function freeRecord(root: TraceAllocator, ptr: Ptr): void {
  const u32 = root.space.u32;
  const magic = u32[ptr >>> 2]!;
  retireControl(root.space, ptr);
  try {
    root.deallocate(ptr);
  } catch (err) {
    u32[ptr >>> 2] = magic; // the free was refused: the record stays as it was
    throw err;
  }
}
