// Runs a TypeScript script (a bench, or the README's example) on the packages'
// sources, as plain optimised JS:
//   node bench/run.mjs bench/overhead.ts        (npm run bench)
//   node bench/run.mjs bench/example.ts         (npm run example)
// The script and the workspace packages it imports (their "@memkit/source"
// export, as the tests use) are bundled into one ES module with rolldown (the
// bundler vite ships with), so imported constants are plain bindings, not the
// getters a dev-time module runner would put on every access, then imported.
import { rolldown } from "rolldown";
import { mkdirSync } from "node:fs";
import process from "node:process";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const input = resolve(process.cwd(), process.argv[2] ?? resolve(here, "overhead.ts"));
const outDir = resolve(here, "..", "out", "bench");
mkdirSync(outDir, { recursive: true });
const bundle = await rolldown({
  input,
  platform: "node",
  resolve: { conditionNames: ["@memkit/source", "import", "module", "default"] },
  logLevel: "warn",
});
const file = resolve(outDir, basename(input).replace(/\.ts$/, ".mjs"));
await bundle.write({ file, format: "esm", codeSplitting: false, sourcemap: true });
await bundle.close();
// The example's stacks should name the TypeScript sources (memkit's own frames are then recognised
// and stripped). Not for timing: a source-map hook makes every stack capture several times slower.
if (!basename(input).startsWith("overhead")) process.setSourceMapsEnabled(true);
await import(pathToFileURL(file).href);
