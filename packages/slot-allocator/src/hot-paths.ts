import { HOT_PATHS_WASM } from "./hot-paths-wasm.js";

/**
 * The slot allocator's hot paths as WebAssembly (assembly/hot-paths.ts): the
 * same steps as SlotAllocator's takeJs and freeTaggedJs on the same memory,
 * without the typed-array checks JS pays on every access (bounds, and
 * detached buffers once any buffer in the process was detached). Each returns
 * to JS for everything but the common case, and JS then runs its own path.
 */

/** A slot of class `c`, or 0: JS takes over (see assembly/hot-paths.ts). Addresses in bytes. */
export type TakeSlot = (cw: number, classes: number, limit: number, c: number) => number;

/** Frees the slot at `ptr` (page tag `tag`): 0 done, 1 refused (JS explains), else a slab header word index to relink. */
export type FreeSlot = (cw: number, classes: number, ownerTag: number, shift: number, hdrOffset: number, limit: number, ptr: number, tag: number) => number;

export interface HotPaths {
  readonly take: TakeSlot;
  readonly free: FreeSlot;
  /** True when these run as wasm; false for the stand-ins that always hand over to JS. */
  readonly wasm: boolean;
}

/** The stand-ins where wasm cannot run (a CSP without wasm-unsafe-eval), and for ended handles: JS does everything. */
export const JS_PATHS: HotPaths = { take: () => 0, free: () => 1, wasm: false };

/** The compiled module per kind of memory (0: private, 1: shared); null once compilation failed. */
const modules: (WebAssembly.Module | null | undefined)[] = [undefined, undefined];
const byMemory = new WeakMap<WebAssembly.Memory, HotPaths>();
let forceJs = false;

function moduleFor(shared: boolean): WebAssembly.Module | null {
  const k = shared ? 1 : 0;
  let module = modules[k];
  if (module === undefined) {
    try {
      const text = atob(shared ? HOT_PATHS_WASM.shared : HOT_PATHS_WASM.private);
      module = new WebAssembly.Module(Uint8Array.from(text, (ch) => ch.charCodeAt(0)));
    } catch {
      module = null;
    }
    modules[k] = module;
  }
  return module;
}

/** The hot paths over `memory` (one instance per memory, shared by every slot allocator on it), or the JS stand-ins. */
export function hotPathsFor(memory: WebAssembly.Memory, shared: boolean): HotPaths {
  if (forceJs) return JS_PATHS;
  let paths = byMemory.get(memory);
  if (paths === undefined) {
    const module = moduleFor(shared);
    if (module === null) {
      paths = JS_PATHS;
    } else {
      const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as { take: TakeSlot; free: FreeSlot };
      paths = { take: exports.take, free: exports.free, wasm: true };
    }
    byMemory.set(memory, paths);
  }
  return paths;
}

/**
 * For tests: while `on`, slot allocators built or attached from now on run
 * every step in JS, as where wasm cannot be compiled.
 * @internal
 */
export function runSlotPathsInJs(on: boolean): void {
  forceJs = on;
}
