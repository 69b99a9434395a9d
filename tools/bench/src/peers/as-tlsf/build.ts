// Builds the AssemblyScript TLSF peer: assembly/index.ts -> build/as-tlsf.wasm.
// Run by `npm run bench` before the benchmark (`node dist/peers/as-tlsf/build.js`);
// the AS adapter also calls ensureAsTlsfWasm() so tests and direct runs build it on
// first use. Only the local `assemblyscript` package is needed, no network.
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The compiler flags the issue specifies for the peer, plus --importMemory:
 * the bench hands the module a memory reserved up front (see RESERVED_BYTES),
 * as it does for memkit, so no memory grows while anything is timed.
 */
export const AS_TLSF_FLAGS: readonly string[] = ["-O3", "--runtime", "incremental", "--noAssert", "--importMemory"];

// src/peers/as-tlsf/build.ts and dist/peers/as-tlsf/build.js sit at the same depth.
const packageRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The committed AssemblyScript source. */
export const AS_TLSF_SOURCE: string = join(packageRoot, "src", "peers", "as-tlsf", "assembly", "index.ts");

/** Where the wasm goes (gitignored, rebuilt at bench time). */
export const AS_TLSF_WASM: string = join(packageRoot, "build", "as-tlsf.wasm");

/** Compiles the source with asc and writes the wasm (atomically: parallel test workers may race). Returns its path. */
export async function buildAsTlsf(): Promise<string> {
  const { default: asc } = await import("assemblyscript/asc");
  let binary: Uint8Array | undefined;
  const stderr = asc.createMemoryStream();
  const result = await asc.main([AS_TLSF_SOURCE, ...AS_TLSF_FLAGS, "--outFile", "as-tlsf.wasm"], {
    stdout: asc.createMemoryStream(),
    stderr,
    writeFile: (name, contents) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") binary = contents;
    },
  });
  if (result.error || !binary) {
    throw new Error(`asc failed to build the AssemblyScript TLSF peer from ${AS_TLSF_SOURCE}: ${result.error?.message ?? "no wasm emitted"}\n${stderr.toString()}`);
  }
  await mkdir(dirname(AS_TLSF_WASM), { recursive: true });
  const tmp = `${AS_TLSF_WASM}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, binary);
  await rename(tmp, AS_TLSF_WASM);
  return AS_TLSF_WASM;
}

/** The wasm bytes, building them first when missing or older than the source or this script (which holds the flags). */
export async function ensureAsTlsfWasm(): Promise<Uint8Array<ArrayBuffer>> {
  const [src, script, out] = await Promise.all([stat(AS_TLSF_SOURCE), stat(fileURLToPath(import.meta.url)), stat(AS_TLSF_WASM).catch(() => undefined)]);
  if (!out || out.mtimeMs < Math.max(src.mtimeMs, script.mtimeMs)) await buildAsTlsf();
  return readFile(AS_TLSF_WASM);
}

// CLI: `node dist/peers/as-tlsf/build.js`
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  buildAsTlsf().then(
    async (path) => {
      const bytes = (await stat(path)).size;
      console.log(`as-tlsf: built ${path} (${bytes} bytes, asc ${AS_TLSF_FLAGS.join(" ")}) in ${Math.round(performance.now() - started)} ms`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
