// Bundles one of ./programs with rolldown (the bundler the repo already uses),
// resolving memkit's packages to their TypeScript sources, as a game's build
// would resolve them to dist/. Used by the tests and by `npm run size`.
import { build } from "rolldown";
import { gzipSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { URL, fileURLToPath } from "node:url";
import { join } from "node:path";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * @typedef {object} Bundle
 * @property {string} code the bundle's text
 * @property {string[]} modules absolute ids of the modules it holds
 * @property {number} bytes UTF-8 bytes of `code`
 * @property {number} gzipBytes bytes after gzip (zlib's default level, as web servers send it)
 */

/**
 * @param {string} program file name under ./programs, e.g. "leak.ts"
 * @param {{ minify?: boolean, platform?: "browser" | "node", file?: string }} [options]
 *   file: also write the bundle there (an ES module)
 * @returns {Promise<Bundle>}
 */
export async function bundleProgram(program, options = {}) {
  const result = await build({
    input: join(ROOT, "programs", program),
    platform: options.platform ?? "browser",
    resolve: { conditionNames: ["@memkit/source", "import", "default"] },
    output: { format: "esm", minify: options.minify ?? false, ...(options.file === undefined ? {} : { file: options.file }) },
    write: options.file !== undefined,
    logLevel: "warn",
  });
  const chunk = result.output.find((o) => o.type === "chunk");
  if (chunk === undefined) throw new Error(`rolldown produced no chunk for ${program}`);
  const code = chunk.code;
  return {
    code,
    modules: chunk.moduleIds,
    bytes: Buffer.byteLength(code),
    gzipBytes: gzipSync(code).length,
  };
}

/**
 * The modules of a bundle that come from memkit package `name` (e.g. "debug-allocators").
 * @param {Bundle} bundle
 * @param {string} name
 * @returns {string[]}
 */
export function modulesOf(bundle, name) {
  return bundle.modules.filter((id) => id.replaceAll("\\", "/").includes(`/packages/${name}/`));
}
