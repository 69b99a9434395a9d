import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_MODES } from "./modes.js";
import type { BenchMode } from "./modes.js";
import { loadSubjects, notes, parseArgs, reportTargets, targetsText } from "./main.js";
import type { BenchReport } from "./main.js";
import { formatRatio, formatTable } from "./table.js";
import { SPEED_TARGETS, TARGET_PEER } from "./targets.js";

/** Runs `node <args>` with the parent's stdout and stderr; resolves with its exit code. */
export type ChildRunner = (args: readonly string[]) => Promise<number>;

const nodeChild: ChildRunner = (args) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });

/** The memkit subjects compared across modes, in column order. */
const COMPARED = [
  { id: "memkit-generic", short: "generic" },
  { id: "memkit-heap", short: "heap" },
];

/** One round: each mode's report. */
export type ModeReports = Partial<Record<BenchMode, BenchReport>>;

/** Removes `flag VALUE` from `args` and returns VALUE (undefined when the flag is absent). */
function takeOption(args: string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
}

/**
 * The default `npm run bench`: each mode (`--mode attached`, then `--mode
 * detached`: a detached buffer cannot be re-attached) and each workload in a
 * child process of its own (`--only W --part`), their tables printed as they
 * run; then each mode's targets, judged on its workloads together, and one
 * table of both modes' ratios against AS TLSF with the targets beside them.
 *
 * One process per workload, because V8's feedback is per process: every
 * subject makes a memory of its own, and memkit's wasm hot paths and AS TLSF
 * are one wasm instance per memory, so from the second memory on their JS
 * call sites see several wasm functions and V8 stops inlining the calls
 * (docs/perf-log.md, round 9 of #15). A program has one memory and one
 * instance; a workload's child measures each subject as such a program.
 *
 * `--rounds N` repeats that N times (the modes alternate, so a slow minute of
 * a shared machine lands on both) and the table gives each ratio's median
 * over the rounds, with its range, and judges the targets by the median.
 * With `--json FILE`, FILE gets `{ attached, detached }` (each mode's
 * workloads in one report), or with rounds `{ rounds: [{ attached, detached
 * }, ...] }`. Returns the exit code.
 */
export async function runBothModes(argv: readonly string[], print: (text: string) => void = console.log, runChild: ChildRunner = nodeChild): Promise<number> {
  const options = parseArgs(argv);
  if (options === undefined) return 0;
  const args = [...argv];
  const json = takeOption(args, "--json");
  takeOption(args, "--rounds");
  takeOption(args, "--only");
  const rounds = options.rounds;
  const dir = await mkdtemp(join(tmpdir(), "memkit-bench-modes-"));
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  // The subjects' labels, footprint notes and kinds, for the targets and the notes (nothing is timed here).
  const { entries, factories } = await loadSubjects(options.subjects);
  const done: ModeReports[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const reports: ModeReports = {};
      for (const mode of BENCH_MODES) {
        print(`\n==== mode ${mode} (a child process per workload${rounds > 1 ? `, round ${round} of ${rounds}` : ""}) ====`);
        const parts: BenchReport[] = [];
        for (const workload of options.workloads) {
          const out = join(dir, `${mode}-${workload}.json`);
          const code = await runChild(["--expose-gc", main, ...args, "--only", workload, "--mode", mode, "--part", "--json", out]);
          if (code !== 0) {
            print(`mode ${mode}, workload ${workload}: the child process exited with code ${code}`);
            return code;
          }
          parts.push(JSON.parse(await readFile(out, "utf8")) as BenchReport);
        }
        const report = mergeParts(parts);
        report.targets = reportTargets(report, entries);
        print(targetsText(report));
        reports[mode] = report;
      }
      done.push(reports);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  print(notes(entries, factories));
  print(`\n==== both modes${rounds > 1 ? `, ${rounds} rounds` : ""} ====\n${bothModesTable(done)}`);
  if (json !== undefined) {
    await writeFile(json, JSON.stringify(rounds > 1 ? { rounds: done } : done[0], null, 2) + "\n");
    print(`\nJSON report (both modes) written to ${json}`);
  }
  return 0;
}

/** One mode's report from its workloads' children: the first child's meta, everything else joined. */
export function mergeParts(parts: readonly BenchReport[]): BenchReport {
  const first = parts[0]!;
  return {
    meta: first.meta,
    workloads: parts.flatMap((p) => p.workloads),
    unavailable: Object.assign({}, ...parts.map((p) => p.unavailable)) as Record<string, string>,
    results: parts.flatMap((p) => p.results),
    targets: [],
  };
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One row per workload: each compared subject's ns/op ratio to AS TLSF in
 * each mode, and the target. Over several rounds a cell is the median of the
 * rounds' ratios; the generic allocator's cells add their range, and its
 * status compares the median with the target.
 */
export function bothModesTable(rounds: readonly ModeReports[]): string {
  const ratio = (reports: ModeReports, mode: BenchMode, subject: string, workload: string): number | undefined => {
    const results = reports[mode]?.results ?? [];
    const mine = results.find((r) => r.subject === subject && r.workload === workload);
    const peer = results.find((r) => r.subject === TARGET_PEER && r.workload === workload);
    return mine && peer && "nsPerOp" in mine && "nsPerOp" in peer ? mine.nsPerOp / peer.nsPerOp : undefined;
  };
  // The median over the rounds that measured it; undefined when none did.
  const summary = (mode: BenchMode, subject: string, workload: string): { median: number; low: number; high: number } | undefined => {
    const xs = rounds.map((r) => ratio(r, mode, subject, workload)).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? undefined : { median: median(xs), low: Math.min(...xs), high: Math.max(...xs) };
  };
  const cell = (mode: BenchMode, subject: string, workload: string, withRange: boolean): string => {
    const s = summary(mode, subject, workload);
    if (s === undefined || !withRange || rounds.length === 1) return formatRatio(s?.median);
    return `${formatRatio(s.median)} (${formatRatio(s.low)}..${formatRatio(s.high)})`;
  };
  const first = rounds[0] ?? {};
  const workloads = first.attached?.workloads ?? first.detached?.workloads ?? [];
  const header = ["workload", ...COMPARED.flatMap((c) => BENCH_MODES.map((m) => `${c.short} xAS ${m}`)), "target (generic)", "status"];
  const rows = workloads.map(({ id }) => {
    const target = SPEED_TARGETS.find((t) => t.workload === id);
    const generic = BENCH_MODES.map((m) => summary(m, "memkit-generic", id)?.median);
    const status =
      target === undefined ? "" : generic.map((g, k) => `${BENCH_MODES[k]} ${g === undefined ? "n/a" : g <= target.max ? "PASS" : "MISS"}`).join(", ");
    return [id, ...COMPARED.flatMap((c) => BENCH_MODES.map((m) => cell(m, c.id, id, c.id === "memkit-generic"))), target ? `<= ${target.max.toFixed(2)}` : "-", status];
  });
  const aligns = header.map((_, k) => (k === 0 || k >= header.length - 2 ? "l" : "r"));
  const what = rounds.length > 1 ? `median of ${rounds.length} rounds (range), ` : "";
  return (
    `ns/op ratio to AS TLSF (< 1 = faster), ${what}each workload and mode measured in a process of its own\n` +
    formatTable(header, rows, aligns) +
    `\n  (the other targets, footprint and GC events, are in each mode's targets table above)`
  );
}
