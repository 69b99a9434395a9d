import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT, bundleProgram, modulesOf } from "../lib/bundle.mjs";

/*
 * The minimal browser program (init, one scope, one HashMap) bundled and
 * minified: through @memkit/memory-globals/lean the debug allocators are not
 * in the bundle; through the main entry they are (so `debug: true` works with
 * no extra import). The README states the lean size that `npm run size` prints.
 */

const OUT = join(ROOT, ".vitest-out", "bundles");

describe("the minimal browser program, minified", () => {
  test("leaves the debug allocators out through the lean entry, and runs", async () => {
    const lean = await bundleProgram("minimal-lean.ts", { minify: true });
    expect(modulesOf(lean, "debug-allocators")).toEqual([]);
    expect(modulesOf(lean, "memory-globals").length).toBeGreaterThan(0);
    expect(modulesOf(lean, "containers").length).toBeGreaterThan(0);
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, "minimal-lean.min.mjs");
    writeFileSync(file, lean.code);
    expect(execFileSync(process.execPath, [file], { encoding: "utf8" })).toBe("entity 7: 2.5\n");
  });

  test("carries the debug allocators through the main entry, which is larger by their size", async () => {
    const lean = await bundleProgram("minimal-lean.ts", { minify: true });
    const main = await bundleProgram("minimal.ts", { minify: true });
    expect(modulesOf(main, "debug-allocators").length).toBeGreaterThan(0);
    expect(main.bytes).toBeGreaterThan(lean.bytes);
  });

  test("the README states the lean program's min+gzip size (within 15 % of what it measures now)", async () => {
    const lean = await bundleProgram("minimal-lean.ts", { minify: true });
    const readme = readFileSync(join(ROOT, "..", "..", "README.md"), "utf8");
    const stated = /a minimal program \(init, one scope, one HashMap[^]*?\b(\d+(?:\.\d)?) KiB minified and gzipped/.exec(readme);
    expect(stated, "README.md: 'a minimal program (init, one scope, one HashMap ... N KiB minified and gzipped'").not.toBeNull();
    const kib = lean.gzipBytes / 1024;
    expect(Math.abs(Number(stated![1]) - kib) / kib, `README says ${stated![1]} KiB, measured ${kib.toFixed(1)} KiB`).toBeLessThan(0.15);
  });
});
