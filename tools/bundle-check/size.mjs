// `npm run size`: bundles the minimal browser program (init, one scope, one
// HashMap; programs/minimal*.ts) with rolldown for the browser, and prints its
// size raw, minified and minified+gzipped, through the lean entry and the main
// entry, and whether the debug allocators are in the bundle.
/* global console */
import { createRequire } from "node:module";
import { bundleProgram, modulesOf } from "./lib/bundle.mjs";

const KIB = 1024;
const kib = (bytes) => `${(bytes / KIB).toFixed(1)} KiB`;
const rolldown = createRequire(import.meta.url)("rolldown/package.json").version;

const entries = [
  ["@memkit/memory-globals/lean", "minimal-lean.ts"],
  ["@memkit/memory-globals", "minimal.ts"],
];

console.log(`minimal browser program (init, one scope, one HashMap), rolldown ${rolldown}, platform browser, gzip level 6`);
const rows = [["entry", "raw", "minified", "min+gzip", "debug allocators"]];
for (const [entry, program] of entries) {
  const raw = await bundleProgram(program);
  const min = await bundleProgram(program, { minify: true });
  const debugModules = modulesOf(min, "debug-allocators").length;
  rows.push([entry, kib(raw.bytes), kib(min.bytes), kib(min.gzipBytes), debugModules === 0 ? "absent" : `present (${debugModules} modules)`]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const row of rows) console.log(row.map((cell, c) => (c === 0 || c === 4 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd());
