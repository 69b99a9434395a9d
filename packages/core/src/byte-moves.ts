import { MemoryModule } from "./memory-module.js";

/**
 * Copies and fills inside one memory through wasm's bulk memory instructions.
 *
 * A reallocation that moves a block copies it. `Uint8Array.prototype.copyWithin`
 * is a runtime call that converts and clamps its arguments on every call, and
 * copies more slowly on a shared buffer; `memory.copy` in a two-instruction
 * wasm function is a memmove behind one bounds check, and V8 inlines the call
 * from optimised JS (docs/perf-log.md, round 6 of #15, has the figures).
 */

/** Copies `length` bytes from `from` to `to`; the ranges may overlap (memmove). */
export type CopyBytes = (to: number, from: number, length: number) => void;

/** Sets `length` bytes from `to` to `value` (its low 8 bits). */
export type FillBytes = (to: number, value: number, length: number) => void;

/**
 * The byte moves of one memory ({@link AddressSpace.bytes}). Neither checks
 * its arguments beyond the memory's bounds: a range that leaves the memory
 * throws (a `WebAssembly.RuntimeError`, or a `RangeError` on the fallback)
 * and writes nothing. Allocators call them with ranges inside their blocks.
 */
export interface ByteMoves {
  readonly copy: CopyBytes;
  readonly fill: FillBytes;
  /**
   * True when the moves run as wasm; false when this engine would not
   * compile the helper module (a page whose CSP forbids wasm compilation)
   * and they fall back to the typed-array methods.
   */
  readonly wasm: boolean;
}

/** A section: its id, then its body's byte length (every body here is under 128 bytes: one LEB byte). */
function section(id: number, body: readonly number[]): number[] {
  return [id, body.length, ...body];
}

/** `(local.get 0) (local.get 1) (local.get 2)`: the three i32 parameters, in order. */
const ARGS = [0x20, 0x00, 0x20, 0x01, 0x20, 0x02];

/**
 * The helper module, written out: it imports a memory as `env.memory` and
 * exports `copy(to, from, length)` (memory.copy) and `fill(to, value, length)`
 * (memory.fill). A shared memory can only be imported as shared, with a
 * declared maximum: 65536 pages, wasm32's whole range, so any memory fits.
 */
function helperBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f;
  const memoryLimits = shared ? [0x03, 0x00, 0x80, 0x80, 0x04] : [0x00, 0x00]; // flags (1 = has max, 2 = shared), min 0, max 65536
  const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const body = (code: readonly number[]): number[] => [code.length + 2, 0x00, ...code, 0x0b]; // size, no locals, code, end
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x03, I32, I32, I32, 0x00]), // types: (i32, i32, i32) -> ()
    ...section(2, [0x01, ...name("env"), ...name("memory"), 0x02, ...memoryLimits]), // import env.memory
    ...section(3, [0x02, 0x00, 0x00]), // two functions of type 0
    ...section(7, [0x02, ...name("copy"), 0x00, 0x00, ...name("fill"), 0x00, 0x01]), // exports
    ...section(10, [0x02, ...body([...ARGS, 0xfc, 0x0a, 0x00, 0x00]), ...body([...ARGS, 0xfc, 0x0b, 0x00])]), // memory.copy, memory.fill
  ]);
}

const HELPER = new MemoryModule<{ copy: CopyBytes; fill: FillBytes }>(helperBytes);

/** One set of moves per memory: spaces attached to the same memory share it. */
const byMemory = new WeakMap<WebAssembly.Memory, ByteMoves>();

/**
 * The byte moves over `memory` (shared when its buffer is a
 * SharedArrayBuffer). `views` supplies the current byte view for the
 * fallback, which must see the memory after it grew.
 */
export function byteMovesFor(memory: WebAssembly.Memory, shared: boolean, views: () => Uint8Array): ByteMoves {
  let moves = byMemory.get(memory);
  if (moves === undefined) {
    const exports = HELPER.exportsFor(memory, shared);
    moves = exports === null ? typedArrayMoves(views) : { copy: exports.copy, fill: exports.fill, wasm: true };
    byMemory.set(memory, moves);
  }
  return moves;
}

/** The fallback: the typed-array methods, with memory.copy's bounds rule (throw and write nothing) instead of their clamping. */
export function typedArrayMoves(views: () => Uint8Array): ByteMoves {
  const inside = (u8: Uint8Array, at: number, length: number): boolean => at >= 0 && length >= 0 && at + length <= u8.length;
  return {
    copy(to: number, from: number, length: number): void {
      const u8 = views();
      if (!inside(u8, to, length) || !inside(u8, from, length)) {
        throw new RangeError(`space.bytes.copy: ${length} bytes from ${from} to ${to} leave the memory (${u8.length} bytes).`);
      }
      u8.copyWithin(to, from, from + length);
    },
    fill(to: number, value: number, length: number): void {
      const u8 = views();
      if (!inside(u8, to, length)) throw new RangeError(`space.bytes.fill: ${length} bytes at ${to} leave the memory (${u8.length} bytes).`);
      u8.fill(value, to, to + length);
    },
    wasm: false,
  };
}
