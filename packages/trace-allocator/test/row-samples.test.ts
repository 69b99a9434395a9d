import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ROW_SAMPLE_FIELDS, RS_ALLOCS, RS_BUDGET, RS_FREES, RS_LIVE_BYTES, RS_LIVE_COUNT, RS_PARENT, RS_SERIAL, RS_TOTAL_BYTES, type ScopeReport } from "../src/index.js";
import { makeRoot } from "./helpers.js";

/** Every scope of a report by path. */
function byPath(report: ScopeReport, into = new Map<string, ScopeReport>()): Map<string, ScopeReport> {
  into.set(report.path, report);
  for (const c of report.children) byPath(c, into);
  return into;
}

/** The sampled rows as path -> numbers, paths read back through pathOfRow. */
function sampled(root: ReturnType<typeof makeRoot>["root"]): Map<string, number[]> {
  let out = new Float64Array(ROW_SAMPLE_FIELDS);
  let n = root.sampleRows(out);
  if (n * ROW_SAMPLE_FIELDS > out.length) {
    out = new Float64Array(n * ROW_SAMPLE_FIELDS);
    n = root.sampleRows(out);
  }
  const rows = new Map<string, number[]>();
  for (let r = 0; r < n; r++) {
    const o = r * ROW_SAMPLE_FIELDS;
    if (out[o + RS_SERIAL] === 0) continue;
    const path = root.pathOfRow(r, out[o + RS_SERIAL]! - 1);
    expect(path).toBeDefined();
    rows.set(path!, Array.from(out.subarray(o, o + ROW_SAMPLE_FIELDS)));
  }
  return rows;
}

describe("sampleRows", () => {
  test("matches report() for every scope through random allocations, frees and disposals", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(5), fc.integer({ min: 1, max: 3000 })), { maxLength: 60 }), (steps) => {
        const { root } = makeRoot();
        const scopes = [root.child("a", { budget: 1 << 20 }), root.child("b")];
        scopes.push(scopes[0]!.child("c"));
        const live: { scope: number; ptr: number }[] = [];
        for (const [op, which, size] of steps) {
          const s = which % scopes.length;
          if (op < 2) live.push({ scope: s, ptr: scopes[s]!.allocate(size) });
          else if (op === 2 && live.length > 0) {
            const { scope, ptr } = live.splice(which % live.length, 1)[0]!;
            scopes[scope]!.deallocate(ptr);
          } else if (op === 3 && s === 1 && !live.some((l) => l.scope === 1)) {
            scopes[1]!.dispose();
            scopes[1] = root.child(`b${live.length}`);
          }
        }
        const report = byPath(root.report());
        const rows = sampled(root);
        expect([...rows.keys()].sort()).toEqual([...report.keys()].sort());
        for (const [path, s] of report) {
          const row = rows.get(path)!;
          expect(row[RS_LIVE_BYTES]).toBe(s.liveBytes);
          expect(row[RS_LIVE_COUNT]).toBe(s.liveCount);
          expect(row[RS_TOTAL_BYTES]).toBe(s.totalLiveBytes);
          expect(row[RS_ALLOCS]).toBe(s.allocCount);
          expect(row[RS_FREES]).toBe(s.freeCount);
          expect(row[RS_BUDGET]).toBe(s.budgetBytes ?? 0);
          expect(row[RS_PARENT]! < 0).toBe(path === "root");
        }
        for (const l of live) scopes[l.scope]!.deallocate(l.ptr);
      }),
      { numRuns: 60 },
    );
  });

  test("a short array gets the rows that fit and the count of all of them; a disposed row's path is gone", () => {
    const { root } = makeRoot();
    const a = root.child("a");
    root.child("b");
    const out = new Float64Array(ROW_SAMPLE_FIELDS);
    expect(root.sampleRows(out)).toBe(3);
    const all = new Float64Array(3 * ROW_SAMPLE_FIELDS);
    root.sampleRows(all);
    const serialA = all[ROW_SAMPLE_FIELDS + RS_SERIAL]! - 1;
    expect(root.pathOfRow(1, serialA)).toBe("root/a");
    a.dispose();
    root.sampleRows(all);
    expect(all[ROW_SAMPLE_FIELDS + RS_SERIAL]).toBe(0);
    expect(root.pathOfRow(1, serialA)).toBeUndefined();
    expect(root.pathOfRow(99, 0)).toBeUndefined();
  });
});
