import { MemoryModule } from "@memkit/core";
import { RECORD_PATHS_WASM } from "./record-paths-wasm.js";

/**
 * A scope's inline record steps as WebAssembly (assembly/record-paths.ts):
 * what ScopeBlocks' allocate and deallocate do in JS around the backing's
 * call, on the same memory, without the typed-array checks JS pays on every
 * access (bounds, and detached buffers once any buffer in the process was
 * detached). Each hands anything but the common case back to JS.
 */
export interface RecordPaths {
  /** Records and counts the new block at `ptr`: 1, or 0 when JS's recordNew must decide. Indexes as ScopeState caches them. */
  recorded(cw: number, allocEpoch: number, recW: number, recCap: number, row: number, rowsD: number, ptr: number, size: number, code: number): number;
  /** -1: JS's general path; else `i << 2 | site << 1 | h16` for the live block at `ptr` (nothing written). */
  freeing(cw: number, freeEpoch: number, recW: number, row: number, ptr: number): number;
  /** Drops record `i` of `ptr`, counts the free and notes it in the ring. */
  freed(cw: number, recW: number, rowsD: number, ringMask: number, i: number, ptr: number, allocFrame: number): void;
}

const MODULE = MemoryModule.fromBase64<RecordPaths>(RECORD_PATHS_WASM);
let forceJs = false;

/** The record steps over `memory` (one instance per memory), or null: JS runs them (wasm cannot be compiled here). */
export function recordPathsFor(memory: WebAssembly.Memory, shared: boolean): RecordPaths | null {
  return forceJs ? null : MODULE.exportsFor(memory, shared);
}

/**
 * For tests: while `on`, scopes made from now on run their record steps in
 * JS, as where wasm cannot be compiled.
 * @internal
 */
export function runRecordPathsInJs(on: boolean): void {
  forceJs = on;
}
