import { formatBytes, formatCount, hex } from "@memkit/core";
import type { MemoryGlobals, ThreadReport } from "@memkit/memory-globals";
import type { GameArgs } from "./cli-args.js";
import type { DriveResult } from "./driver.js";
import type { GameConfig } from "./game/config.js";
import type { TempStageReport } from "./engine-memory.js";
import type { GcSummary } from "./stats/gc-observer.js";

/** One stage's record from `memory.endStage()`. */
export type StageRecord = MemoryGlobals["stages"][number];

/** What the memkit run adds to the driver's measurements. */
export interface MemkitOutcome extends DriveResult {
  /** memory.stages: per stage, each scope's peak, end and allocations. */
  memoryStages: readonly StageRecord[];
  /** Frame and scratch memory per stage. */
  tempStages: readonly TempStageReport[];
  /** memory.check() calls that passed (debug runs: one per stage). */
  checks: number;
  /** memory.formatReport() at the end of the play stage. */
  treeAtPlayEnd: string;
}

/** A plain text table: the first column left-aligned, the others right-aligned; `groups` spans header cells over columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], groups?: readonly { title: string; span: number }[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out: string[] = [];
  if (groups !== undefined) {
    let text = "".padEnd(widths[0]!);
    let col = 1;
    for (const g of groups) {
      const width = widths.slice(col, col + g.span).reduce((a, b) => a + b, 0) + 2 * (g.span - 1);
      text += "  " + g.title.padEnd(width);
      col += g.span;
    }
    out.push(text.trimEnd());
  }
  out.push(line(header));
  for (const row of rows) out.push(line(row));
  return out.join("\n");
}

/** `0.61 ms` */
export function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

/** The first line of a run. */
export function formatHeader(args: GameArgs): string {
  const frames = `${formatCount(args.frames)} play frames after ${formatCount(args.warmup)} warm-up frames`;
  // A restored game's units, seed and memory settings are the save's: the run says them once it has restored.
  if (args.restore !== undefined) return `memkit game-loop (memkit): the game saved in ${args.restore}, then ${frames}`;
  const parts = [`${formatCount(args.entities)} units`, frames, `seed ${args.seed}`];
  if (args.mode !== "baseline") parts.push(`tracing ${args.tracing}`);
  if (args.workers > 0) parts.push(`${args.workers} job worker${args.workers === 1 ? "" : "s"}`);
  if (args.debug) parts.push("debug");
  if (args.leak) parts.push("leaking on purpose");
  const what = args.mode === "compare" ? "memkit vs plain JS" : args.mode;
  return `memkit game-loop (${what}): ${parts.join(", ")}`;
}

/** Scope path without the root prefix: `root/gameplay/events` -> `gameplay/events`. */
function shortPath(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? `${path} (all scopes)` : path.slice(slash + 1);
}

/**
 * The per-stage table: each scope's peak and allocations in every stage
 * (load, warm-up, play, unload), what it still held after unload (0 unless it
 * leaks), and the stage where it peaked; then frame and scratch memory, which
 * live outside the scope tree.
 */
