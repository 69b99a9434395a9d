// Bundles the page with rolldown: src/main.ts -> dist/game.js (an ES module,
// not minified, so call stacks in the report name the game's functions) and
// src/job-worker.ts -> dist/job-worker.js (the job workers' script), and
// copies public/ (index.html, style.css) beside them. memkit's packages and the
// game resolve to their TypeScript sources (the "@memkit/source" condition),
// so no other package has to be built first.
// `node scripts/build.mjs` builds and prints the bundle's size: raw, and
// minified + gzipped the way tools/bundle-check measures (rolldown's minifier,
// zlib's default level).
/* global console, process */
import { cp, mkdir } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { normalize } from "node:path";
import { URL, fileURLToPath } from "node:url";
import { build } from "rolldown";

const HERE = fileURLToPath(new URL("..", import.meta.url));
export const DIST = fileURLToPath(new URL("../dist", import.meta.url));
const ENTRY = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const WORKER = fileURLToPath(new URL("../src/job-worker.ts", import.meta.url));
const PUBLIC = fileURLToPath(new URL("../public", import.meta.url));

/**
 * @param {string} input
 * @param {string} file
 * @param {boolean} minify
 */
function options(input, file, minify) {
  return {
    input,
    cwd: HERE,
    platform: "browser",
    resolve: { conditionNames: ["@memkit/source", "import", "default"] },
    // The job system imports node:worker_threads only when started without a spawner; the page passes one.
    external: ["node:worker_threads"],
    logLevel: "warn",
    output: { format: "esm", minify, sourcemap: !minify, file },
  };
}

/**
 * Builds dist/: the bundle, its source map, index.html and style.css.
 * @param {{ outDir?: string }} [opts]
 * @returns {Promise<{ dir: string, bytes: number }>}
 */
export async function buildPage(opts = {}) {
  const dir = opts.outDir ?? DIST;
  await mkdir(dir, { recursive: true });
  const result = await build({ ...options(ENTRY, `${dir}/game.js`, false), write: true });
  // The job workers' script (module Web Workers the page starts beside game.js).
  await build({ ...options(WORKER, `${dir}/job-worker.js`, false), write: true });
  await cp(PUBLIC, dir, { recursive: true });
  const chunk = result.output.find((o) => o.type === "chunk");
  if (chunk === undefined) throw new Error("rolldown produced no chunk for src/main.ts");
  return { dir, bytes: Buffer.byteLength(chunk.code) };
}

/**
 * The page's script (or with "worker", the job workers' script) as a game
 * would ship it: minified, and its size gzipped.
 * @param {"page" | "worker"} [which]
 * @returns {Promise<{ bytes: number, gzipBytes: number }>}
 */
export async function measureMinified(which = "page") {
  const input = which === "page" ? ENTRY : WORKER;
  const result = await build({ ...options(input, `${DIST}/bundle.js`, true), write: false });
  const chunk = result.output.find((o) => o.type === "chunk");
  if (chunk === undefined) throw new Error("rolldown produced no chunk for src/main.ts");
  return { bytes: Buffer.byteLength(chunk.code), gzipBytes: gzipSync(chunk.code).length };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const { bytes } = await buildPage();
  const min = await measureMinified();
  const worker = await measureMinified("worker");
  const rolldown = createRequire(import.meta.url)("rolldown/package.json").version;
  console.log(
    `web-game: dist/game.js ${kib(bytes)}; minified ${kib(min.bytes)}, min+gzip ${kib(min.gzipBytes)}; ` +
      `job-worker.js min+gzip ${kib(worker.gzipBytes)} (rolldown ${rolldown}, gzip level 6)`,
  );
}
