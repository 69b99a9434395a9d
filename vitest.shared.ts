// One vitest project per package. Tests import workspace packages through the
// "@memkit/source" export condition, so they run on `src/` without a build.
import { defineProject, type UserWorkspaceConfig } from "vitest/config";
import { basename } from "node:path";

const sourceConditions = ["@memkit/source", "module", "node", "import", "default"];

/** The vitest project config every package uses: `definePackageProject(import.meta.dirname)`. */
export function definePackageProject(dir: string, extra: UserWorkspaceConfig["test"] = {}): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions: sourceConditions },
    ssr: { resolve: { conditions: sourceConditions, externalConditions: sourceConditions } },
    test: {
      name: basename(dir),
      root: dir,
      include: ["test/**/*.test.ts"],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      ...extra,
    },
  });
}
