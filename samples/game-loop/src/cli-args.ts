import { parseArgs } from "node:util";
import { formatCount } from "@memkit/core";
import type { TracingLevel } from "@memkit/memory-globals";
import { MAX_ENTITIES } from "./game/config.js";
import { MAX_WORKERS } from "./jobs/job-board.js";

/** What the command line asked for. */
export interface GameArgs {
  frames: number;
  /** Frames played before the measured play stage, while V8 compiles the hot loops. */
  warmup: number;
  entities: number;
  tracing: TracingLevel;
  debug: boolean;
  /** Path of the JSON memory report to write, if any. */
  report: string | undefined;
  /** Path of the allocation log to write (memory.startRecording), if any. */
  record: string | undefined;
  /** Where to save the memory, with the game in it, at the end of play (memory.save). */
  save: string | undefined;
  /** A save to restore and play on from, instead of loading a new game. */
  restore: string | undefined;
  leak: boolean;
  /** Which runs: the memkit game, the plain-JS baseline, or both side by side. */
  mode: "memkit" | "baseline" | "compare";
  seed: number;
  /** Job workers: 0 plays on the main thread alone; N > 0 shares the memory with N worker threads that take a share of physics and AI. */
  workers: number;
  /** Play twice, the particle step in JS then in WebAssembly (samples/wasm-modules), and compare checksums and times. */
  wasm: boolean;
  quiet: boolean;
  help: boolean;
}

/** Defaults: ten seconds of simulated play (600 frames at 60 per second) with 2,000 units. */
export const DEFAULT_FRAMES = 600;
export const DEFAULT_WARMUP = 600;
export const DEFAULT_ENTITIES = 2000;
export const DEFAULT_SEED = 1;
/** Limits that keep a run inside what the sample's containers and a 1 GiB address space hold. */
export const MAX_FRAMES = 1_000_000;
export { MAX_ENTITIES, MAX_WORKERS };

/** The usage text (--help, and after a usage error). */
export const USAGE = `Usage: memkit-game-loop [options]        (npm start -- [options] from the repository root)

A headless sample game on memkit: six engine subsystems, each with its own
memory scope, play a ${DEFAULT_FRAMES}-frame battle; the run prints what memory did.

Options:
  --frames N          frames in the play stage (default ${DEFAULT_FRAMES}: 10 simulated seconds)
  --warmup N          frames played before play, not judged (default ${DEFAULT_WARMUP}): V8 compiles
                      the hot loops then, and interpreted code makes garbage
  --entities N        units on the field (default ${formatCount(DEFAULT_ENTITIES)})
  --tracing LEVEL     off | counts | callstacks (default counts)
  --debug             canaries, fill patterns and a quarantine around every scope;
                      memory.check() after every stage
  --report FILE       write the JSON memory report (memory.snapshot) for tools/memreport
  --record FILE       write the run's allocation log for \`memreport replay FILE\`
  --save FILE         at the end of play, save the memory with the game in it to FILE
  --restore FILE      play on from the game saved in FILE instead of loading a new one
                      (its units, seed, --leak, --tracing and --debug are the save's)
  --leak              leak the audio voice bank on purpose: shows the teardown assert (exit 1)
  --baseline          run the same game on plain JS objects and arrays instead (no memkit)
  --compare           run both and print them side by side, with the benchmark verdict
  --seed N            random seed (default ${DEFAULT_SEED}); the same seed plays the same game
  --workers N         job worker threads (default 0: the main thread alone): the memory is
                      shared, and physics contacts and AI are cut into chunks of units that
                      the workers and the main thread run; the same game (checksum) for any N
  --wasm              play the memkit game twice: particles moved in JS, then in WebAssembly
                      (an AssemblyScript module on the same memory, scope "particles");
                      prints both checksums (the same game) and both particle-step times
  --quiet             no progress line and no tables: the summary only
  -h, --help          this text

Exit codes: 0 clean shutdown, 1 a leak or another failure, 2 bad usage.
`;

