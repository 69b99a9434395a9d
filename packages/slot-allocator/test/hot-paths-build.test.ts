// The committed wasm (src/hot-paths-wasm.ts) is what assembly/hot-paths.ts compiles to, and that
// source uses layout.ts's numbers. `npm run build:wasm` (UPDATE_WASM=1) rewrites the committed file.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HOT_PATHS_WASM } from "../src/hot-paths-wasm.js";
import * as layout from "../src/layout.js";

const SOURCE = fileURLToPath(new URL("../assembly/hot-paths.ts", import.meta.url));
const OUTPUT = fileURLToPath(new URL("../src/hot-paths-wasm.ts", import.meta.url));

const COMMON = ["-O3", "--runtime", "stub", "--noAssert", "--importMemory", "--noExportMemory", "--use", "abort="];
// A shared memory imports only as shared, with a maximum: wasm32's whole 65536 pages, so any memory fits.
const SHARED = ["--enable", "threads", "--sharedMemory", "--maximumMemory", "65536"];

async function compile(flags: readonly string[]): Promise<string> {
  const { default: asc } = await import("assemblyscript/asc");
  let binary: Uint8Array | undefined;
  const stderr = asc.createMemoryStream();
  const result = await asc.main([SOURCE, ...COMMON, ...flags, "--outFile", "out.wasm"], {
    stdout: asc.createMemoryStream(),
    stderr,
    writeFile: (name, contents) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") binary = contents;
    },
  });
  if (result.error || binary === undefined) throw new Error(`asc failed on ${SOURCE}: ${result.error?.message ?? "no wasm emitted"}\n${stderr.toString()}`);
  return Buffer.from(binary).toString("base64");
}

function generated(privateWasm: string, sharedWasm: string): string {
  return (
    "// Generated from assembly/hot-paths.ts by `npm run build:wasm` (test/hot-paths-build.test.ts): do not edit.\n" +
    "// The module for a private memory, and for a shared one (its import says shared, up to 65536 pages).\n" +
    "export const HOT_PATHS_WASM = {\n" +
    `  private: "${privateWasm}",\n` +
    `  shared: "${sharedWasm}",\n` +
    "} as const;\n"
  );
}

describe("the slot allocator's wasm hot paths", () => {
  it("are what assembly/hot-paths.ts compiles to, for a private and a shared memory", async () => {
    const text = generated(await compile([]), await compile(SHARED));
    if (process.env.UPDATE_WASM === "1") await writeFile(OUTPUT, text);
    expect(await readFile(OUTPUT, "utf8"), "src/hot-paths-wasm.ts is stale: run `npm run build:wasm` in packages/slot-allocator").toBe(text);
    expect(HOT_PATHS_WASM.private.length).toBeGreaterThan(0);
  }, 60_000);

  it("read the layout that layout.ts describes", async () => {
    const source = await readFile(SOURCE, "utf8");
    const declared = new Map(Array.from(source.matchAll(/^const (\w+): u32 = ([\d_x a-f]+);/gm), (m) => [m[1]!, Number(m[2]!.replace(/_/g, ""))]));
    expect(declared.size).toBe(15);
    for (const [name, value] of declared) expect(value, name).toBe((layout as Record<string, unknown>)[name]);
  });
});
