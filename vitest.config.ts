// Root config: `npx vitest` here runs every package as its own project.
// `npm test` goes through turbo instead, so each package's run is cached.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "samples/*", "tools/*"],
  },
});
