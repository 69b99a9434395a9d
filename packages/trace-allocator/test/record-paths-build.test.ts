// The committed wasm (src/record-paths-wasm.ts) is what assembly/record-paths.ts compiles to, and that
// source uses layout.ts's numbers. `npm run build:wasm` (UPDATE_WASM=1) rewrites the committed file.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkMemoryModule, declaredConstants } from "@memkit/test-workers";
import * as layout from "../src/layout.js";

const SOURCE = fileURLToPath(new URL("../assembly/record-paths.ts", import.meta.url));
const OUTPUT = fileURLToPath(new URL("../src/record-paths-wasm.ts", import.meta.url));

describe("a trace scope's wasm record steps", () => {
  it("are what assembly/record-paths.ts compiles to, for a private and a shared memory", async () => {
    const { committed, fresh } = await checkMemoryModule(SOURCE, OUTPUT, "RECORD_PATHS_WASM");
    expect(committed, "src/record-paths-wasm.ts is stale: run `npm run build:wasm` in packages/trace-allocator").toBe(fresh);
  }, 60_000);

  it("read the layout that layout.ts describes", async () => {
    const declared = await declaredConstants(SOURCE);
    expect(declared.size).toBe(28);
    for (const [name, value] of declared) expect(value, name).toBe((layout as Record<string, unknown>)[name]);
  });
});
