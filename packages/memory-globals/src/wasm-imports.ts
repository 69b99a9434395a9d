import type { AllocatorError} from "@memkit/core";
import { InvalidArgumentError, OutOfMemoryError, describe, formatSize, hex, markEntryPoints, type AddressSpace, type Ptr } from "@memkit/core";
import type { TraceAllocator, TraceScopeOptions } from "@memkit/trace-allocator";
import { wasmModuleLayout } from "./wasm-module-layout.js";

/*
 * The C heap of a WebAssembly module, served by a memkit scope. A module
 * linked against the imported memory (clang `-Wl,--import-memory`, asc
 * `--importMemory`) calls these imports for its heap, so every block it
 * allocates is a block of the named scope: counted, budgeted, in reports and
 * folded stacks (wasm frames included where the engine names them), checked
 * at dispose and shutdown. Pointers are byte offsets into the same memory,
 * so JS and wasm read and write the same bytes.
 *
 * Failure, C's way: malloc, calloc, realloc and aligned_alloc return 0 (NULL)
 * when memory or the scope's budget runs out, because C code checks for NULL
 * and unwinds cleanly, while an exception thrown through wasm frames skips the
 * module's own clean-up (locks, half-built structures) and may leave it
 * broken. The typed error stays visible as `imports.lastError`. A module that
 * never checks for NULL (AssemblyScript's runtime) asks for
 * `outOfMemory: "throw"`. free() of a foreign pointer or a double free always
 * throws (InvalidPointerError / DoubleFreeError) — free() has no way to
 * report it, and carrying on would hide a corrupting bug — and the scope
 * changes nothing, so the allocator stays usable.
 */

/** C's malloc family over the module's imported memory: what `WebAssembly.instantiate` reads as `imports.env`. */
export type WasmEnv = {
  readonly memory: WebAssembly.Memory;
  readonly malloc: (size: number) => Ptr;
  readonly free: (ptr: Ptr) => void;
  readonly calloc: (count: number, size: number) => Ptr;
  readonly realloc: (ptr: Ptr, size: number) => Ptr;
  readonly aligned_alloc: (align: number, size: number) => Ptr;
};

/**
 * What `memory.wasmImports(scopeName)` returns: `WebAssembly.instantiate(bytes, imports)`
 * takes it as it is (or spread it into your own import object). The scope,
 * the last failure and the module's static claim are on {@link wasmHeapOf}(imports).
 */
export type WasmImports = { readonly env: WasmEnv };

/** Options of `memory.wasmImports`. */
export interface WasmImportOptions {
  /**
   * What a failed malloc, calloc, realloc or aligned_alloc does: `"null"`
   * returns 0, as C expects, and keeps the error in `lastError`; `"throw"`
   * throws the typed error (OutOfMemoryError, InvalidArgumentError) through
   * the module to the JS that called it. @defaultValue "null"
   */
  outOfMemory?: "null" | "throw";
  /**
   * The module's bytes: before instantiation its data segments and stack are
   * checked to lie inside the static region (`init({ wasmStaticBytes })`) and
   * clear of every other module's; InvalidArgumentError otherwise.
   */
  module?: Uint8Array | ArrayBuffer;
  /** Options for the scope when it does not exist yet (budget, tracing, ...). */
  scopeOptions?: TraceScopeOptions;
}

/** C's alignment for malloc on wasm32 (alignof(max_align_t)). */
const MALLOC_ALIGN = 16;

/**
 * A module's heap: the scope its blocks belong to, the error behind the last
 * NULL it got, its part of the static region. (The malloc family are its
 * methods, so the scopes' call stacks start at the module: memkit's frames
 * are cut by function identity.)
 */
export class WasmHeap {
  /** The error behind the last 0 returned for want of memory (`outOfMemory: "null"`), until the next success or {@link clearError}. */
  lastError: AllocatorError | undefined = undefined;

  /** @internal Use `memory.wasmImports`. */
  constructor(
    /** The scope the module's blocks belong to. */
    readonly scope: TraceAllocator,
    private readonly space: AddressSpace,
    private readonly throwOnFailure: boolean,
    /** The part of the static region the module's data and stack occupy (from `options.module`), or undefined. */
    readonly staticExtent: { readonly start: number; readonly end: number; readonly scope: string } | undefined,
    private readonly statics: WasmStaticClaims,
  ) {}

