// Builds the AssemblyScript module twice from assembly/particles.ts (see the
// comment there): particles.wasm on memkit's heap, particles-tlsf.wasm on
// AssemblyScript's own TLSF (the bench's peer). Run by `npm run build`; the
// outputs are committed. Only the local `assemblyscript` package is needed.
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_ROOT, PARTICLES_TLSF_WASM, PARTICLES_WASM } from "./paths.js";
import { PARTICLES_MEMORY_BASE } from "./layout.js";

export const PARTICLES_SOURCE: string = join(PACKAGE_ROOT, "assembly", "particles.ts");

const COMMON = ["-O3", "--noAssert", "--importMemory", "--noExportMemory", "--use", "abort="];

/** The two builds: output path and the flags beyond COMMON. */
export const AS_BUILDS: readonly { out: string; flags: readonly string[] }[] = [
  // memkit's heap: no runtime allocator may be linked (checked below); names kept for call stacks.
  { out: PARTICLES_WASM, flags: ["--runtime", "stub", "--use", "BUILTIN_HEAP=0", "--memoryBase", String(PARTICLES_MEMORY_BASE), "--debug"] },
  // The module's own TLSF heap, in a memory of its own.
  { out: PARTICLES_TLSF_WASM, flags: ["--runtime", "minimal", "--use", "BUILTIN_HEAP=1"] },
];

/** Compiles one build; returns the binary (and checks the memkit build never grows memory itself). */
export async function compileParticles(build: (typeof AS_BUILDS)[number]): Promise<Uint8Array> {
  const { default: asc } = await import("assemblyscript/asc");
  let binary: Uint8Array | undefined;
  let text = "";
  const stderr = asc.createMemoryStream();
  const result = await asc.main([PARTICLES_SOURCE, ...COMMON, ...build.flags, "--outFile", "out.wasm", "--textFile", "out.wat"], {
    stdout: asc.createMemoryStream(),
    stderr,
    writeFile: (name, contents) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") binary = contents;
      if (name.endsWith(".wat") && typeof contents === "string") text = contents;
    },
  });
  if (result.error || binary === undefined) throw new Error(`asc failed on ${PARTICLES_SOURCE}: ${result.error?.message ?? "no wasm emitted"}\n${stderr.toString()}`);
  if (build.out === PARTICLES_WASM && /memory\.grow|\(import "env" "abort"/.test(text)) {
    throw new Error(`${build.out}: the memkit build links AssemblyScript's own allocator (memory.grow) or abort; it must take every block from env.malloc.`);
  }
  return binary;
}

/** Builds both modules and writes them when they changed. */
export async function buildAs(): Promise<string[]> {
  const written: string[] = [];
  for (const build of AS_BUILDS) {
    const binary = await compileParticles(build);
    const old = await readFile(build.out).catch(() => undefined);
    if (old === undefined || !Buffer.from(binary).equals(old)) {
      await writeFile(build.out, binary);
      written.push(build.out);
    }
  }
  return written;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildAs().then(
    (written) => console.log(written.length === 0 ? "wasm-modules: AssemblyScript modules up to date" : `wasm-modules: wrote ${written.join(", ")}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
