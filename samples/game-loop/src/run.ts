import { readFileSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatBytes, formatCount } from "@memkit/core";
import { USAGE, UsageError, parseGameArgs } from "./cli-args.js";
import { runBaseline } from "./baseline-run.js";
import type { DriveResult } from "./driver.js";
import { runMemkit, type MemkitRun } from "./memkit-run.js";
import { formatWasmComparison, runWasmComparison } from "./wasm/wasm-run.js";
import { formatCompare, formatHeader, formatJobs, formatPlaySummary, formatRestored, formatStageTable, formatStageTimes } from "./output.js";
import { GcObserver } from "./stats/gc-observer.js";
import type { ProgressStream } from "./stats/progress.js";

/** Where a run writes; tests pass their own. */
export interface RunIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stdout is a terminal: the progress line is then rewritten in place. */
  readonly isTTY: boolean;
  /** Writes a report (text) or a save (bytes). */
  writeFile(path: string, data: string | Uint8Array): void;
  /** Reads a save (--restore). */
  readFile(path: string): Uint8Array;
}

/** This file sits two levels under samples/game-loop (src/ or dist/), three under the repository root. */
const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * The command that renders `report` as HTML: `memreport` is a script of the
 * repository's package.json (not on the PATH), run from the repository root,
 * so the report's path is given from there.
 */
export function memreportCommand(report: string): string {
  const path = relative(REPO_ROOT, resolve(report)).split("\\").join("/");
  return `npm run memreport -- --html memory.html ${/[\s"'$`\\]/.test(path) ? JSON.stringify(path) : path}`;
}

/** The process's streams and file system. */
export const nodeIo: RunIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  get isTTY(): boolean {
    return process.stdout.isTTY === true;
  },
  writeFile: (path, data) => writeFileSync(path, data),
  readFile: (path) => readFileSync(path),
};

/** Exit codes. */
export const EXIT_OK = 0;
/** A leak at shutdown, or the run failed. */
export const EXIT_FAILURE = 1;
/** Bad command line. */
export const EXIT_USAGE = 2;

/**
 * Runs the sample game with `argv` (the arguments after the program name)
 * and returns the exit code: 0 after a clean shutdown, 1 when shutdown found
 * a leak (its LeakError is printed) or the run failed, 2 for a bad command line.
 */
export async function run(argv: readonly string[], io: RunIo = nodeIo): Promise<number> {
  let args;
  try {
    args = parseGameArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`memkit-game-loop: ${err.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (args.help) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  let saved: Uint8Array | undefined;
  if (args.restore !== undefined) {
    try {
      saved = io.readFile(args.restore);
    } catch (err) {
      io.stderr(`memkit-game-loop: cannot read the save ${args.restore}: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_FAILURE;
    }
  }
  io.stdout(`${formatHeader(args)}\n`);
  const progress: ProgressStream | undefined = args.quiet ? undefined : { write: (text) => io.stdout(text), isTTY: io.isTTY };
  using gc = new GcObserver();
  let memkit: MemkitRun | undefined;
  let baseline: DriveResult | undefined;
  let wasmComparison: { text: string; same: boolean } | undefined;
  try {
    if (args.wasm) {
      const both = await runWasmComparison(args, gc, progress, saved);
      memkit = both.wasm;
      wasmComparison = formatWasmComparison(both);
    } else if (args.mode !== "baseline") memkit = await runMemkit(args, gc, progress, saved);
    if (args.mode !== "memkit") baseline = await runBaseline(args, gc, progress);
  } catch (err) {
    io.stderr(`memkit-game-loop: the run failed:\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_FAILURE;
  }

  if (memkit !== undefined) {
    if (!args.quiet) {
      const play = memkit.memoryStages.find((s) => s.name === "play");
      io.stdout(
        `\nMemory by stage and scope (peak: most bytes live at once during the stage; allocs: allocations made during it; ` +
          `left: still live after unload)\n${formatStageTable(memkit)}\n`,
      );
      if (args.tracing === "off") io.stdout(`(tracing off: scopes count usable bytes and blocks, but keep no list of blocks)\n`);
      io.stdout(`\nScope tree at the end of play (frame ${formatCount(play?.endFrame ?? 0)}):\n${memkit.treeAtPlayEnd}\n`);
    }
    io.stdout(`\n${formatPlaySummary("memkit", memkit)}\n`);
    if (memkit.restored !== undefined) io.stdout(`${formatRestored(args.restore!, memkit.restored)}\n`);
    if (memkit.jobs !== undefined) io.stdout(`${formatJobs(memkit.jobs)}\n`);
    if (!args.quiet) io.stdout(`${formatStageTimes(memkit)}\n`);
  }
  if (baseline !== undefined) {
    io.stdout(`\n${formatPlaySummary("baseline (plain JS)", baseline)}\n`);
    if (!args.quiet) io.stdout(`${formatStageTimes(baseline)}\n`);
  }
  if (memkit !== undefined && baseline !== undefined) io.stdout(`\n${formatCompare(memkit, baseline).text}\n`);
  if (wasmComparison !== undefined) io.stdout(`\n${wasmComparison.text}\n`);

  let code = EXIT_OK;
  if (memkit?.report !== undefined && args.report !== undefined) {
    try {
      io.writeFile(args.report, `${JSON.stringify(memkit.report)}\n`);
      io.stdout(`\nMemory report written to ${args.report}; render it from the repository root with: ${memreportCommand(args.report)}\n`);
    } catch (err) {
      io.stderr(`memkit-game-loop: cannot write the report to ${args.report}: ${err instanceof Error ? err.message : String(err)}\n`);
      code = EXIT_FAILURE;
    }
  }
  if (memkit?.save !== undefined && args.save !== undefined) {
    const save = memkit.save;
    try {
      if ("error" in save) throw save.error;
      io.writeFile(args.save, save.bytes);
      io.stdout(`\nMemory saved with the game in it to ${args.save} (${formatBytes(save.bytes.byteLength)}); play on from there with --restore ${args.save}\n`);
    } catch (err) {
      io.stderr(`memkit-game-loop: cannot save the game to ${args.save}: ${err instanceof Error ? err.message : String(err)}\n`);
      code = EXIT_FAILURE;
    }
  }
  if (memkit !== undefined) {
    if (memkit.leak !== undefined) {
      io.stderr(`\nShutdown found memory still held:\n${memkit.leak.name} [${memkit.leak.code}]: ${memkit.leak.message}\n`);
      return EXIT_FAILURE;
    }
    if (args.debug) {
      io.stdout(`\nmemory.check() passed after each of the ${memkit.checks} stages: canaries, quarantine, heap and page invariants, scope tables, frame arenas.\n`);
    }
    io.stdout(`\nShutdown: clean. Every scope returned its memory.\n`);
  }
  if (wasmComparison?.same === false) return EXIT_FAILURE;
  return code;
}