  clearError(): void {
    this.lastError = undefined;
  }

  /** The module instance is gone: its part of the static region may be claimed by another module. Its blocks stay in the scope. Idempotent. */
  release(): void {
    const at = this.staticExtent === undefined ? -1 : this.statics.claims.indexOf(this.staticExtent);
    if (at >= 0) this.statics.claims.splice(at, 1);
  }

  #failed(err: unknown): Ptr {
    // Only a want of memory (or an impossible size) is C's NULL; anything else is a bug to surface.
    if (this.throwOnFailure || !(err instanceof OutOfMemoryError || err instanceof InvalidArgumentError)) throw err;
    this.lastError = err;
    return 0;
  }

  malloc(size: number): Ptr {
    try {
      const ptr = this.scope.allocate(size >>> 0, MALLOC_ALIGN);
      this.lastError = undefined;
      return ptr;
    } catch (err) {
      return this.#failed(err);
    }
  }

  free(ptr: Ptr): void {
    this.scope.deallocate(ptr >>> 0);
  }

  calloc(count: number, size: number): Ptr {
    const bytes = (count >>> 0) * (size >>> 0);
    try {
      if (bytes > 0xffff_ffff) {
        throw new OutOfMemoryError(`${this.scope.path}: calloc(${count >>> 0}, ${size >>> 0}) asks for ${formatSize(bytes)}, more than a 32-bit memory holds.`);
      }
      const ptr = this.scope.allocate(bytes, MALLOC_ALIGN);
      this.space.u8.fill(0, ptr, ptr + bytes);
      this.lastError = undefined;
      return ptr;
    } catch (err) {
      return this.#failed(err);
    }
  }

  realloc(ptr: Ptr, size: number): Ptr {
    try {
      // realloc(NULL, n) is malloc(n); realloc(p, 0) keeps a 0-byte block, as wasi-libc (musl) does.
      const moved = this.scope.reallocate(ptr >>> 0, size >>> 0, MALLOC_ALIGN);
      this.lastError = undefined;
      return moved;
    } catch (err) {
      // A failed realloc leaves the old block as it was (the contract), and C keeps using it; a bad pointer still throws.
      return this.#failed(err);
    }
  }

  aligned_alloc(align: number, size: number): Ptr {
    try {
      const ptr = this.scope.allocate(size >>> 0, Math.max(align >>> 0, 1));
      this.lastError = undefined;
      return ptr;
    } catch (err) {
      return this.#failed(err);
    }
  }
}

// The scopes' call stacks start below these methods: at the wasm function that called malloc.
markEntryPoints(WasmHeap);

/** The static region and the parts of it modules hold, per memory. */
export interface WasmStaticClaims {
  readonly region: { readonly start: number; readonly end: number };
  readonly claims: { readonly start: number; readonly end: number; readonly scope: string }[];
}

/** Builds the imports for `memory.wasmImports`: the scope `scopeName` under `root` (the live one, or a new one). */
export function createWasmImports(root: TraceAllocator, space: AddressSpace, statics: WasmStaticClaims, scopeName: string, options: WasmImportOptions): WasmImports {
  const who = `memory.wasmImports(${JSON.stringify(scopeName)})`;
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`${who}: options must be an object, received ${describe(options)}.`);
  const mode = options.outOfMemory ?? "null";
  if (mode !== "null" && mode !== "throw") throw new InvalidArgumentError(`${who}: option outOfMemory must be "null" or "throw", received ${describe(mode)}.`);
  const extent = options.module === undefined ? undefined : claimStatic(statics, options.module, scopeName, who);
  let scope: TraceAllocator;
  try {
    scope = root.children.some((c) => c.name === scopeName) ? root.openScope(scopeName) : root.child(scopeName, options.scopeOptions ?? {});
  } catch (err) {
    if (extent !== undefined) statics.claims.splice(statics.claims.indexOf(extent), 1);
    throw err;
  }
  const heap = new WasmHeap(scope, space, mode === "throw", extent, statics);
  const imports: WasmImports = {
    env: {
      memory: space.memory,
      malloc: heap.malloc.bind(heap),
      free: heap.free.bind(heap),
      calloc: heap.calloc.bind(heap),
      realloc: heap.realloc.bind(heap),
      aligned_alloc: heap.aligned_alloc.bind(heap),
    },
  };
  heaps.set(imports, heap);
  return imports;
}

