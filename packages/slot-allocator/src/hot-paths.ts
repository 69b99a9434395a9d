import { MemoryModule } from "@memkit/core";
import { HOT_PATHS_WASM } from "./hot-paths-wasm.js";

/**
 * The slot allocator's hot paths as WebAssembly (assembly/hot-paths.ts): the
 * same steps as SlotAllocator's takeJs, freeTaggedJs and reallocate's move on
 * the same memory, without the typed-array checks JS pays on every access
 * (bounds, and detached buffers once any buffer in the process was detached).
 * Each returns to JS for everything but the common case, and JS then runs its
 * own path.
 */

/** A slot of class `c`, or 0: JS takes over (see assembly/hot-paths.ts). Addresses in bytes. */
export type TakeSlot = (cw: number, classes: number, limit: number, c: number) => number;

/** Frees the slot at `ptr` (page tag `tag`): 0 done, 1 refused (JS explains), else a slab header word index to relink. */
export type FreeSlot = (cw: number, classes: number, ownerTag: number, shift: number, hdrOffset: number, limit: number, ptr: number, tag: number) => number;

/**
 * Moves the live slot at `ptr` (page tag `tag`) to a slot of class `c` (slots of `size` bytes), copying:
 * the new slot, 1 when it is of class `c` already, 0 refused or needing a refill (nothing written).
 */
export type MoveSlot = (cw: number, classes: number, limit: number, ownerTag: number, shift: number, hdrOffset: number, ptr: number, tag: number, c: number, size: number) => number;

export interface HotPaths {
  readonly take: TakeSlot;
  readonly free: FreeSlot;
  readonly move: MoveSlot;
}

/** The stand-ins where wasm cannot run (a CSP without wasm-unsafe-eval), and for ended handles: JS does everything. */
export const JS_PATHS: HotPaths = { take: () => 0, free: () => 1, move: () => 0 };

const MODULE = MemoryModule.fromBase64<HotPaths>(HOT_PATHS_WASM);
let forceJs = false;

/** The hot paths over `memory` (one instance per memory, shared by every slot allocator on it), or the JS stand-ins. */
export function hotPathsFor(memory: WebAssembly.Memory, shared: boolean): HotPaths {
  return (forceJs ? null : MODULE.exportsFor(memory, shared)) ?? JS_PATHS;
}

/**
 * For tests: while `on`, slot allocators built or attached from now on run
 * every step in JS, as where wasm cannot be compiled.
 * @internal
 */
export function runSlotPathsInJs(on: boolean): void {
  forceJs = on;
}