export function formatStageTable(outcome: MemkitOutcome): string {
  const stages = outcome.memoryStages;
  const header = ["scope"];
  const groups: { title: string; span: number }[] = [];
  for (const stage of stages) {
    header.push("peak", "allocs");
    groups.push({ title: `${stage.name} (${formatCount(stage.endFrame - stage.startFrame)} fr)`, span: 2 });
  }
  header.push("left", "heaviest");
  groups.push({ title: "at end", span: 2 });
  const paths: string[] = [];
  for (const stage of stages) for (const s of stage.scopes) if (!paths.includes(s.path)) paths.push(s.path);
  // Subsystems first (tree order), the root's total last.
  paths.sort((a, b) => Number(!a.includes("/")) - Number(!b.includes("/")));
  const last = stages[stages.length - 1];
  const rows: string[][] = [];
  const finish = (row: string[], left: string, heaviest: string, heaviestPeak: number): string[] => {
    row.push(left, heaviestPeak > 0 ? heaviest : "-");
    return row;
  };
  for (const path of paths) {
    const row = [shortPath(path)];
    let heaviest = "";
    let heaviestPeak = -1;
    for (const stage of stages) {
      const s = stage.scopes.find((x) => x.path === path);
      if (s === undefined) {
        row.push("", "");
        continue;
      }
      row.push(formatBytes(s.peakLiveBytes), formatCount(s.allocCount));
      if (s.peakLiveBytes > heaviestPeak) {
        heaviestPeak = s.peakLiveBytes;
        heaviest = stage.name;
      }
    }
    const end = last?.scopes.find((x) => x.path === path);
    rows.push(finish(row, end === undefined ? "" : formatBytes(end.liveBytes), heaviest, heaviestPeak));
  }
  const temp = (label: string, peak: (t: TempStageReport) => number, allocs: (t: TempStageReport) => number): string[] => {
    const row = [label];
    let heaviest = "";
    let heaviestPeak = -1;
    for (const stage of stages) {
      const t = outcome.tempStages.find((x) => x.name === stage.name);
      if (t === undefined) {
        row.push("", "");
        continue;
      }
      row.push(formatBytes(peak(t)), formatCount(allocs(t)));
      if (peak(t) > heaviestPeak) {
        heaviestPeak = peak(t);
        heaviest = stage.name;
      }
    }
    return finish(row, "", heaviest, heaviestPeak);
  };
  rows.push(temp("memory.frame (2-frame ring)", (t) => t.framePeakBytes, (t) => t.frameAllocs));
  rows.push(temp("memory.scratch", (t) => t.scratchPeakBytes, (t) => t.scratchAllocs));
  return table(header, rows, groups);
}

function gcText(gc: GcSummary): string {
  if (gc.count === 0) return "0";
  const kinds: string[] = [];
  if (gc.minor > 0) kinds.push(`${formatCount(gc.minor)} minor`);
  if (gc.major > 0) kinds.push(`${formatCount(gc.major)} major`);
  if (gc.other > 0) kinds.push(`${formatCount(gc.other)} other`);
  return `${formatCount(gc.count)} (${kinds.join(", ")}; ${ms(gc.pauseMs)} paused)`;
}

function heapText(result: DriveResult): string {
  const young = result.play.youngBytes;
  if (young === undefined) return "n/a (collected, and this Node has no v8.GCProfiler)";
  const perFrame = young / Math.max(1, result.play.times.frames);
  return `${formatBytes(Math.max(0, young))} (${formatCount(Math.max(0, Math.round(perFrame)))} B/frame)`;
}

/** Frame times, GC and the game's counters of one run. */
export function formatPlaySummary(name: string, result: DriveResult): string {
  const t = result.play.times;
  const s = result.summary;
  const lines = [
    `${name}: ${formatCount(t.frames)} play frames in ${ms(t.totalMs)}: ${formatCount(Math.round(t.framesPerSecond))} frames/s; ` +
      `frame time p50 ${ms(t.p50Ms)}, p99 ${ms(t.p99Ms)}, max ${ms(t.maxMs)}`,
    `  GC events during play: ${gcText(result.play.gc)}; JS garbage made during play: ${heapText(result)}` +
      (result.play.gcBeforePlay ? "" : " (run node with --expose-gc to start play on a collected heap)"),
    `  warm-up before play: ${formatCount(result.warmup.frames)} frames, GC events ${gcText(result.warmup.gc)} (V8 compiling the hot loops; not judged)`,
    `  game: ${formatCount(s.unitsAlive)} units alive, ${formatCount(s.spawned)} spawned, ${formatCount(s.died)} died; ` +
      `${formatCount(s.shots)} shots, ${formatCount(s.hits)} hits, ${formatCount(s.soundsPlayed)} sounds; ` +
      `${formatCount(Math.round(s.drawItems / Math.max(1, s.frames)))} draw items/frame in ${(s.drawBatches / Math.max(1, s.frames)).toFixed(1)} batches; checksum ${hex(s.checksum)}`,
  ];
  return lines.join("\n");
}

/**
 * The job system's line under the memkit play summary (`--workers N`): who
 * shared the frames, and each thread's figures at the end of play
 * (memory.threads(): bytes it allocated that are still live, their peak).
 */