const heaps = new WeakMap<WasmImports, WasmHeap>();

/** The heap behind imports made by `memory.wasmImports`: its scope, `lastError`, `release()`. InvalidArgumentError for any other object. */
export function wasmHeapOf(imports: WasmImports): WasmHeap {
  const heap = heaps.get(imports);
  if (heap === undefined) throw new InvalidArgumentError(`wasmHeapOf: ${describe(imports)} was not made by memory.wasmImports(scopeName).`);
  return heap;
}

/** Checks that the module's data and stack lie in the static region, clear of other modules; records its claim. */
function claimStatic(statics: WasmStaticClaims, module: Uint8Array | ArrayBuffer, scopeName: string, who: string): { start: number; end: number; scope: string } | undefined {
  if (!(module instanceof Uint8Array) && !(module instanceof ArrayBuffer)) throw new InvalidArgumentError(`${who}: option module must be the .wasm bytes (Uint8Array or ArrayBuffer), received ${describe(module)}.`);
  const layout = wasmModuleLayout(module instanceof Uint8Array ? module : new Uint8Array(module), who);
  const { region } = statics;
  const regionText = `memkit's wasm static region [${hex(region.start)}, ${hex(region.end)})`;
  if (!layout.importsMemory) {
    throw new InvalidArgumentError(`${who}: the module does not import env.memory, so it cannot share memkit's memory. Build it with clang -Wl,--import-memory or asc --importMemory.`);
  }
  if (layout.passiveSegments > 0) {
    throw new InvalidArgumentError(`${who}: the module has ${layout.passiveSegments} passive data segment(s), which its own code copies to addresses memkit cannot check. Build it without threads/bulk-memory data (no -pthread).`);
  }
  const { segments, heapBase, stackPointer } = layout;
  if (stackPointer !== undefined && heapBase === undefined) {
    throw new InvalidArgumentError(`${who}: the module has a stack (__stack_pointer) but does not export __heap_base, so memkit cannot see where its stack ends. Link with -Wl,--export=__heap_base.`);
  }
  if (segments.length === 0 && heapBase === undefined) return undefined;
  let start = Infinity;
  let end = 0;
  for (const s of segments) {
    start = Math.min(start, s.start);
    end = Math.max(end, s.end);
  }
  if (heapBase !== undefined) end = Math.max(end, heapBase);
  if (stackPointer !== undefined && start !== Infinity && stackPointer < start) {
    throw new InvalidArgumentError(
      `${who}: the module's stack lies below its data (__stack_pointer starts at ${hex(stackPointer)}, data at ${hex(start)}): linked with --stack-first, its stack would grow into memory memkit hands out. Link without --stack-first.`,
    );
  }
  if (start === Infinity) start = stackPointer ?? end;
  if (start < region.start || end > region.end) {
    throw new InvalidArgumentError(
      `${who}: the module's static data and stack occupy [${hex(start)}, ${hex(end)}) (${formatSize(end - start)}), outside ${regionText}.\n` +
        `  Give init({ wasmStaticBytes }) room for it and link it inside: -Wl,--global-base=${region.start} (or the start of its own part), -Wl,-z,stack-size=<bytes>.`,
    );
  }
  for (const other of statics.claims) {
    if (start < other.end && other.start < end) {
      throw new InvalidArgumentError(
        `${who}: the module's static data and stack [${hex(start)}, ${hex(end)}) overlap those of the module of scope ${JSON.stringify(other.scope)} [${hex(other.start)}, ${hex(other.end)}).\n` +
          `  Link each module at its own -Wl,--global-base, or call release() on the other imports once its instance is gone.`,
      );
    }
  }
  const claim = { start, end, scope: scopeName };
  statics.claims.push(claim);
  return claim;
}
