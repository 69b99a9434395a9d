import type { MemoryGlobals, WasmHeap, WasmImports } from "@memkit/memory-globals";
import { wasmHeapOf } from "@memkit/memory-globals";
import type { TraceScopeOptions } from "@memkit/trace-allocator";

/** The exports of wasm/particles.wasm and wasm/particles-tlsf.wasm (assembly/particles.ts). */
export interface ParticleExports {
  /** Moves and ages the particles in place; returns the new length (see assembly/particles.ts). */
  moveParticles(base: number, length: number, stride: number, x: number, y: number, vx: number, vy: number, life: number, dt: number): number;
  alloc(size: number): number;
  release(ptr: number): void;
  churn(rounds: number, batch: number, spread: number, slots: number): number;
  sumF64(ptr: number, count: number): number;
}

/** The AssemblyScript module instantiated on memkit's memory: its blocks are scope `scopeName`'s. */
export interface ParticleModule {
  readonly exports: ParticleExports;
  readonly imports: WasmImports;
  readonly heap: WasmHeap;
}

/**
 * Instantiates wasm/particles.wasm (`bytes`) on `memory`, its heap in scope
 * `scopeName` (created with `scopeOptions` when new). Synchronous (the module is about 1 KiB, under the size a
 * browser's main thread may compile synchronously). The module cannot handle
 * a NULL from malloc, so a failure throws (`outOfMemory: "throw"`).
 */
export function instantiateParticles(memory: MemoryGlobals, bytes: Uint8Array<ArrayBuffer>, scopeName = "particles", scopeOptions?: TraceScopeOptions): ParticleModule {
  const imports = memory.wasmImports(scopeName, { module: bytes, outOfMemory: "throw", ...(scopeOptions === undefined ? {} : { scopeOptions }) });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
  return { exports: instance.exports as unknown as ParticleExports, imports, heap: wasmHeapOf(imports) };
}

/** wasm/particles-tlsf.wasm in a memory of its own, on AssemblyScript's TLSF heap (the bench's peer). */
export function instantiateParticlesTlsf(bytes: Uint8Array<ArrayBuffer>, memoryPages = 256): { exports: ParticleExports; memory: WebAssembly.Memory } {
  const memory = new WebAssembly.Memory({ initial: memoryPages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { exports: instance.exports as unknown as ParticleExports, memory };
}
