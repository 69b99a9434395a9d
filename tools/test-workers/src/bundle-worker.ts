import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";

const bundled = new Map<string, Promise<string>>();
let dir: string | undefined;

/**
 * Bundles the worker script at `entry` (TypeScript, importing memkit from
 * source as the tests do) into one ESM file plain node can run in a
 * `Worker`, and returns its path. Each entry is bundled once per process.
 */
export function bundleWorker(entry: URL): Promise<string> {
  const input = fileURLToPath(entry);
  let file = bundled.get(input);
  if (file === undefined) {
    dir ??= mkdtempSync(join(tmpdir(), "memkit-workers-"));
    const out = join(dir, `${bundled.size}-${basename(input).replace(/\.ts$/, ".mjs")}`);
    file = build({
      input,
      platform: "node",
      resolve: { conditionNames: ["@memkit/source", "import", "default"] },
      output: { format: "esm", file: out },
      logLevel: "warn",
    }).then(() => out);
    bundled.set(input, file);
  }
  return file;
}
