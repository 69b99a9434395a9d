import { readFileSync } from "node:fs";
import { InvalidArgumentError, formatBytes, formatCount } from "@memkit/core";
import { table } from "./text.js";

/*
 * `memreport replay run.mlog`: memkit's allocation log (memory.startRecording(),
 * the sample game's --record) replayed against memkit's generic, heap and slot
 * allocators and AS TLSF through tools/bench, side by side: ns/op (median of
 * the timed runs), peak footprint, peak live bytes and the fragmentation at the
 * peak (1 - peak live / peak footprint).
 */

/** What the table needs of a bench replay row (`@memkit/bench/replay`'s ReplayRow). */
export interface ReplayRow {
  id: string;
  label: string;
  run?: { nsPerOp: number; peakFootprint: number; peakLiveBytes: number; verifyErrors: number };
  skipped?: string;
}

interface ReplayModule {
  replayAllocLog(bytes: Uint8Array, targets: unknown, runs: number): Promise<{ log: { count: number; scopes: Uint32Array; frames: Uint32Array; header: { label: string } }; rows: ReplayRow[] }>;
  registeredTargets(): unknown;
}

// Loaded by a computed name: its type graph reaches AssemblyScript's compiler, whose global
// declarations (Array.prototype.at returning T, ...) would leak into every program importing memreport.
const BENCH_REPLAY: string = ["@memkit", "bench", "replay"].join("/");

/** Reads the log file and replays it; the table as text. */
export async function replayText(path: string, runs: number): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`${path}: cannot read the allocation log: ${(err as Error).message}.`, { cause: err });
  }
  const bench = (await import(/* @vite-ignore */ BENCH_REPLAY)) as ReplayModule;
  const { log, rows } = await bench.replayAllocLog(bytes, bench.registeredTargets(), runs);
  const scopes = new Set(log.scopes).size;
  const frames = log.count === 0 ? 0 : log.frames[log.count - 1]! - log.frames[0]! + 1;
  return (
    `replay of ${path}: "${log.header.label}", ${formatCount(log.count)} events in ${formatCount(scopes)} scopes over ${formatCount(frames)} frames, ` +
    `median of ${runs} timed run${runs === 1 ? "" : "s"} each\n` +
    formatReplay(rows) +
    "\n"
  );
}

/** The side-by-side table: ns/op (and the ratio to AS TLSF when it ran), peak footprint, peak live, fragmentation. */
export function formatReplay(rows: readonly ReplayRow[]): string {
  const as = rows.find((r) => r.id === "as-tlsf")?.run;
  const body = rows.map((r) => {
    if (r.run === undefined) return [r.label, "-", "", "", "", "", r.skipped ?? ""];
    const run = r.run;
    return [
      r.label,
      run.nsPerOp.toFixed(1),
      as === undefined ? "" : `${(run.nsPerOp / as.nsPerOp).toFixed(2)}x`,
      formatBytes(run.peakFootprint),
      formatBytes(run.peakLiveBytes),
      run.peakFootprint === 0 ? "-" : `${((100 * (run.peakFootprint - run.peakLiveBytes)) / run.peakFootprint).toFixed(1)}%`,
      run.verifyErrors === 0 ? "" : `${run.verifyErrors} blocks lost their bytes`,
    ];
  });
  return table(["allocator", "ns/op", "vs AS TLSF", "peak footprint", "peak live", "fragmentation", "note"], body);
}
