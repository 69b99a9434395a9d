import { AllocatorError, destroyedError, type AddressSpace, type Ptr } from "@memkit/core";
import type { MemoryGlobals } from "@memkit/memory-globals";
import { ASSET_COUNT, ASSET_LOAD_FRAMES, DT, type GameConfig, type SimSummary, mix32, mixFloat } from "./config.js";
import { Ai } from "./ai.js";
import { Audio } from "./audio.js";
import { Engine } from "./engine.js";
import { checkGame } from "./game-check.js";
import { checkConfig, emptyGameState, freeRecord, readRecord, writeRecord, type GameState } from "./game-record.js";
import { Gameplay } from "./gameplay.js";
import { Level } from "./level.js";
import { Physics } from "./physics.js";
import { Render } from "./render.js";
import { LOAD_STEP_AUDIO, LOAD_STEP_LAST, LOAD_STEP_TERRAIN, LOAD_STEP_UNITS, type Simulation } from "./simulation.js";

/** The unload stage's frames: units, then the subsystems' containers, then the voice bank, then the level. */
const UNLOAD_STEP_LAST = 3;

/** Where a game is in its life: persist() saves a game only between play frames. */
const LOADING = 0;
const PLAYING = 1;
const UNLOADING = 2;

/**
 * The live game on each record, per address space: a restore ends the game
 * it takes over, so one game (and one handle per container) plays on one
 * record. Weak: a dropped game is simply collected.
 */
const games = new WeakMap<AddressSpace, Map<Ptr, WeakRef<MemkitGame>>>();

/**
 * What runs a frame's physics, HIT events and AI across threads instead of
 * on this one (`--workers N`: src/jobs/job-system.ts), giving the same game.
 */
export interface FrameJobs {
  step(game: MemkitGame): void;
}

/**
 * The sample game on memkit: six subsystems, each allocating only through its
 * own scope (plus frame and scratch memory), wired together here.
 *
 * A play frame:
 * ```
 * respawn -> physics (move, spatial hash, separation, bullets: HIT events)
 *         -> gameplay (damage: DEATH events) -> AI (sense, plan, steer)
 *         -> gameplay (fire: bullets, FIRE events) -> render (particles, draw list)
 *         -> audio (voices, mix) -> despawn the dead -> clear the events
 * ```
 */
export class MemkitGame implements Simulation {
  readonly kind = "memkit" as const;
  readonly memory: MemoryGlobals;
  readonly engine: Engine;
  readonly level: Level;
  readonly gameplay: Gameplay;
  readonly physics: Physics;
  readonly ai: Ai;
  readonly render: Render;
  readonly audio: Audio;
  /** When set, play frames run physics and AI through it (the job system of `--workers N`). */
  jobs: FrameJobs | undefined;
  /** Play frames played since the load stage ended (warm-up included); a restored game carries on counting. */
  framesPlayed = 0;
  #stage = LOADING;
  /** The record persist() wrote (0: none yet). */
  #record: Ptr = 0;
  /** True once a restore took this game over: it then refuses every call and frees nothing. */
  #takenOver = false;

  /**
   * A new game in `memory`, to load with loadFrame(). `saved` is for
   * {@link MemkitGame.restore}: the state read from a record, whose
   * containers and scopes the subsystems take over instead of creating them.
   */
  constructor(memory: MemoryGlobals, config: GameConfig, saved?: GameState) {
    this.memory = memory;
    this.engine = new Engine(memory, config, saved);
    this.level = new Level(this.engine, saved);
    this.gameplay = new Gameplay(this.engine, this.level, saved);
    this.physics = new Physics(this.engine, this.level, this.gameplay.events, saved);
    this.ai = new Ai(this.engine, this.level, this.physics, this.gameplay, saved);
    this.gameplay.attach(this.physics, this.ai);
    this.render = new Render(this.engine, this.level, this.physics, this.gameplay, saved);
    this.audio = new Audio(this.engine, this.gameplay.events, saved);
    if (saved !== undefined) {
      this.#stage = PLAYING;
      this.framesPlayed = saved.numbers["game.framesPlayed"];
    }
  }

