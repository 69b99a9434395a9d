import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@memkit/core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { loadReport, parseReport, validateReport } from "../src/index.js";
import { bigMapReport, countsGameReport, earlyGameReport, gameReport } from "./fixtures/reports.js";

function failure(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error("expected an InvalidArgumentError, but the call returned");
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Key = string | number;

/** Paths of every value in a JSON tree (long arrays: the first few items and the last). */
function paths(value: Json, at: Key[] = [], out: Key[][] = []): Key[][] {
  if (at.length > 0) out.push(at);
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (i < 3 || i === value.length - 1) paths(v, [...at, i], out);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  }
  return out;
}

function get(root: Json, path: Key[]): Json {
  return path.reduce<Json>((v, k) => (v as Record<Key, Json>)[k]!, root);
}

/** A value of another JSON type than `v`. */
function wrongType(v: Json, pick: number): Json {
  const choices: Json[] =
    typeof v === "number"
      ? [String(v), null, true]
      : typeof v === "string"
        ? [42, null, ["x"]]
        : typeof v === "boolean"
          ? ["true", 1, null]
          : Array.isArray(v)
            ? [{}, "[]", null]
            : [[], 7, null];
  return choices[pick % choices.length]!;
}

describe("loadReport / parseReport", () => {
  test("accepts every fixture and returns it unchanged", () => {
    for (const report of [gameReport(), earlyGameReport(), countsGameReport(), bigMapReport()]) {
      expect(parseReport(JSON.stringify(report), "fixture")).toEqual(report);
    }
  });

  test("reads a file from disk", () => {
    const dir = mkdtempSync(join(tmpdir(), "memreport-load-"));
    const path = join(dir, "report.json");
    writeFileSync(path, JSON.stringify(gameReport()));
    expect(loadReport(path)).toEqual(gameReport());
  });

  test("a missing file or a directory: one line naming the path", () => {
    const dir = mkdtempSync(join(tmpdir(), "memreport-load-"));
    expect(failure(() => loadReport(join(dir, "nope.json"))).message).toBe(`${join(dir, "nope.json")}: cannot read the report: no such file.`);
    expect(failure(() => loadReport(dir)).message).toBe(`${dir}: cannot read the report: it is a directory.`);
  });

  test("malformed JSON: not a memkit report, with the parser's reason", () => {
    const text = JSON.stringify(gameReport()).slice(0, 200);
    const err = failure(() => parseReport(text, "cut.json"));
    expect(err.message).toMatch(/^cut\.json: not a memkit memory report: the file is not valid JSON \(.+\)\.$/);
    expect(err.message).not.toContain("\n");
  });

  test("JSON that is not a report: missing or wrong schema", () => {
    expect(failure(() => parseReport("[1, 2]", "a.json")).message).toBe(
      'a.json: not a memkit memory report: expected a JSON object with "schema": "memkit.memory-report/1", found an array.',
    );
    expect(failure(() => parseReport('{"label": "x"}', "b.json")).message).toBe(
      'b.json: not a memkit memory report: no "schema" field (expected "memkit.memory-report/1").',
    );
    expect(failure(() => parseReport('{"schema": "speedscope"}', "c.json")).message).toBe(
      'c.json: not a memkit memory report: "schema" is "speedscope" (expected "memkit.memory-report/1").',
    );
    expect(failure(() => parseReport(JSON.stringify({ ...gameReport(), schema: "memkit.memory-report/2" }), "d.json")).message).toBe(
      'd.json: not a memkit memory report: "schema" is "memkit.memory-report/2"; this memreport reads "memkit.memory-report/1" (use the memreport of the memkit that wrote it).',
    );
  });

  test("names the field that is wrong", () => {
    const report = gameReport();
    const bad = structuredClone(report) as unknown as { scopes: { children: { liveBytes: unknown }[] } };
    bad.scopes.children[1]!.liveBytes = "lots";
    expect(failure(() => validateReport(bad, "r.json")).message).toBe(
      'r.json: scopes.children[1] (root/physics).liveBytes must be an integer >= 0, found string "lots".',
    );
    const short = structuredClone(report);
    short.memoryMap.pageScope.pop();
    expect(failure(() => validateReport(short, "r.json")).message).toBe(
      `r.json: memoryMap.pageScope has ${short.memoryMap.pageScope.length} entries but pageUse has ${short.memoryMap.pageUse.length}; they describe the same pages.`,
    );
    const folded = structuredClone(report);
    folded.folded.liveCount = "root;level 12\nroot;;x 3\n";
    expect(failure(() => validateReport(folded, "r.json")).message).toBe(
      'r.json: folded.liveCount: parseFoldedStacks: line 2 is not "frame;frame value": "root;;x 3".',
    );
    const overlap = structuredClone(report);
    overlap.memoryMap.spans[1]!.start -= 4096;
    expect(failure(() => validateReport(overlap, "r.json")).message).toMatch(/^r\.json: memoryMap\.spans\[1\]\.start \(\d+\) overlaps the span before it/);
    const use = structuredClone(report);
    use.memoryMap.pageUse[3] = 5000;
    expect(failure(() => validateReport(use, "r.json")).message).toBe("r.json: memoryMap.pageUse[3] must be -1 or a byte count 0..4096, found 5000.");
    const scope = structuredClone(report);
    scope.memoryMap.pageScope[0] = scope.memoryMap.scopePaths.length;
    expect(failure(() => validateReport(scope, "r.json")).message).toContain("memoryMap.pageScope[0] must be -1 or an index into scopePaths");
    const page = structuredClone(report);
    page.memoryMap.pageSize = 3000;
    expect(failure(() => validateReport(page, "r.json")).message).toBe("r.json: memoryMap.pageSize must be a power of two, found 3000.");
  });

  test("every field given a value of the wrong type is refused, in one line naming that field", () => {
    const report = gameReport() as unknown as Json;
    const all = paths(report);
    expect(all.length).toBeGreaterThan(300);
    all.forEach((path, i) => {
      const copy = structuredClone(report);
      const parent = get(copy, path.slice(0, -1)) as Record<Key, Json>;
      const key = path[path.length - 1]!;
      parent[key] = wrongType(get(copy, path), i);
      const err = failure(() => validateReport(copy, "mutated.json"));
      expect(err.message.startsWith("mutated.json: "), path.join(".")).toBe(true);
      expect(err.message).not.toContain("\n");
      expect(err.message, path.join(".")).toContain(typeof key === "number" ? `[${key}]` : key);
    });
  });

  test("property: random JSON values are refused with one line, never a crash", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const err = failure(() => validateReport(value, "random.json"));
        expect(err.message.startsWith("random.json: not a memkit memory report")).toBe(true);
        expect(err.message).not.toContain("\n");
      }),
      { numRuns: 300 },
    );
  });
});
