// One vitest project per package. Tests import workspace packages through the
// "@memkit/source" export condition, so they run on `src/` without a build.
import { defineConfig, type ViteUserConfig } from "vitest/config";
import { basename } from "node:path";

const sourceConditions = ["@memkit/source", "module", "node", "import", "default"];

type TestOptions = NonNullable<ViteUserConfig["test"]>;

/** The vitest config every package uses: `definePackageProject(import.meta.dirname)`. */
export function definePackageProject(dir: string, extra: TestOptions = {}): ViteUserConfig {
  return defineConfig({
    resolve: { conditions: sourceConditions },
    ssr: { resolve: { conditions: sourceConditions, externalConditions: sourceConditions } },
    test: {
      name: basename(dir),
      root: dir,
      include: ["test/**/*.test.ts"],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      // Each package writes its own JSON report; turbo caches it and .ci/run sums them.
      reporters: ["default", "json"],
      outputFile: { json: ".vitest-out/results.json" },
      ...extra,
    },
  });
}