/** A bad command line: the message says what was wrong; the caller prints it with the usage. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parses the arguments after the program name. Throws UsageError for anything it cannot accept. */
export function parseGameArgs(argv: readonly string[]): GameArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        frames: { type: "string" },
        warmup: { type: "string" },
        entities: { type: "string" },
        tracing: { type: "string" },
        debug: { type: "boolean" },
        report: { type: "string" },
        record: { type: "string" },
        save: { type: "string" },
        restore: { type: "string" },
        leak: { type: "boolean" },
        baseline: { type: "boolean" },
        compare: { type: "boolean" },
        seed: { type: "string" },
        workers: { type: "string" },
        wasm: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const tracing = values.tracing ?? "counts";
  if (tracing !== "off" && tracing !== "counts" && tracing !== "callstacks") {
    throw new UsageError(`--tracing must be off, counts or callstacks, not ${JSON.stringify(tracing)}.`);
  }
  if (values.baseline === true && values.compare === true) {
    throw new UsageError("--baseline and --compare cannot be combined: --compare already runs the baseline (next to the memkit run).");
  }
  const mode = values.compare === true ? "compare" : values.baseline === true ? "baseline" : "memkit";
  const leak = values.leak === true;
  if (mode === "baseline" && leak) throw new UsageError("--leak needs the memkit run: the baseline has no scopes to leak from.");
  if (mode === "baseline" && values.report !== undefined) throw new UsageError("--report needs the memkit run: the baseline has no memory report.");
  if (values.report === "") throw new UsageError("--report needs a file name.");
  if (values.record === "") throw new UsageError("--record needs a file name.");
  if (values.record !== undefined && mode === "baseline") throw new UsageError("--record needs the memkit run: the baseline does not allocate through memkit.");
  if (values.record !== undefined && values.workers !== undefined && values.workers !== "0") throw new UsageError("--record records the main thread's scopes only: leave out --workers.");
  checkSaveFlags(values, mode);
  const workers = integerOption("--workers", values.workers, 0, 0, MAX_WORKERS);
  checkWorkerFlags(values, mode, workers);
  const wasm = values.wasm === true;
  if (wasm && mode !== "memkit") throw new UsageError(`--wasm cannot be combined with --${mode}: it compares two memkit runs (JS and wasm particles).`);
  if (wasm && workers > 0) throw new UsageError("--wasm cannot be combined with --workers: the wasm module would need a shared memory of its own kind.");
  if (wasm && values.save !== undefined) throw new UsageError("--wasm cannot be combined with --save: it plays the game twice.");
  return {
    frames: integerOption("--frames", values.frames, DEFAULT_FRAMES, 1, MAX_FRAMES),
    warmup: integerOption("--warmup", values.warmup, DEFAULT_WARMUP, 0, MAX_FRAMES),
    entities: integerOption("--entities", values.entities, DEFAULT_ENTITIES, 1, MAX_ENTITIES),
    tracing,
    debug: values.debug === true,
    report: values.report,
    record: values.record,
    save: values.save,
    restore: values.restore,
    leak,
    mode,
    seed: integerOption("--seed", values.seed, DEFAULT_SEED, 0, 0xffffffff),
    workers,
    wasm,
    quiet: values.quiet === true,
    help: values.help === true,
  };
}

/** --save and --restore: a file name each, the memkit run, and with --restore none of the settings the save holds. */
function checkSaveFlags(values: Record<string, string | boolean | undefined>, mode: GameArgs["mode"]): void {
  for (const flag of ["save", "restore"] as const) {
    if (values[flag] === "") throw new UsageError(`--${flag} needs a file name.`);
    if (values[flag] !== undefined && mode === "baseline") throw new UsageError(`--${flag} needs the memkit run: the baseline keeps its game in JS objects, not in memkit's memory.`);
  }
  if (values.restore === undefined) return;
  if (mode === "compare") throw new UsageError("--restore cannot be combined with --compare: the baseline cannot start from a saved game.");
  for (const flag of ["entities", "seed", "leak", "tracing", "debug"]) {
    if (values[flag] !== undefined) throw new UsageError(`--restore plays the saved game: its --${flag} is the save's; leave --${flag} out.`);
  }
}

/** --workers N > 0: the memkit run on a shared memory, which debug, save and restore do not support. */
function checkWorkerFlags(values: Record<string, string | boolean | undefined>, mode: GameArgs["mode"], workers: number): void {
  if (workers === 0) return;
  if (mode === "baseline") throw new UsageError("--workers needs the memkit run: the baseline keeps its game in JS objects, which threads cannot share.");
  if (values.debug === true) throw new UsageError("--workers cannot be combined with --debug: memkit's debug layer does not run on a shared memory yet.");
  for (const flag of ["save", "restore"]) {
    if (values[flag] !== undefined) throw new UsageError(`--workers cannot be combined with --${flag}: a memory is saved and restored by a single thread.`);
  }
}

function integerOption(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${formatCount(max)}, not ${JSON.stringify(text)}.`);
  }
  return value;
}