  /**
   * Writes the game into its memory and returns the record's address: what
   * {@link MemkitGame.restore} rebuilds the game from, in this memory or in
   * a restored copy of it (`memory.save()`). Persists every container
   * (`container.persist()`) and writes a record (a small control block
   * "GAME" in the root scope, labelled "MemkitGame record") with their
   * descriptors, the random generator's state, the config and every counter
   * and hash the simulation carries.
   *
   * Call it between play frames — after the load stage has finished and a
   * playFrame() has returned (or none yet), before the next beginFrame() —
   * right before saving the memory: frame memory (contact pairs, draw lists,
   * the mix buffer) is not saved, and the record is a snapshot. Calling it
   * again rewrites the same record. The game plays on unchanged. The record
   * is freed when unload starts, or at teardown.
   */
  persist(): Ptr {
    this.#assertLive("persist");
    if (this.#stage !== PLAYING) {
      throw new AllocatorError(`MemkitGame.persist: persist() saves a game between play frames; this game is ${this.#stage === LOADING ? "loading" : "unloading"}.`);
    }
    const queued = this.gameplay.events.length;
    if (queued !== 0) {
      throw new AllocatorError(`MemkitGame.persist: persist() saves a game between play frames; ${queued} events of a frame are still queued. Call it after playFrame() returns.`);
    }
    const state = emptyGameState(this.engine.config, this.engine.rng.seed);
    state.numbers["game.framesPlayed"] = this.framesPlayed;
    this.level.saveState(state);
    this.gameplay.saveState(state);
    this.physics.saveState(state);
    this.ai.saveState(state);
    this.render.saveState(state);
    this.audio.saveState(state);
    const first = this.#record === 0;
    this.#record = writeRecord(this.memory.default, this.#record, state);
    if (first) MemkitGame.#claim(this.memory.space, this.#record, this);
    return this.#record;
  }

  /**
   * Rebuilds the game that {@link persist} wrote at `recordPtr`, in this
   * memory or in a restored copy of it: every subsystem takes its containers
   * over (their static restore) and opens its scope, the random generator
   * resumes, and every counter is back, so playing on gives exactly the game
   * an uninterrupted run plays. Once the record checks out, a game this
   * thread still held on it is taken over: it then throws DestroyedError and
   * its teardown frees nothing (the restored game owns every block).
   *
   * `config`, when given, must name the game that was saved (units, seed,
   * leak), else InvalidArgumentError; its `frames` is taken. A record that is
   * damaged, wrong or stale is a CorruptionError, and nothing changes. A
   * damaged container descriptor is a CorruptionError naming the container,
   * as is a game whose subsystems disagree (checkGame runs before the game
   * is returned); the memory is unchanged then too, but the old game has
   * ended: restore again once the memory is sound.
   */
  static restore(memory: MemoryGlobals, recordPtr: Ptr, config: Partial<GameConfig> = {}): MemkitGame {
    const who = "MemkitGame.restore";
    const saved = readRecord(memory.default, recordPtr, who);
    checkConfig(who, saved.config, config);
    // The subsystems take the containers over one by one: the old game ends now, whatever happens next.
    MemkitGame.#claim(memory.space, recordPtr, undefined);
    const game = new MemkitGame(memory, { ...saved.config, frames: config.frames ?? saved.config.frames }, saved);
    checkGame(game, who);
    game.#record = recordPtr;
    MemkitGame.#claim(memory.space, recordPtr, game);
    return game;
  }

  /** Throws CorruptionError unless the subsystems agree with each other (see checkGame). Between frames. */
  check(): void {
    this.#assertLive("check");
    checkGame(this, "MemkitGame.check");
  }

  loadFrame(step: number): boolean {
    this.#assertLive("loadFrame");
    const perFrame = ASSET_COUNT / ASSET_LOAD_FRAMES;
    const entities = this.engine.config.entities;
    if (step < LOAD_STEP_TERRAIN) {
      this.level.loadAssets(step * perFrame, (step + 1) * perFrame);
    } else if (step === LOAD_STEP_TERRAIN) {
      this.level.buildTerrain();
      this.level.buildFlowFields();
    } else if (step === LOAD_STEP_AUDIO) {
      this.audio.loadVoiceBank();
    } else if (step === LOAD_STEP_UNITS) {
      this.gameplay.spawnInitial(Math.floor(entities / 2));
    } else {
      this.gameplay.spawnInitial(entities - Math.floor(entities / 2));
    }
    // Nobody listens while loading: the spawn events are dropped.
    this.gameplay.events.clear();
    if (step < LOAD_STEP_LAST) return false;
    this.#stage = PLAYING;
    return true;
  }

