import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { measureMinified } from "../scripts/build.mjs";

/* The README states the page's bundle size (min+gzip); it must stay what the build measures. */

describe("bundle size", () => {
  test("the README states the page's min+gzip size (within 15 % of what it measures now)", async () => {
    const { gzipBytes } = await measureMinified();
    const kib = gzipBytes / 1024;
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
    const stated = /min\+gzip (\d+(?:\.\d+)?) KiB/.exec(readme);
    expect(stated, "README.md: 'min+gzip N KiB'").not.toBeNull();
    expect(Math.abs(Number(stated![1]) - kib) / kib, `README says ${stated![1]} KiB, measured ${kib.toFixed(1)} KiB`).toBeLessThan(0.15);
  });
});
