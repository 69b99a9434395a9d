import { LeakError } from "@memkit/core";
import type { MemoryGlobals, MemoryReport } from "@memkit/memory-globals";
import type { GameArgs } from "./cli-args.js";
import { drive } from "./driver.js";
import { EngineStages, initEngineMemory } from "./engine-memory.js";
import { MemkitGame } from "./game/game.js";
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
}

/** The label written into the JSON report. */
export function reportLabel(args: GameArgs): string {
  return `game-loop --frames ${args.frames} --warmup ${args.warmup} --entities ${args.entities} --seed ${args.seed} --tracing ${args.tracing}${args.debug ? " --debug" : ""}${args.leak ? " --leak" : ""} (at the end of play)`;
}

/**
 * Runs the memkit game: builds the engine's memory, loads, plays and unloads,
 * then tears every subsystem down and shuts the memory down. The report is a
 * snapshot taken at the end of play — the scope tree and memory map while the
 * level is live — with the unload stage's record added once it has run.
 */
export async function runMemkit(args: GameArgs, gc: GcObserver, progress: ProgressStream | undefined): Promise<MemkitRun> {
  const memory = initEngineMemory({ entities: args.entities, tracing: args.tracing, debug: args.debug });
  let game: MemkitGame | undefined;
  let outcome: Omit<MemkitRun, "leak"> | undefined;
  try {
    const config = { frames: args.frames, entities: args.entities, seed: args.seed, leak: args.leak };
    const stages = new EngineStages(memory);
    let tree = "";
    let report: MemoryReportJson | undefined;
    const { sim: _sim, ...result } = await drive(
      () => new MemkitGame(memory, config),
      stages,
      {
        frames: args.frames,
        warmup: args.warmup,
        gc,
        progress,
        label: "memkit",
        afterPlay: () => {
          tree = memory.formatReport();
          if (args.report !== undefined) report = memory.snapshot(reportLabel(args));
        },
      },
      (created) => (game = created),
    );
    if (report !== undefined) report.stages = memory.stages.map((s) => ({ ...s, scopes: s.scopes.map((x) => ({ ...x })) }));
    outcome = { ...result, memoryStages: [...memory.stages], tempStages: [...stages.temp], checks: stages.checks, treeAtPlayEnd: tree, report };
  } catch (err) {
    // The run failed: tear down quietly so the memory can be built again, and report the failure itself.
    try {
      teardown(memory, game);
    } catch {
      // The failure that stopped the run is the one worth reporting.
    }
    throw err;
  }
  const leak = teardown(memory, game);
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
