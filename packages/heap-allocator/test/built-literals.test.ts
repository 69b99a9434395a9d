import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";
import { describe, expect, it } from "vitest";

// allocate() and deallocate() name the layout (W_SL_MAP, FL_CLZ, ...); the package build must turn
// every name into a number, or each use becomes a module-variable load in the hottest code
// (docs/perf-log.md, round 5). layout.ts keeps that true by computing its constants from literals
// only; this bundles the package as scripts/build-package.mjs does and reads the two functions.

async function builtSource(): Promise<string> {
  const bundle = await rolldown({
    input: fileURLToPath(new URL("../src/index.ts", import.meta.url)),
    platform: "neutral",
    external: (id) => !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0"),
    transform: { target: "es2022" },
    treeshake: true,
    logLevel: "silent",
  });
  const { output } = await bundle.generate({ format: "esm" });
  await bundle.close();
  return output.map((chunk) => ("code" in chunk ? chunk.code : "")).join("\n");
}

/** The text of method `name` in the bundle: from its head to the closing brace at its indentation. */
function methodText(code: string, head: string): string {
  const start = code.indexOf(`\t${head}`);
  expect(start, `${head} in the bundle`).toBeGreaterThanOrEqual(0);
  const end = code.indexOf("\n\t}\n", start);
  return code.slice(start, end);
}

describe("the built allocate() and deallocate()", () => {
  it("hold the layout as numbers, not as loads of module variables", async () => {
    const code = await builtSource();
    for (const head of ["allocate(size, align = 8) {", "deallocate(ptr) {"]) {
      const body = methodText(code, head);
      const names = body.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b(?:GRANULE|FREE)\b/g) ?? [];
      expect(names, head).toEqual([]);
      expect(body, head).toMatch(/r \+ 22 \+ fl/); // W_SL_MAP, as a number
    }
  }, 30_000);
});
