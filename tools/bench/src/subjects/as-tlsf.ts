import { AddressSpace } from "@memkit/core";
import type { FillBytes } from "@memkit/core";
import { ensureAsTlsfWasm } from "../peers/as-tlsf/build.js";
import { MAXIMUM_BYTES, RESERVED_BYTES } from "./subject.js";
import type { Subject, SubjectFactory } from "./subject.js";

const WASM_PAGE = 65536;

/** What src/peers/as-tlsf/assembly/index.ts exports. */
interface AsTlsfExports {
  readonly memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  heapBase(): number;
}

/**
 * AssemblyScript's TLSF heap compiled to wasm, called from JS. Its memory is
 * imported, created here at {@link RESERVED_BYTES} like every memkit subject's
 * space, so no run grows it: a grown wasm memory detaches its old buffer, and
 * from the first detach in a process V8 checks for detached buffers on every
 * typed-array access of every subject (10-20% on the small-block loops).
 */
class AsTlsfSubject implements Subject {
  protected readonly wasm: AsTlsfExports;
  protected readonly memory: WebAssembly.Memory;
  private readonly u8: Uint8Array;
  /** Zeroes with memory.fill, as every subject over a wasm memory does (see Subject.zero). */
  private readonly fill: FillBytes;
  protected readonly heapBase: number;

  constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: RESERVED_BYTES / WASM_PAGE, maximum: MAXIMUM_BYTES / WASM_PAGE });
    const instance = new WebAssembly.Instance(module, {
      env: {
        memory: this.memory,
        abort: (_message: number, _file: number, line: number, column: number): never => {
          throw new Error(`AssemblyScript TLSF aborted at line ${line}:${column}`);
        },
      },
    });
    this.wasm = instance.exports as unknown as AsTlsfExports;
    this.u8 = new Uint8Array(this.memory.buffer);
    this.fill = AddressSpace.attach(this.memory, { maximumBytes: MAXIMUM_BYTES }).bytes.fill;
    this.heapBase = this.wasm.heapBase();
  }

  alloc(size: number): number {
    return this.wasm.alloc(size);
  }

  /** TLSF's blocks are 16-aligned; the registry gives no larger alignment (serves.maxAlign). */
  allocAligned(size: number, _align: number): number {
    return this.wasm.alloc(size);
  }

  zero(handle: number, size: number): void {
    this.fill(handle, 0, size);
  }

  free(handle: number): void {
    this.wasm.free(handle);
  }

  realloc(handle: number, size: number): number {
    return this.wasm.realloc(handle, size);
  }

  write(handle: number, size: number, value: number): void {
    const u8 = this.u8;
    u8[handle] = value;
    u8[handle + size - 1] = value;
  }

  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }

  /** Timed runs do not measure footprint (see {@link AsTlsfMeasured}). */
  footprint(): number {
    return Number.NaN;
  }

  destroy(): void {
    if (this.memory.buffer.byteLength !== RESERVED_BYTES) {
      throw new Error(`AS TLSF grew its memory past the ${RESERVED_BYTES / (1 << 20)} MiB reserved: raise RESERVED_BYTES so the runs stay comparable`);
    }
  }
}

/**
 * The measuring pass's AS TLSF: the memory never grows, so its size says
 * nothing; the footprint is how far into it TLSF has placed a block (the
 * highest block end, in whole 64 KiB wasm pages), which is the memory TLSF
 * would have grown to if it grew exactly as needed (it grows by doubling, so
 * a growing module holds up to twice that).
 */
class AsTlsfMeasured extends AsTlsfSubject {
  private highWater = 0;

  override alloc(size: number): number {
    return this.reached(this.wasm.alloc(size), size);
  }

  override allocAligned(size: number, _align: number): number {
    return this.reached(this.wasm.alloc(size), size);
  }

  override realloc(handle: number, size: number): number {
    return this.reached(this.wasm.realloc(handle, size), size);
  }

  private reached(ptr: number, size: number): number {
    if (ptr + size > this.highWater) this.highWater = ptr + size;
    return ptr;
  }

  override footprint(): number {
    return Math.ceil(this.highWater / WASM_PAGE) * WASM_PAGE - this.heapBase;
  }
}

/** The AssemblyScript TLSF subject: builds the wasm if needed, compiles it once, instantiates per run. */
export async function load(): Promise<SubjectFactory> {
  const module = await WebAssembly.compile(await ensureAsTlsfWasm());
  return {
    footprintNote: "AS TLSF: highest block end above __heap_base, in 64 KiB wasm pages (its memory is imported at 256 MiB and never grows)",
    create: () => new AsTlsfSubject(module),
    createForMeasuring: () => new AsTlsfMeasured(module),
  };
}
