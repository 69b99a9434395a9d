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
  it("runs each mode in a child with the same arguments, then prints both modes' ratios with the targets", async () => {
    const calls: string[][] = [];
    const printed: string[] = [];
    const fake = (mode: string, generic: number): BenchReport =>
      ({
        workloads: [{ id: "A" }, { id: "T1" }],
        results: [
          { subject: "memkit-generic", workload: "A", nsPerOp: generic },
          { subject: "as-tlsf", workload: "A", nsPerOp: 20 },
          { subject: "memkit-generic", workload: "T1", nsPerOp: 2 * generic },
          { subject: "as-tlsf", workload: "T1", nsPerOp: 30 },
          { subject: "memkit-heap", workload: "T1", nsPerOp: 45 },
        ],
        meta: { mode },
      }) as unknown as BenchReport;
    const dir = await mkdtemp(join(tmpdir(), "memkit-modes-"));
    const json = join(dir, "both.json");
    const code = await runBothModes(
      ["--quick", "--json", json, "--only", "A,T1"],
      (t) => printed.push(t),
      async (args) => {
        calls.push([...args]);
        const mode = args[args.indexOf("--mode") + 1]!;
        await writeFile(args[args.indexOf("--json") + 1]!, JSON.stringify(fake(mode, mode === "attached" ? 12 : 16)));
        return 0;
      },
    );
    expect(code).toBe(0);
    expect(calls).toHaveLength(2);
    for (const [k, mode] of ["attached", "detached"].entries()) {
      expect(calls[k]!.slice(0, 1)).toEqual(["--expose-gc"]);
      expect(calls[k]![1]).toMatch(/main\.(js|ts)$/);
      expect(calls[k]!.slice(2, 5)).toEqual(["--quick", "--only", "A,T1"]);
      expect(calls[k]!.slice(5, 7)).toEqual(["--mode", mode]);
    }
    const table = printed.join("\n");
    // A: 12/20 and 16/20; T1: 24/30 and 32/30, heap 1.5 both.
    expect(table).toMatch(/^ {2}A +0\.60 +0\.80 +- +- +<= 0\.70 +attached PASS, detached MISS$/m);
    expect(table).toMatch(/^ {2}T1 +0\.80 +1\.07 +1\.50 +1\.50 +<= 1\.00 +attached PASS, detached MISS$/m);
    // --json is the parent's: FILE gets both reports; each child writes its own elsewhere.
    const saved = JSON.parse(await readFile(json, "utf8")) as Record<string, BenchReport>;
    expect(Object.keys(saved)).toEqual(["attached", "detached"]);
    expect(saved.detached!.meta.mode).toBe("detached");
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
        const report = {
          workloads: [{ id: "A" }],
          results: [
            { subject: "memkit-generic", workload: "A", nsPerOp: ns },
            { subject: "as-tlsf", workload: "A", nsPerOp: 20 },
          ],
          meta: { mode },
        };
        await writeFile(args[args.indexOf("--json") + 1]!, JSON.stringify(report));
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
    expect(await runBothModes(["--quick"], (t) => printed.push(t), () => Promise.resolve(3))).toBe(3);
    expect(printed.join("\n")).toMatch(/mode attached: the child process exited with code 3/);
  });

  it("detached mode detaches a buffer before the run and says so", async () => {
    const report = await runBench(parseArgs(["--quick", "--only", "A", "--subjects", "bare,memkit-generic", "--mode", "detached"])!, () => {});
    expect(report.meta).toMatchObject({ mode: "detached", bufferDetached: true });
    expect(report.results.find((r) => r.subject === "memkit-generic")).toMatchObject({ verifyErrors: 0 });
    expect(enterMode("attached")).toBe(false);
  });
});
