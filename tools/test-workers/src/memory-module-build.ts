// Test support for memory modules (core's MemoryModule): the wasm an allocator
// ships as base64 in a generated source file must be what its AssemblyScript
// source compiles to, and that source must use the allocator's layout.
import { readFile, writeFile } from "node:fs/promises";
import { dirname, relative } from "node:path";

const COMMON = ["-O3", "--runtime", "stub", "--noAssert", "--importMemory", "--noExportMemory", "--use", "abort="];
// A shared memory imports only as shared, with a maximum: wasm32's whole 65536 pages, so any memory fits.
const SHARED = ["--enable", "threads", "--sharedMemory", "--maximumMemory", "65536"];

/**
 * What this file uses of `assemblyscript/asc`. Imported by a name TypeScript
 * does not resolve: asc's own declarations bring AssemblyScript's globals
 * (an `Array.prototype.at` that never returns undefined, ...) into every
 * program that imports this package.
 */
interface Asc {
  main(argv: string[], options: { stdout: unknown; stderr: unknown; writeFile: (name: string, contents: Uint8Array | string) => void }): Promise<{ error: Error | null }>;
  createMemoryStream(): { toString(): string };
}
const ASC_MODULE = "assemblyscript/asc";

async function compile(source: string, flags: readonly string[]): Promise<string> {
  const { default: asc } = (await import(/* @vite-ignore */ ASC_MODULE)) as { default: Asc };
  let binary: Uint8Array | undefined;
  const stderr = asc.createMemoryStream();
  const result = await asc.main([source, ...COMMON, ...flags, "--outFile", "out.wasm"], {
    stdout: asc.createMemoryStream(),
    stderr,
    writeFile: (name, contents) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") binary = contents;
    },
  });
  if (result.error || binary === undefined) throw new Error(`asc failed on ${source}: ${result.error?.message ?? "no wasm emitted"}\n${stderr.toString()}`);
  return Buffer.from(binary).toString("base64");
}

/**
 * Compiles `source` (AssemblyScript) for a private and a shared memory and
 * returns the generated TypeScript that exports them as `name`. With
 * UPDATE_WASM=1 in the environment it also writes that text to `output`.
 * Returns what `output` holds now and what it should hold.
 */
export async function checkMemoryModule(source: string, output: string, name: string): Promise<{ committed: string; fresh: string }> {
  const from = relative(dirname(dirname(output)), source); // from the package root
  const fresh =
    `// Generated from ${from} by \`npm run build:wasm\` in this package: do not edit.\n` +
    "// The module for a private memory, and for a shared one (its import says shared, up to 65536 pages).\n" +
    `export const ${name} = {\n` +
    `  private: "${await compile(source, [])}",\n` +
    `  shared: "${await compile(source, SHARED)}",\n` +
    "} as const;\n";
  if (process.env.UPDATE_WASM === "1") await writeFile(output, fresh);
  return { committed: await readFile(output, "utf8"), fresh };
}

/** The `const NAME: u32 = value;` declarations of an AssemblyScript source, by name. */
export async function declaredConstants(source: string): Promise<Map<string, number>> {
  const text = await readFile(source, "utf8");
  return new Map(Array.from(text.matchAll(/^const (\w+): u32 = ([\dxa-f_]+);/gm), (m) => [m[1]!, Number(m[2]!.replace(/_/g, ""))]));
}