  playFrame(): void {
    this.#assertLive("playFrame");
    this.gameplay.respawn();
    if (this.jobs === undefined) {
      this.physics.step(DT);
      this.gameplay.applyEvents();
      this.ai.update(DT);
    } else {
      this.jobs.step(this);
    }
    this.gameplay.combat(DT);
    this.render.update(DT);
    this.audio.update();
    this.gameplay.despawnDead();
    this.gameplay.events.clear();
    this.framesPlayed++;
  }

  unloadFrame(step: number): boolean {
    this.#assertLive("unloadFrame");
    if (step === 0) {
      // The record names containers unload frees: it goes first.
      this.#stage = UNLOADING;
      this.#dropRecord();
      this.gameplay.despawnAll();
      this.physics.clearBullets();
      this.gameplay.events.clear();
    } else if (step === 1) {
      this.gameplay.unload();
      this.render.unload();
      this.ai.unload();
      this.physics.unload();
    } else if (step === 2) {
      this.audio.unload();
    } else {
      this.level.unload();
    }
    return step >= UNLOAD_STEP_LAST;
  }

  summary(): SimSummary {
    this.#assertLive("summary");
    const { gameplay, physics, render, audio, level } = this;
    let hash = 0x811c9dc5;
    for (let i = 0; i < gameplay.units.length; i++) {
      hash = mixFloat(hash, physics.x.get(i));
      hash = mixFloat(hash, physics.y.get(i));
      hash = mixFloat(hash, gameplay.health.get(i));
      hash = mix32(hash, gameplay.kind.get(i) | (gameplay.team.get(i) << 8) | (gameplay.kills.get(i) << 16));
    }
    hash = mix32(hash, render.drawHash);
    hash = mix32(hash, audio.mixHash);
    hash = mix32(hash, level.assetHash);
    return {
      unitsAlive: gameplay.units.length,
      spawned: gameplay.spawned,
      died: gameplay.died,
      shots: gameplay.shots,
      hits: gameplay.hits,
      soundsPlayed: audio.soundsPlayed,
      particlesAlive: render.particles.length,
      bulletsAlive: physics.bullets.length,
      frames: this.framesPlayed,
      drawItems: render.drawItems,
      drawBatches: render.drawBatches,
      checksum: hash >>> 0,
    };
  }

  /**
   * Tears the subsystems down, gameplay first (its units hold records in
   * physics and AI), each one freeing its containers and then closing its
   * scope — the teardown assert. Every subsystem is torn down even when one
   * throws; the first error is rethrown (memory.shutdown() then reports every
   * scope still holding memory in one LeakError). The record goes first. A
   * game a restore took over frees nothing: the restored game owns it all.
   */
  [Symbol.dispose](): void {
    if (this.#takenOver) return;
    let first: unknown;
    let failed = false;
    try {
      this.#dropRecord();
    } catch (err) {
      first = err;
      failed = true;
    }
    for (const subsystem of [this.gameplay, this.audio, this.render, this.ai, this.physics, this.level]) {
      try {
        subsystem[Symbol.dispose]();
      } catch (err) {
        if (!failed) first = err;
        failed = true;
      }
    }
    if (failed) throw first;
  }

  /** Frees the record, if there is one (it would name containers about to be freed). */
  #dropRecord(): void {
    const record = this.#record;
    if (record === 0) return;
    freeRecord(this.memory.default, record);
    this.#record = 0;
    const byPtr = games.get(this.memory.space);
    if (byPtr?.get(record)?.deref() === this) byPtr.delete(record);
  }

  #assertLive(what: string): void {
    if (this.#takenOver) throw destroyedError(`MemkitGame.${what}`, "MemkitGame.restore took this game over", "play the game restore() returned.");
  }

  /** Lists `game` (or none) as the live game on the record at `ptr`, ending the one listed before (if any) without freeing anything. */
  static #claim(space: AddressSpace, ptr: Ptr, game: MemkitGame | undefined): void {
    let byPtr = games.get(space);
    if (byPtr === undefined) games.set(space, (byPtr = new Map<Ptr, WeakRef<MemkitGame>>()));
    const previous = byPtr.get(ptr)?.deref();
    if (game === undefined) byPtr.delete(ptr);
    else byPtr.set(ptr, new WeakRef(game));
    if (previous !== undefined && previous !== game) {
      previous.#takenOver = true;
      previous.#record = 0;
    }
  }
}
