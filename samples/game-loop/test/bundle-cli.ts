import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";

/**
 * The CLI bundled from its sources (memkit resolved to src, as the tests run
 * it) into a fresh directory, with `worker` (a TypeScript entry) bundled as
 * the job-worker.js the CLI starts for --workers N, next to it as in dist/.
 * Returns the CLI's path; run it with plain node.
 */
export async function bundleCli(worker: URL): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "memkit-game-jobs-"));
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  const options = {
    platform: "node" as const,
    resolve: { conditionNames: ["@memkit/source", "import", "default"] },
    transform: { target: "es2022" }, // Node 20 has no `using` syntax
    logLevel: "warn" as const,
  };
  const cli = join(dir, "game.js");
  await build({ ...options, input: fileURLToPath(new URL("../src/main.ts", import.meta.url)), output: { format: "esm", file: cli } });
  await build({ ...options, input: fileURLToPath(worker), output: { format: "esm", file: join(dir, "job-worker.js") } });
  return cli;
}
