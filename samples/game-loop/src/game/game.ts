import type { MemoryGlobals } from "@memkit/memory-globals";
import { ASSET_COUNT, ASSET_LOAD_FRAMES, DT, type GameConfig, type SimSummary, mix32, mixFloat } from "./config.js";
import { Ai } from "./ai.js";
import { Audio } from "./audio.js";
import { Engine } from "./engine.js";
import { Gameplay } from "./gameplay.js";
import { Level } from "./level.js";
import { Physics } from "./physics.js";
import { Render } from "./render.js";
import { LOAD_STEP_AUDIO, LOAD_STEP_LAST, LOAD_STEP_TERRAIN, LOAD_STEP_UNITS, type Simulation } from "./simulation.js";

/** The unload stage's frames: units, then the subsystems' containers, then the voice bank, then the level. */
const UNLOAD_STEP_LAST = 3;

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

  constructor(memory: MemoryGlobals, config: GameConfig) {
    this.memory = memory;
    this.engine = new Engine(memory, config);
    this.level = new Level(this.engine);
    this.gameplay = new Gameplay(this.engine, this.level);
    this.physics = new Physics(this.engine, this.level, this.gameplay.events);
    this.ai = new Ai(this.engine, this.level, this.physics, this.gameplay);
    this.gameplay.attach(this.physics, this.ai);
    this.render = new Render(this.engine, this.level, this.physics, this.gameplay);
    this.audio = new Audio(this.engine, this.gameplay.events);
  }

  loadFrame(step: number): boolean {
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
    return step >= LOAD_STEP_LAST;
  }

  playFrame(): void {
    this.gameplay.respawn();
    this.physics.step(DT);
    this.gameplay.applyEvents();
    this.ai.update(DT);
    this.gameplay.combat(DT);
    this.render.update(DT);
    this.audio.update();
    this.gameplay.despawnDead();
    this.gameplay.events.clear();
  }

  unloadFrame(step: number): boolean {
    if (step === 0) {
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
   * scope still holding memory in one LeakError).
   */
  [Symbol.dispose](): void {
    let first: unknown;
    let failed = false;
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
}
