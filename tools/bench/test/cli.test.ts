import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs, runBench } from "../src/main.js";
import type { BenchReport } from "../src/main.js";
import { SUBJECTS } from "../src/subjects/registry.js";
import { formatTable } from "../src/table.js";
import { evaluateTargets } from "../src/targets.js";
import type { SubjectRun } from "../src/runner.js";

describe("parseArgs", () => {
  it("defaults to the full benchmark", () => {
    expect(parseArgs([])).toMatchObject({ workloads: ["A", "B", "C", "D", "E", "T1", "T2"], runs: 5, warmups: 1, quick: false, subjects: undefined, json: undefined, mode: undefined, clock: "wall" });
  });

  it("reads every option", () => {
    expect(parseArgs(["--only", "c,a", "--runs", "3", "--warmup", "0", "--seed", "7", "--subjects", "gc,as-tlsf", "--json", "x.json"])).toMatchObject({
      workloads: ["A", "C"],
      runs: 3,
      warmups: 0,
      seed: 7,
      subjects: ["gc", "as-tlsf"],
      json: "x.json",
    });
    expect(parseArgs(["--quick"])).toMatchObject({ quick: true, runs: 1 });
    expect(parseArgs(["--quick", "--runs", "2"])).toMatchObject({ quick: true, runs: 2 });
    expect(parseArgs(["--help"])).toBeUndefined();
    expect(parseArgs(["--only", "t1"])).toMatchObject({ workloads: ["T1"] });
    expect(parseArgs(["--only", "T2,B"])).toMatchObject({ workloads: ["B", "T2"] });
    expect(parseArgs(["--mode", "detached"])).toMatchObject({ mode: "detached" });
    expect(parseArgs(["--clock", "cpu"])).toMatchObject({ clock: "cpu" });
  });

  it("explains bad input", () => {
    expect(() => parseArgs(["--only", "A,X"])).toThrow(/unknown workload "X"/);
    expect(() => parseArgs(["--runs", "0"])).toThrow(/--runs needs a positive integer/);
    expect(() => parseArgs(["--runs"])).toThrow(/--runs needs a value/);
    expect(() => parseArgs(["--subjects", "jemalloc"])).toThrow(/unknown subject "jemalloc"/);
    expect(() => parseArgs(["--fast"])).toThrow(/unknown option "--fast"/);
    expect(() => parseArgs(["--only", "T3"])).toThrow(/unknown workload "T3"/);
    expect(() => parseArgs(["--mode", "both"])).toThrow(/--mode: expected attached or detached/);
    expect(() => parseArgs(["--clock", "tsc"])).toThrow(/--clock: expected wall or cpu, received "tsc"/);
  });
});

