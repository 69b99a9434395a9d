// The committed wasm (src/hot-paths-wasm.ts) is what assembly/hot-paths.ts compiles to, and that
// source uses layout.ts's numbers. `npm run build:wasm` (UPDATE_WASM=1) rewrites the committed file.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkMemoryModule, declaredConstants } from "@memkit/test-workers";
import * as layout from "../src/layout.js";

const SOURCE = fileURLToPath(new URL("../assembly/hot-paths.ts", import.meta.url));
const OUTPUT = fileURLToPath(new URL("../src/hot-paths-wasm.ts", import.meta.url));

describe("the slot allocator's wasm hot paths", () => {
  it("are what assembly/hot-paths.ts compiles to, for a private and a shared memory", async () => {
    const { committed, fresh } = await checkMemoryModule(SOURCE, OUTPUT, "HOT_PATHS_WASM");
    expect(committed, "src/hot-paths-wasm.ts is stale: run `npm run build:wasm` in packages/slot-allocator").toBe(fresh);
  }, 60_000);

  it("read the layout that layout.ts describes", async () => {
    const declared = await declaredConstants(SOURCE);
    expect(declared.size).toBe(15);
    for (const [name, value] of declared) expect(value, name).toBe((layout as Record<string, unknown>)[name]);
  });
});
