// The `build` of every package under packages/: run in the package's folder.
// - rolldown bundles each entry of package.json `exports` (its `@memkit/source`
//   file) to the `default` path under dist/, one ES module per entry (shared
//   code in a chunk beside them). Every bare import (other @memkit packages)
//   stays an import: one module instance per package in a program.
// - tsc emits only the `.d.ts` files (and their maps), as before.
// Why bundle: V8 constant-folds a module's own non-exported consts and inlines
// its own functions without a call-target check, but loads an imported binding
// from its module cell on every use. In one module per package, the layout
// constants the hot paths read become module-local (docs/perf-log.md,
// "Bundled builds", 2026-12-07).
/* global console, process */
import { rmSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join, posix } from "node:path";
import { build } from "rolldown";

const cwd = process.cwd();
const pkg = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8"));

/** [name under dist/ without .js, source file] for every export entry. */
const entries = Object.values(pkg.exports ?? {}).map((target) => {
  const source = target["@memkit/source"];
  const out = target.default;
  if (typeof source !== "string" || typeof out !== "string" || !out.startsWith("./dist/") || !out.endsWith(".js")) {
    throw new Error(`${pkg.name}: every exports entry needs "@memkit/source" and a "default" under ./dist/ ending in .js`);
  }
  return [posix.relative("./dist", out).slice(0, -".js".length), source];
});
if (entries.length === 0) throw new Error(`${pkg.name}: no exports to build`);

rmSync(join(cwd, "dist"), { recursive: true, force: true });

await build({
  cwd,
  input: Object.fromEntries(entries),
  platform: "neutral",
  // Bare specifiers are other packages (resolved at run time to their own builds); relative ones are bundled.
  external: (id) => !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0"),
  transform: { target: "es2022" },
  treeshake: true,
  output: {
    dir: "dist",
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "chunks/[name]-[hash].js",
    sourcemap: true,
  },
  logLevel: "warn",
});

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const types = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--emitDeclarationOnly"], { cwd, stdio: "inherit" });
if (types.status !== 0) {
  console.error(`${pkg.name}: tsc --emitDeclarationOnly failed`);
  process.exit(types.status ?? 1);
}
