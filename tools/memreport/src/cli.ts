#!/usr/bin/env node
import { realpathSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AllocatorError } from "@memkit/core";
import { diffFoldedStacks } from "@memkit/trace-allocator";
import { diffMemoryReports, formatMemoryDiff } from "./diff.js";
import { FOLDED_METRICS, foldedText, type FoldedMetric } from "./folded.js";
import { renderHtml } from "./html/page.js";
import { loadReport } from "./load-report.js";
import { formatText } from "./text.js";
import { timelineTraceEvents } from "./trace-events.js";
import { replayText } from "./replay.js";

/** Exit codes of the CLI. */
export const EXIT_OK = 0;
/** Something unexpected failed (a bug, or the output file could not be written). */
export const EXIT_FAILURE = 1;
/** Bad usage or an input that is not a memkit memory report. */
export const EXIT_USAGE = 2;

/** Usage text (printed by --help and after a usage error). */
export const USAGE = `Usage:
  memreport <report.json>                        the scope tree, stages, allocators and memory map as text
  memreport --folded bytes|count|peak <report.json>
                                                 folded stacks for flame graphs (flamegraph.pl, inferno, speedscope)
  memreport --html <out.html> <report.json>      one self-contained HTML page: scope tree, flame graph,
                                                 peak per stage, memory map
  memreport --trace-events <out.json> <report.json>
                                                 the report's timeline as Chrome trace events (counters per
                                                 scope and allocator, stages, leak suspects) for Perfetto
                                                 or DevTools' performance panel
  memreport replay [--runs N] <run.mlog>         replays an allocation log (memory.startRecording(), the
                                                 sample's --record) against memkit generic, heap, slot and
                                                 AS TLSF: ns/op, peak footprint, peak live, fragmentation
  memreport diff [--all] [--top N] <before.json> <after.json>
                                                 what grew or shrank, per scope and per call stack
  memreport diff --folded bytes|count|peak <before.json> <after.json>
                                                 differential folded stacks ("frames before after", for
                                                 flamegraph.pl / inferno-flamegraph's differential mode)
  memreport --help

<report.json> is what memory.snapshot() returns (schema "memkit.memory-report/1"),
e.g. written by the sample game with --report.
Exit codes: 0 done, 1 unexpected failure, 2 bad usage or not a memkit report.
`;

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  writeFile(path: string, text: string): void;
}

/** The process's streams and file system. */
export const nodeIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  writeFile: (path, text) => writeFileSync(path, text),
};

class UsageError extends Error {}

/**
 * Runs memreport with `argv` (the arguments after the program name) and
 * returns the exit code: 0 done, 1 unexpected failure, 2 bad usage or input.
 */
export function main(argv: readonly string[], io: CliIo = nodeIo): number {
  try {
    if (argv[0] === "replay") throw new UsageError("replay runs asynchronously: call mainAsync (the memreport command does)");
    return run(argv, io);
  } catch (err) {
    return failed(err, io);
  }
}

/** {@link main}, and `replay` (which replays an allocation log against allocators, asynchronously). */
export async function mainAsync(argv: readonly string[], io: CliIo = nodeIo): Promise<number> {
  if (argv[0] !== "replay") return main(argv, io);
  try {
    return await runReplay(argv.slice(1), io);
  } catch (err) {
    return failed(err, io);
  }
}

