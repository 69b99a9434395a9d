import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadReport } from "../src/index.js";
import { countsGameReport, earlyGameReport, gameReport } from "./fixtures/reports.js";

/*
 * The JSON fixtures on disk (for the CLI tests and the README's examples) are
 * the builder's output; this keeps them from drifting. After changing the
 * builder: MEMREPORT_UPDATE_FIXTURES=1 npx vitest run test/fixtures.test.ts
 */

const DIR = join(import.meta.dirname, "fixtures");

/** The fixture files and what they hold. */
const FIXTURE_FILES = {
  "game-600.json": gameReport,
  "game-100.json": earlyGameReport,
  "game-600-counts.json": countsGameReport,
} as const;

describe("fixture files", () => {
  for (const [file, build] of Object.entries(FIXTURE_FILES)) {
    test(`${file} is the builder's output and loads as a report`, () => {
      const path = join(DIR, file);
      const expected = JSON.stringify(build(), null, 2) + "\n";
      if (process.env.MEMREPORT_UPDATE_FIXTURES === "1") writeFileSync(path, expected);
      expect(readFileSync(path, "utf8"), `${file} is stale: run MEMREPORT_UPDATE_FIXTURES=1 npx vitest run test/fixtures.test.ts`).toBe(expected);
      expect(loadReport(path)).toEqual(build());
    });
  }
});