export function formatJobs(jobs: { workers: number; chunks: number; threads: readonly ThreadReport[] }): string {
  // Seats are claimed in the order threads attach: list them main first, then jobs-1, jobs-2, ...
  const ordered = [...jobs.threads].sort((a, b) => (a.name === "main" ? -1 : b.name === "main" ? 1 : a.name.localeCompare(b.name, "en", { numeric: true })));
  const threads = ordered.map((t) => `${t.name} ${formatBytes(t.liveBytes)} (peak ${formatBytes(t.peakLiveBytes)}, ${formatCount(t.allocCount)} allocs)`);
  return (
    `  jobs: ${formatCount(jobs.workers)} worker thread${jobs.workers === 1 ? "" : "s"} and the main thread share physics contacts and AI, ` +
    `${jobs.chunks} chunks per phase, 3 phases per frame (Atomics, no messages); --workers 0 plays the same game on the main thread alone\n` +
    `  threads at the end of play (live bytes each allocated): ${threads.join("; ")}`
  );
}

/** Where a restored game came from: the line under its play summary. */
export function formatRestored(file: string, restored: { config: GameConfig; framesPlayed: number }): string {
  const { entities, seed, leak } = restored.config;
  return `  restored from ${file}: ${formatCount(restored.framesPlayed)} frames played before the save (${formatCount(entities)} units, seed ${seed}${leak ? ", leaking on purpose" : ""})`;
}

/** Stage wall-clock times. */
export function formatStageTimes(result: DriveResult): string {
  return "  stages: " + result.stages.map((s) => `${s.name} ${formatCount(s.frames)} frames ${ms(s.ms)}`).join(", ");
}

function stageMs(result: DriveResult, name: string): number {
  return result.stages.find((s) => s.name === name)?.ms ?? 0;
}

/** The benchmark's two targets, judged on the numbers. */
export interface Verdict {
  zeroGc: boolean;
  p99Lower: boolean;
  sameGame: boolean;
  text: string;
}

/** The side-by-side table of `--compare` and the verdict. */
export function formatCompare(memkit: DriveResult, baseline: DriveResult): { text: string; verdict: Verdict } {
  const m = memkit.play;
  const b = baseline.play;
  const rows = [
    ["frames/s", formatCount(Math.round(m.times.framesPerSecond)), formatCount(Math.round(b.times.framesPerSecond))],
    ["frame time p50", ms(m.times.p50Ms), ms(b.times.p50Ms)],
    ["frame time p99", ms(m.times.p99Ms), ms(b.times.p99Ms)],
    ["frame time max", ms(m.times.maxMs), ms(b.times.maxMs)],
    ["GC events during play", gcText(m.gc), gcText(b.gc)],
    ["JS garbage made during play", heapText(memkit), heapText(baseline)],
    ["GC events during warm-up (not judged)", gcText(memkit.warmup.gc), gcText(baseline.warmup.gc)],
    ["load / unload", `${ms(stageMs(memkit, "load"))} / ${ms(stageMs(memkit, "unload"))}`, `${ms(stageMs(baseline, "load"))} / ${ms(stageMs(baseline, "unload"))}`],
    ["checksum", hex(memkit.summary.checksum), hex(baseline.summary.checksum)],
  ];
  const sameGame = memkit.summary.checksum === baseline.summary.checksum && memkit.summary.died === baseline.summary.died;
  const zeroGc = m.gc.count === 0;
  const p99Lower = m.times.p99Ms < b.times.p99Ms;
  const verdictLines = [
    `Targets:`,
    `  zero GC events during play (memkit):  ${zeroGc ? "PASS" : "MISS"} (${formatCount(m.gc.count)} GC events)`,
    `  frame time p99 below the baseline's:  ${p99Lower ? "PASS" : "MISS"} (${ms(m.times.p99Ms)} vs ${ms(b.times.p99Ms)}, ${(b.times.p99Ms / Math.max(1e-9, m.times.p99Ms)).toFixed(2)}x)`,
    `  same game in both runs (checksum):    ${sameGame ? "yes" : "NO: the runs diverged (a bug in the sample)"}`,
  ];
  const text = [table(["", "memkit", "baseline (plain JS)"], rows), "", ...verdictLines].join("\n");
  return { text, verdict: { zeroGc, p99Lower, sameGame, text: verdictLines.join("\n") } };
}
