// Its own file, so its own process: detaching a buffer switches V8's checks for the whole process.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBothModes } from "../src/both-modes.js";
import { parseArgs, runBench } from "../src/main.js";
import type { BenchReport } from "../src/main.js";
import { enterMode } from "../src/modes.js";

describe("bench modes", () => {
  /** A child's report: `ns` ns/op per subject on one workload, as a child run with --only W writes it. */
  const part = (mode: string, workload: string, ns: Record<string, number>): BenchReport =>
    ({
      workloads: [{ id: workload }],
      unavailable: {},
      results: Object.entries(ns).map(([subject, nsPerOp]) => ({
        subject,
        workload,
        nsPerOp,
        gc: { count: 0, minor: 0, major: 0, other: 0, ms: 0 },
        peakFootprint: 100,
        peakLiveBytes: 100,
      })),
      meta: { mode },
    }) as unknown as BenchReport;

  it("runs each mode and each workload in a child with the same arguments, then prints the targets and both modes' ratios", async () => {
    const calls: string[][] = [];
    const printed: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), "memkit-modes-"));
    const json = join(dir, "both.json");
    const code = await runBothModes(
      ["--quick", "--json", json, "--only", "A,T1", "--subjects", "memkit-generic,memkit-heap,as-tlsf"],
      (t) => printed.push(t),
      async (args) => {
        calls.push([...args]);
        const mode = args[args.indexOf("--mode") + 1]!;
        const workload = args[args.indexOf("--only") + 1]!;
        const generic = mode === "attached" ? 12 : 16;
        const ns: Record<string, number> =
          workload === "A"
            ? { "memkit-generic": generic, "as-tlsf": 20 }
            : { "memkit-generic": 2 * generic, "as-tlsf": 30, "memkit-heap": 45 };
        await writeFile(args[args.indexOf("--json") + 1]!, JSON.stringify(part(mode, workload, ns)));
        return 0;
      },
    );
    expect(code).toBe(0);
    // attached A, attached T1, detached A, detached T1: each child gets the other arguments unchanged.
    expect(calls.map((c) => [c[c.indexOf("--mode") + 1], c[c.indexOf("--only") + 1]])).toEqual([
      ["attached", "A"],
      ["attached", "T1"],
      ["detached", "A"],
      ["detached", "T1"],
    ]);
    for (const c of calls) {
      expect(c[0]).toBe("--expose-gc");
      expect(c[1]).toMatch(/main\.(js|ts)$/);
      expect(c.slice(2, 5)).toEqual(["--quick", "--subjects", "memkit-generic,memkit-heap,as-tlsf"]);
      expect(c).toContain("--part");
      expect(c.filter((a) => a === "--only")).toHaveLength(1);
    }
    const table = printed.join("\n");
    // Each mode's targets, judged on its workloads together.
    expect(table).toMatch(/Targets, mode attached[\s\S]*A: memkit generic ns\/op \/ AS TLSF ns\/op +<= 0\.70 +PASS +0\.60 \(12\.0 \/ 20\.0 ns\)/);
    expect(table).toMatch(/Targets, mode detached[\s\S]*T1: memkit generic ns\/op \/ AS TLSF ns\/op +<= 1\.00 +MISS +1\.07 \(32\.0 \/ 30\.0 ns\)/);
    // A: 12/20 and 16/20; T1: 24/30 and 32/30, heap 1.5 both.
    expect(table).toMatch(/^ {2}A +0\.60 +0\.80 +- +- +<= 0\.70 +attached PASS, detached MISS$/m);
    expect(table).toMatch(/^ {2}T1 +0\.80 +1\.07 +1\.50 +1\.50 +<= 1\.00 +attached PASS, detached MISS$/m);
    // --json is the parent's: FILE gets both modes, each with its workloads in one report; each child writes its own elsewhere.
    const saved = JSON.parse(await readFile(json, "utf8")) as Record<string, BenchReport>;
    expect(Object.keys(saved)).toEqual(["attached", "detached"]);
    expect(saved.detached!.meta.mode).toBe("detached");
    expect(saved.detached!.workloads.map((w) => w.id)).toEqual(["A", "T1"]);
    expect(saved.detached!.results).toHaveLength(5);
    expect(saved.attached!.targets.find((t) => t.what.startsWith("A:"))).toMatchObject({ status: "PASS" });
    expect(calls[0]![calls[0]!.indexOf("--json") + 1]).not.toBe(json);
    await rm(dir, { recursive: true, force: true });
  });

  it("--rounds N alternates the modes N times and judges the targets by the median", async () => {
    const calls: string[][] = [];
    const printed: string[] = [];
    // Generic ns/op on A per call, in call order (attached, detached, attached, ...); AS TLSF is 20 throughout.
    const generic = [12, 18, 16, 13, 14, 30];
    const dir = await mkdtemp(join(tmpdir(), "memkit-rounds-"));
    const json = join(dir, "rounds.json");
    const code = await runBothModes(
      ["--only", "A", "--rounds", "3", "--json", json],
      (t) => printed.push(t),
      async (args) => {
        const mode = args[args.indexOf("--mode") + 1]!;
        const ns = generic[calls.length]!;
        calls.push([...args]);
        await writeFile(args[args.indexOf("--json") + 1]!, JSON.stringify(part(mode, "A", { "memkit-generic": ns, "as-tlsf": 20 })));
        return 0;
      },
    );
    expect(code).toBe(0);
    expect(calls.map((c) => c[c.indexOf("--mode") + 1])).toEqual(["attached", "detached", "attached", "detached", "attached", "detached"]);
    // The children never see --rounds (nor the parent's --json file).
    for (const c of calls) expect(c).not.toContain("--rounds");
    const table = printed.join("\n");
    expect(table).toMatch(/round 3 of 3/);
    expect(table).toMatch(/median of 3 rounds/);
    // Attached 0.60, 0.80, 0.70 -> median 0.70 (PASS at <= 0.70); detached 0.90, 0.65, 1.50 -> 0.90.
    expect(table).toMatch(/^ {2}A +0\.70 \(0\.60\.\.0\.80\) +0\.90 \(0\.65\.\.1\.50\) +- +- +<= 0\.70 +attached PASS, detached MISS$/m);
    const saved = JSON.parse(await readFile(json, "utf8")) as { rounds: Record<string, BenchReport>[] };
    expect(saved.rounds).toHaveLength(3);
    expect(saved.rounds[2]!.detached!.results[0]).toMatchObject({ nsPerOp: 30 });
    await rm(dir, { recursive: true, force: true });
  });

  it("--rounds is for both modes: with --mode it is refused", () => {
    expect(() => parseArgs(["--mode", "attached", "--rounds", "2"])).toThrow(/drop --mode attached, or drop --rounds/);
    expect(() => parseArgs(["--rounds", "0"])).toThrow(/--rounds needs a positive integer/);
    expect(parseArgs(["--rounds", "4"])!.rounds).toBe(4);
    expect(parseArgs([])!.rounds).toBe(1);
  });

  it("stops at a child that fails", async () => {
    const printed: string[] = [];
    const calls: string[][] = [];
    const runChild = (args: readonly string[]): Promise<number> => {
      calls.push([...args]);
      return Promise.resolve(3);
    };
    expect(await runBothModes(["--quick", "--subjects", "bare"], (t) => printed.push(t), runChild)).toBe(3);
    expect(calls).toHaveLength(1);
    expect(printed.join("\n")).toMatch(/mode attached, workload A: the child process exited with code 3/);
  });

  it("--part is for the children: it needs --mode", () => {
    expect(() => parseArgs(["--part"])).toThrow(/give it --mode/);
    expect(parseArgs(["--part", "--mode", "detached"])!.part).toBe(true);
  });

  it("detached mode detaches a buffer before the run and says so", async () => {
    const report = await runBench(parseArgs(["--quick", "--only", "A", "--subjects", "bare,memkit-generic", "--mode", "detached"])!, () => {});
    expect(report.meta).toMatchObject({ mode: "detached", bufferDetached: true });
    expect(report.results.find((r) => r.subject === "memkit-generic")).toMatchObject({ verifyErrors: 0 });
    expect(enterMode("attached")).toBe(false);
  });
});
