import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_MODES } from "./modes.js";
import type { BenchMode } from "./modes.js";
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

/**
 * The default `npm run bench`: the same arguments once per mode, each in its
 * own process (`--mode attached`, then `--mode detached`: a detached buffer
 * cannot be re-attached), their tables printed as they run, then one table of
 * both modes' ratios against AS TLSF with the targets beside them. With
 * `--json FILE`, FILE gets `{ attached, detached }`. Returns the exit code.
 */
export async function runBothModes(argv: readonly string[], print: (text: string) => void = console.log, runChild: ChildRunner = nodeChild): Promise<number> {
  const args = [...argv];
  const jsonAt = args.indexOf("--json");
  const json = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
  const dir = await mkdtemp(join(tmpdir(), "memkit-bench-modes-"));
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  const reports: Partial<Record<BenchMode, BenchReport>> = {};
  try {
    for (const mode of BENCH_MODES) {
      print(`\n==== mode ${mode} (child process) ====`);
      const out = join(dir, `${mode}.json`);
      const code = await runChild(["--expose-gc", main, ...args, "--mode", mode, "--json", out]);
      if (code !== 0) {
        print(`mode ${mode}: the child process exited with code ${code}`);
        return code;
      }
      reports[mode] = JSON.parse(await readFile(out, "utf8")) as BenchReport;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  print(`\n==== both modes ====\n${bothModesTable(reports)}`);
  if (json !== undefined) {
    await writeFile(json, JSON.stringify(reports, null, 2) + "\n");
    print(`\nJSON report (both modes) written to ${json}`);
  }
  return 0;
}

/** One row per workload: each compared subject's ns/op ratio to AS TLSF in each mode, and the target. */
export function bothModesTable(reports: Partial<Record<BenchMode, BenchReport>>): string {
  const ratio = (mode: BenchMode, subject: string, workload: string): number | undefined => {
    const results = reports[mode]?.results ?? [];
    const mine = results.find((r) => r.subject === subject && r.workload === workload);
    const peer = results.find((r) => r.subject === TARGET_PEER && r.workload === workload);
    return mine && peer && "nsPerOp" in mine && "nsPerOp" in peer ? mine.nsPerOp / peer.nsPerOp : undefined;
  };
  const workloads = reports.attached?.workloads ?? reports.detached?.workloads ?? [];
  const header = ["workload", ...COMPARED.flatMap((c) => BENCH_MODES.map((m) => `${c.short} xAS ${m}`)), "target (generic)", "status"];
  const rows = workloads.map(({ id }) => {
    const target = SPEED_TARGETS.find((t) => t.workload === id);
    const generic = BENCH_MODES.map((m) => ratio(m, "memkit-generic", id));
    const status =
      target === undefined ? "" : generic.map((g, k) => `${BENCH_MODES[k]} ${g === undefined ? "n/a" : g <= target.max ? "PASS" : "MISS"}`).join(", ");
    return [id, ...COMPARED.flatMap((c) => BENCH_MODES.map((m) => formatRatio(ratio(m, c.id, id)))), target ? `<= ${target.max.toFixed(2)}` : "-", status];
  });
  const aligns = header.map((_, k) => (k === 0 || k >= header.length - 2 ? "l" : "r"));
  return (
    `ns/op ratio to AS TLSF (< 1 = faster), each mode measured in its own process\n` +
    formatTable(header, rows, aligns) +
    `\n  (the other targets, footprint and GC events, are in each mode's own targets table above)`
  );
}
