import { ensureAsTlsfWasm } from "../peers/as-tlsf/build.js";
import type { Subject, SubjectFactory } from "./subject.js";

/** What src/peers/as-tlsf/assembly/index.ts exports. */
interface AsTlsfExports {
  readonly memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  heapBase(): number;
}

/**
 * AssemblyScript's TLSF heap compiled to wasm, called from JS. The module
 * owns its memory and grows it itself, which detaches our view: a detached
 * view has length 0, so one length compare per write notices it.
 */
class AsTlsfSubject implements Subject {
  private readonly wasm: AsTlsfExports;
  private u8: Uint8Array;
  private readonly heapBase: number;

  constructor(module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: (_message: number, _file: number, line: number, column: number): never => {
          throw new Error(`AssemblyScript TLSF aborted at line ${line}:${column}`);
        },
      },
    });
    this.wasm = instance.exports as unknown as AsTlsfExports;
    this.u8 = new Uint8Array(this.wasm.memory.buffer);
    this.heapBase = this.wasm.heapBase();
  }

  alloc(size: number): number {
    return this.wasm.alloc(size);
  }

  free(handle: number): void {
    this.wasm.free(handle);
  }

  realloc(handle: number, size: number): number {
    return this.wasm.realloc(handle, size);
  }

  write(handle: number, size: number, value: number): void {
    let u8 = this.u8;
    if (handle + size > u8.length) u8 = this.u8 = new Uint8Array(this.wasm.memory.buffer);
    u8[handle] = value;
    u8[handle + size - 1] = value;
  }

  read(handle: number, offset: number): number {
    if (handle + offset >= this.u8.length) this.u8 = new Uint8Array(this.wasm.memory.buffer);
    return this.u8[handle + offset]!;
  }

  /** The module's memory above its static data: what TLSF has grown it to. */
  footprint(): number {
    return this.wasm.memory.buffer.byteLength - this.heapBase;
  }

  destroy(): void {}
}

/** The AssemblyScript TLSF subject: builds the wasm if needed, compiles it once, instantiates per run. */
export async function load(): Promise<SubjectFactory> {
  const module = await WebAssembly.compile(await ensureAsTlsfWasm());
  return {
    footprintNote: "AS TLSF: wasm memory byteLength above __heap_base (TLSF grows by doubling)",
    create: () => new AsTlsfSubject(module),
  };
}
