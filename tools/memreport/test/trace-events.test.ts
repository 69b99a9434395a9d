import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { EXIT_OK, EXIT_USAGE, TRACE_COUNTERS, main, type CliIo } from "../src/index.js";
import { timelineReport } from "./fixtures/timeline-report.js";

/*
 * `memreport --trace-events out.json report.json`, parsed back as the Trace
 * Event Format documents its JSON Object Format: an object whose
 * "traceEvents" array holds events with "name", "ph", "ts" (microseconds),
 * "pid", "tid" and "args"; counter events ("C") carry numeric series in args,
 * complete events ("X") a "dur", instant events ("i") a scope "s" of g/p/t,
 * metadata events ("M") process_name / thread_name with args.name.
 */

const report = timelineReport();
const dir = mkdtempSync(join(tmpdir(), "memreport-trace-"));
const reportPath = join(dir, "report.json");
writeFileSync(reportPath, JSON.stringify(report));

function run(...argv: string[]): { code: number; err: string; files: Map<string, string> } {
  const result = { code: -1, err: "", files: new Map<string, string>() };
  const io: CliIo = { stdout: () => undefined, stderr: (t) => void (result.err += t), writeFile: (p, t) => void result.files.set(p, t) };
  result.code = main(argv, io);
  return result;
}

type Json = Record<string, unknown>;

/** Checks one event against the format's rules; returns it. */
function checkEvent(e: unknown): Json {
  expect(typeof e === "object" && e !== null && !Array.isArray(e)).toBe(true);
  const ev = e as Json;
  expect(typeof ev.name).toBe("string");
  expect(["C", "X", "i", "M"]).toContain(ev.ph);
  expect(Number.isFinite(ev.ts)).toBe(true);
  expect(Number.isInteger(ev.pid)).toBe(true);
  expect(Number.isInteger(ev.tid)).toBe(true);
  expect(typeof ev.args === "object" && ev.args !== null).toBe(true);
  const args = ev.args as Json;
  if (ev.ph === "C") for (const v of Object.values(args)) expect(Number.isFinite(v)).toBe(true);
  if (ev.ph === "X") expect((ev.dur as number) >= 0).toBe(true);
  if (ev.ph === "i") expect(["g", "p", "t"]).toContain(ev.s);
  if (ev.ph === "M") {
    expect(["process_name", "thread_name"]).toContain(ev.name);
    expect(typeof args.name).toBe("string");
  }
  return ev;
}

describe("memreport --trace-events", () => {
  test("writes the timeline as trace events that parse by the format's documented shape, with the timeline's numbers", () => {
    const out = join(dir, "out.json");
    const r = run("--trace-events", out, reportPath);
    expect(r.code).toBe(EXIT_OK);
    expect(r.err).toMatch(/wrote .*out\.json/);
    const file = JSON.parse(r.files.get(out)!) as Json;
    expect(Array.isArray(file.traceEvents)).toBe(true);
    expect(file.displayTimeUnit).toBe("ms");
    const events = (file.traceEvents as unknown[]).map(checkEvent);
    const t = report.timeline!;
    const counters = (name: string): Json[] => events.filter((e) => e.ph === "C" && e.name === name);
    const live = counters(TRACE_COUNTERS.liveBytes);
    expect(live).toHaveLength(t.frames.length);
    expect(counters(TRACE_COUNTERS.allocs)).toHaveLength(t.frames.length);
    expect(counters(TRACE_COUNTERS.allocators)).toHaveLength(t.frames.length);
    // Timestamps are the sampling clock in microseconds, in frame order.
    live.forEach((e, i) => {
      expect(e.ts).toBe(Math.round(t.timeMs[i]! * 1000));
      if (i > 0) expect(e.ts as number).toBeGreaterThanOrEqual(live[i - 1]!.ts as number);
    });
    const i = 200;
    const physics = t.scopes.find((s) => s.path === "root/physics")!;
    expect((live[i]!.args as Json)["root/physics"]).toBe(physics.liveBytes[i]);
    expect((counters(TRACE_COUNTERS.allocs)[i]!.args as Json)["root/physics"]).toBe(physics.allocs[i]);
    expect((counters(TRACE_COUNTERS.allocators)[i]!.args as Json)["pages handed out"]).toBe(t.allocators.pagesBytes[i]);
    const stages = events.filter((e) => e.ph === "X");
    expect(stages.map((e) => e.name)).toEqual(["load", "play"]);
    expect((stages[1]!.args as Json).startFrame).toBe(20);
    const suspects = events.filter((e) => e.ph === "i");
    expect(suspects.map((e) => e.name)).toEqual(["leak suspect: root/ai"]);
    expect(events.filter((e) => e.ph === "M").map((e) => (e.args as Json).name)).toEqual(["memkit: timeline fixture", "memory", "stages"]);
  });

  test("a report without a timeline, a missing output and a diff are usage errors", () => {
    const bare = join(dir, "bare.json");
    const copy = structuredClone(report);
    delete copy.timeline;
    writeFileSync(bare, JSON.stringify(copy));
    const none = run("--trace-events", join(dir, "x.json"), bare);
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.err).toContain("has no timeline: take it from a memory made with MemoryGlobals.init({ timeline: true })");
    expect(none.files.size).toBe(0);
    expect(run("--trace-events", join(dir, "x.json"), "--html", "y.html", reportPath).code).toBe(EXIT_USAGE);
    expect(run("diff", "--trace-events", "x.json", reportPath, reportPath).code).toBe(EXIT_USAGE);
  });
});