/** The exit code for an error, printed as the CLI prints errors. */
function failed(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr(`memreport: ${err.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (err instanceof AllocatorError && (err.code === "ERR_INVALID_ARGUMENT" || err.code === "ERR_CORRUPTION")) {
    io.stderr(`memreport: ${err.message}\n`);
    return EXIT_USAGE;
  }
  io.stderr(`memreport: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT_FAILURE;
}

function run(argv: readonly string[], io: CliIo): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        folded: { type: "string" },
        html: { type: "string" },
        "trace-events": { type: "string" },
        all: { type: "boolean" },
        top: { type: "string" },
      },
    });
  } catch (err) {
    // parseArgs rejects unknown options and missing option values.
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  if (positionals[0] === "diff") {
    if (values["trace-events"] !== undefined) throw new UsageError("diff has no --trace-events output");
    return runDiff(positionals.slice(1), values, io);
  }
  if (values.all !== undefined || values.top !== undefined) throw new UsageError("--all and --top go with diff");
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? "which report? give the path of a report.json" : `expected one report, got ${positionals.length}: ${positionals.join(" ")}`);
  }
  const outputs = [values.folded, values.html, values["trace-events"]].filter((v) => v !== undefined).length;
  if (outputs > 1) throw new UsageError("use one of --folded, --html and --trace-events");
  const path = positionals[0]!;
  if (values.folded !== undefined) {
    const metric = values.folded as FoldedMetric;
    if (!FOLDED_METRICS.includes(metric)) throw new UsageError(`--folded takes ${FOLDED_METRICS.join(", ")}, not ${JSON.stringify(values.folded)}`);
    io.stdout(foldedText(loadReport(path), metric));
    return EXIT_OK;
  }
  const traceOut = values["trace-events"];
  if (traceOut !== undefined) {
    if (traceOut === "" || traceOut === path) throw new UsageError(`--trace-events takes the output file (out.json), then the report: got ${JSON.stringify(traceOut)}`);
    const text = JSON.stringify(timelineTraceEvents(loadReport(path)));
    try {
      io.writeFile(traceOut, text);
    } catch (err) {
      io.stderr(`memreport: cannot write ${traceOut}: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    io.stderr(`memreport: wrote ${traceOut} (${Math.ceil(text.length / 1024)} KiB): open it in https://ui.perfetto.dev or DevTools' performance panel\n`);
    return EXIT_OK;
  }
  if (values.html !== undefined) {
    const out = values.html;
    if (out === "" || out.endsWith(".json")) throw new UsageError(`--html takes the output file (out.html), then the report: got ${JSON.stringify(out)}`);
    const html = renderHtml(loadReport(path));
    try {
      io.writeFile(out, html);
    } catch (err) {
      io.stderr(`memreport: cannot write ${out}: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    io.stderr(`memreport: wrote ${out} (${Math.ceil(html.length / 1024)} KiB)\n`);
    return EXIT_OK;
  }
  io.stdout(formatText(loadReport(path)));
  return EXIT_OK;
}

async function runReplay(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { runs: { type: "string" } } });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`replay takes one allocation log: memreport replay run.mlog (got ${positionals.length})`);
  const runs = values.runs === undefined ? 5 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs takes a whole number >= 1, not ${JSON.stringify(values.runs)}`);
  io.stdout(await replayText(positionals[0]!, runs));
  return EXIT_OK;
}

function runDiff(paths: readonly string[], values: { folded?: string | undefined; html?: string | undefined; all?: boolean | undefined; top?: string | undefined }, io: CliIo): number {
  if (paths.length !== 2) throw new UsageError(`diff compares two reports: memreport diff before.json after.json (got ${paths.length})`);
  if (values.html !== undefined) throw new UsageError("diff has no --html output");
  let top: number | undefined;
  if (values.top !== undefined) {
    top = Number(values.top);
    if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top takes a whole number >= 1, not ${JSON.stringify(values.top)}`);
  }
  const metric = values.folded as FoldedMetric | undefined;
  if (metric !== undefined && !FOLDED_METRICS.includes(metric)) {
    throw new UsageError(`diff --folded takes ${FOLDED_METRICS.join(", ")}, not ${JSON.stringify(values.folded)}`);
  }
  const before = loadReport(paths[0]!);
  const after = loadReport(paths[1]!);
  if (metric !== undefined) {
    io.stdout(diffFoldedStacks(foldedText(before, metric), foldedText(after, metric)));
    return EXIT_OK;
  }
  const options: { all: boolean; top?: number } = { all: values.all === true };
  if (top !== undefined) options.top = top;
  io.stdout(formatMemoryDiff(diffMemoryReports(before, after), options));
  return EXIT_OK;
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // A closed pipe (memreport ... | head) is not an error.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  });
  process.exitCode = await mainAsync(process.argv.slice(2));
}
