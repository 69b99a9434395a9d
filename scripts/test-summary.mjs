// Sums vitest's JSON reports (one per package, written by `npm test`) into the
// closing line CI reads: "N passed, M failed". Exits 1 when a test failed or
// when no report was found.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
let reports = 0;
for (const group of ["packages", "samples", "tools"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const file = join(dir, name, ".vitest-out", "results.json");
    if (!existsSync(file)) continue;
    const r = JSON.parse(readFileSync(file, "utf8"));
    reports++;
    passed += r.numPassedTests ?? 0;
    failed += (r.numFailedTests ?? 0) + countFilesFailedWithoutTests(r);
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}

// A test file that fails to load (or fails outside any test) has no failed tests of its own: count it as
// one failure. (numFailedTestSuites counts describe blocks too, so it cannot be used here.)
function countFilesFailedWithoutTests(r) {
  return (r.testResults ?? []).filter((s) => s.status === "failed" && !(s.assertionResults ?? []).some((t) => t.status === "failed")).length;
}

if (reports === 0) {
  console.log("0 passed, 1 failed");
  console.error("no vitest JSON report found: did `npm test` run?");
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
