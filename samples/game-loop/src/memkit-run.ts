import { LeakError } from "@memkit/core";
import { startRecord, writeRecord } from "./alloc-record.js";
import type { MemoryGlobals, MemoryReport, ThreadReport } from "@memkit/memory-globals";
import type { GameArgs } from "./cli-args.js";
import { drive } from "./driver.js";
import { EngineStages, initEngineMemory } from "./engine-memory.js";
import type { GameConfig } from "./game/config.js";
import { MemkitGame } from "./game/game.js";
import { JobSystem } from "./jobs/job-system.js";
import { restoreGame, saveGame } from "./memory-save.js";
import type { MemkitOutcome } from "./output.js";
import type { GcObserver } from "./stats/gc-observer.js";
import type { ProgressStream } from "./stats/progress.js";

/** The JSON document `memory.snapshot()` returns (what tools/memreport reads). */
export type MemoryReportJson = MemoryReport;

/** What the memkit run returns: its measurements, the report it wrote, and the leak found at teardown. */
export interface MemkitRun extends MemkitOutcome {
  /** The snapshot taken at the end of play (with every stage filled in), when --report asked for one. */
  report: MemoryReportJson | undefined;
  /** The LeakError from teardown (memory.shutdown), if a scope still held memory. */
  leak: LeakError | undefined;
  /** With --save: the saved memory (the game in it), or the error that stopped the save. */
  save?: { bytes: Uint8Array } | { error: unknown };
  /** With --restore: the game as it came out of the save. */
  restored?: { config: GameConfig; framesPlayed: number };
  /** With --workers N: the workers, and every thread's figures at the end of play (memory.threads()). */
  jobs?: { workers: number; chunks: number; threads: ThreadReport[] };
}

/** Options of {@link runMemkit} that are not on the command line. */
export interface MemkitRunOptions {
  /** The job workers' script (JobSystemOptions.script): tests run a bundle of the TypeScript source. */
  workerScript?: string | URL;
  /** Names the run in the progress line. @defaultValue "memkit" */
  label?: string;
  /** Called with the game once it is created or restored (`--wasm` swaps the particle step here). */
  onGame?: (game: MemkitGame, memory: MemoryGlobals) => void;
}

/** The label written into the JSON report. */
export function reportLabel(args: GameArgs): string {
  if (args.restore !== undefined) return `game-loop --restore ${args.restore} --frames ${args.frames} --warmup ${args.warmup} (at the end of play)`;
  return `game-loop --frames ${args.frames} --warmup ${args.warmup} --entities ${args.entities} --seed ${args.seed} --tracing ${args.tracing}${args.debug ? " --debug" : ""}${args.leak ? " --leak" : ""}${args.workers > 0 ? ` --workers ${args.workers}` : ""} (at the end of play)`;
}

/**
 * Runs the memkit game: builds the engine's memory, loads, plays and unloads,
 * then tears every subsystem down and shuts the memory down. The report is a
 * snapshot taken at the end of play — the scope tree and memory map while the
 * level is live — with the unload stage's record added once it has run.
 *
 * `saved` (--restore): the bytes of a save; the memory and the game are
 * restored from it instead, and play on (warm-up, play, unload). With
 * --save, the memory is saved at the end of play, between frames; a save
 * that fails is reported in the result, and the run goes on.
 *
 * `--workers N`: the memory is shared and N job workers (src/jobs) take
 * chunks of every play frame's physics and AI; they detach after unload,
 * before the teardown. When the run fails (a worker's JobError included),
 * every worker is terminated and declared ended before the teardown.
 */
export async function runMemkit(
  args: GameArgs,
  gc: GcObserver,
  progress: ProgressStream | undefined,
  saved?: Uint8Array,
  options: MemkitRunOptions = {},
): Promise<MemkitRun> {
  let memory: MemoryGlobals;
  let game: MemkitGame | undefined;
  if (saved !== undefined) ({ memory, game } = restoreGame(saved, { frames: args.frames }));
  else memory = initEngineMemory({ entities: args.entities, tracing: args.tracing, debug: args.debug, shared: args.workers > 0 });
  startRecord(memory, args);
  const restored = game === undefined ? undefined : { config: game.engine.config, framesPlayed: game.framesPlayed };
  let outcome: Omit<MemkitRun, "leak"> | undefined;
  let jobs: JobSystem | undefined;
  try {
    if (args.workers > 0) jobs = await JobSystem.start(memory, { workers: args.workers, script: options.workerScript });
    let threads: ThreadReport[] = [];
    const config = { frames: args.frames, entities: args.entities, seed: args.seed, leak: args.leak };
    const stages = new EngineStages(memory);
    let tree = "";
    let report: MemoryReportJson | undefined;
    let save: MemkitRun["save"];
    const { sim: _sim, ...result } = await drive(
      () => {
        const created = game ?? new MemkitGame(memory, config);
        created.jobs = jobs;
        options.onGame?.(created, memory);
        return created;
      },
      stages,
      {
        frames: args.frames,
        warmup: args.warmup,
        gc,
        progress,
        label: options.label ?? "memkit",
        loaded: restored !== undefined,
        afterPlay: () => {
          if (jobs !== undefined) threads = memory.threads();
          tree = memory.formatReport();
          if (args.report !== undefined) report = memory.snapshot(reportLabel(args));
          if (args.save !== undefined) {
            try {
              save = { bytes: saveGame(memory, game!) };
            } catch (error) {
              save = { error };
            }
          }
        },
      },
      (created) => (game = created),
    );
    // The workers detach (memory.shutdown refuses while one is attached); what they allocated stays in its scopes, freed by unload.
    await jobs?.stop();
    if (report !== undefined) report.stages = memory.stages.map((s) => ({ ...s, scopes: s.scopes.map((x) => ({ ...x })) }));
    outcome = { ...result, memoryStages: [...memory.stages], tempStages: [...stages.temp], checks: stages.checks, treeAtPlayEnd: tree, report, save, restored };
    if (jobs !== undefined) outcome.jobs = { workers: jobs.workers, chunks: jobs.chunks, threads };
  } catch (err) {
    // The run failed: end the workers (terminated, declared ended), tear down quietly so the memory can be
    // built again, and report the failure itself.
    await jobs?.abort();
    try {
      teardown(memory, game);
    } catch {
      // The failure that stopped the run is the one worth reporting.
    }
    throw err;
  }
  const leak = teardown(memory, game);
  writeRecord(memory, args, reportLabel(args));
  return { ...outcome, leak };
}

/**
 * Disposes the game (each subsystem frees its containers, then closes its
 * scope: the teardown assert) and shuts the memory down, which throws one
 * LeakError naming every scope still holding memory. Returns that LeakError;
 * any other error is thrown after the memory is shut down.
 */
function teardown(memory: MemoryGlobals, game: MemkitGame | undefined): LeakError | undefined {
  let leak: LeakError | undefined;
  let failure: unknown;
  let failed = false;
  if (game !== undefined) {
    try {
      game[Symbol.dispose]();
    } catch (err) {
      if (err instanceof LeakError) leak = err;
      else {
        failure = err;
        failed = true;
      }
    }
  }
  if (memory.alive) {
    try {
      memory.shutdown();
    } catch (err) {
      // shutdown's LeakError covers every scope still holding memory: it supersedes a subsystem's.
      if (err instanceof LeakError) leak = err;
      else if (!failed) {
        failure = err;
        failed = true;
      }
    }
  }
  if (failed) throw failure;
  return leak;
}