describe("--quick run", () => {
  it("completes, prints a table per workload and the targets, and writes JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "memkit-bench-"));
    try {
      const json = join(dir, "out.json");
      const options = parseArgs(["--quick", "--json", json])!;
      const printed: string[] = [];
      const report = await runBench(options, (text) => printed.push(text));
      const out = printed.join("\n");
      for (const id of ["A", "B", "C", "D", "E", "T1", "T2"]) expect(out).toMatch(new RegExp(`^${id}  `, "m"));
      expect(out).toMatch(/^Targets/m);
      expect(out).toContain("AS TLSF (wasm)");
      expect(out).toContain("@thi.ng/malloc");
      // Every loaded subject produced a number for every workload it supports, with intact blocks.
      for (const entry of SUBJECTS) {
        if (report.unavailable[entry.id] !== undefined) {
          expect(out).toContain(`${entry.label}`);
          expect(report.unavailable[entry.id]).toMatch(/^not built yet/);
          continue;
        }
        for (const w of entry.workloads) {
          const row = report.results.find((r) => r.subject === entry.id && r.workload === w);
          expect(row, `${entry.id} on ${w}`).toBeDefined();
          expect(row && "error" in row ? row.error : "", `${entry.id} on ${w}`).toBe("");
          if (row && "skipped" in row) {
            // Only a subject with limits skips, and it says which.
            expect(entry.serves, `${entry.id} on ${w}`).toBeDefined();
            expect(row.skipped).toMatch(/^n\/a: /);
          } else if (row && "verifyErrors" in row) expect(row.verifyErrors).toBe(0);
        }
      }
      expect(report.targets).toHaveLength(8);
      expect(report.meta).toMatchObject({ mode: "attached", bufferDetached: false });
      const saved = JSON.parse(await readFile(json, "utf8")) as BenchReport;
      expect(saved.results).toHaveLength(report.results.length);
      expect(saved.meta.quick).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("--part run (a child of the both-modes run)", () => {
  it("prints the workload tables only, and still writes the whole report", async () => {
    const dir = await mkdtemp(join(tmpdir(), "memkit-bench-part-"));
    try {
      const json = join(dir, "part.json");
      const printed: string[] = [];
      const report = await runBench(parseArgs(["--quick", "--only", "B", "--subjects", "bare,memkit-generic,as-tlsf", "--mode", "attached", "--part", "--json", json])!, (t) =>
        printed.push(t),
      );
      const out = printed.join("\n");
      expect(out).toMatch(/^B {2}/m);
      expect(out).not.toMatch(/memkit bench|Targets|Notes|JSON report/);
      expect(report.targets.find((t) => t.what.startsWith("B:"))?.status).toMatch(/^(PASS|MISS)$/);
      const saved = JSON.parse(await readFile(json, "utf8")) as BenchReport;
      expect(saved.results.map((r) => r.subject)).toEqual(["bare", "memkit-generic", "as-tlsf"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("targets", () => {
  const run = (nsPerOp: number, peakFootprint = 0, peakLiveBytes = 1, gcCount = 0): SubjectRun => ({
    ops: 1,
    capped: false,
    nsPerOp,
    runsNsPerOp: [nsPerOp],
    gc: { count: gcCount, minor: gcCount, major: 0, other: 0, ms: 0 },
    peakFootprint,
    peakLiveBytes,
    verifyErrors: 0,
  });

  it("compares memkit generic with AS TLSF and reports PASS, MISS and n/a", () => {
    const runs: Record<string, SubjectRun> = {
      "memkit-generic A": run(10),
      "as-tlsf A": run(20),
      "memkit-generic B": run(15),
      "as-tlsf B": run(20),
      "memkit-generic C": run(40, 120, 100),
      "as-tlsf C": run(50),
      "memkit-heap A": run(12, 0, 1, 3),
      "memkit-generic T1": run(30),
      "as-tlsf T1": run(30),
      "memkit-generic T2": run(29),
      "as-tlsf T2": run(30),
    };
    const t = evaluateTargets({ run: (s, w) => runs[`${s} ${w}`], missing: () => undefined, memkitIds: ["memkit-generic", "memkit-heap"] });
    expect(t.map((x) => x.status)).toEqual(["PASS", "MISS", "PASS", "n/a", "PASS", "PASS", "PASS", "MISS"]);
    expect(t[1]!.measured).toMatch(/^0\.75/);
    expect(t[7]!.measured).toBe("memkit-generic 0, memkit-heap 3");
  });

  it("says why a target could not be measured", () => {
    const t = evaluateTargets({ run: () => undefined, missing: (s) => (s === "memkit-generic" ? "not built yet: x" : undefined), memkitIds: [] });
    expect(t[0]).toMatchObject({ status: "n/a", measured: "memkit-generic not built yet" });
    expect(t[7]).toMatchObject({ status: "n/a", measured: "no memkit subject ran" });
  });
});

describe("formatTable", () => {
  it("aligns columns and lets notes span them", () => {
    const text = formatTable(["name", "ns"], [["a", "1.5"], ["long name", "12"], { label: "b", note: "not built yet" }], ["l", "r"], "");
    expect(text.split("\n")).toEqual(["name        ns", "---------  ---", "a          1.5", "long name   12", "b          not built yet"]);
  });
});
