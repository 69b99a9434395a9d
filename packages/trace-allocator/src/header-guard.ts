import { CorruptionError, formatCount, hex } from "@memkit/core";
import { shortFrame } from "./call-stacks.js";
import { GUARDED, HEADER_BYTES, RETAINED, ROW_MASK, R_PTR, R_SIZE, R_WORD } from "./layout.js";
import { headerOf, recordAt, recordCount } from "./records.js";
import { retainedInfo, siteOfRecord } from "./retained.js";
import { stackOf } from "./sites.js";
import { pathOf, type TreeView } from "./tree-view.js";

/*
 * Guarded headers (`guardHeaders: true`; `MemoryGlobals.init({ debug: true })`
 * sets it). A debug allocator below the scopes puts its canaries around the
 * backing block, so the scope's header lies between the front canary and the
 * caller's block: a short underrun of the block lands in the header, where no
 * canary sees it. A guarded header is one whose every byte is known, so the
 * scope itself finds such a write, on the block's next deallocate/reallocate
 * and in check(), and names the byte's offset from the caller's pointer.
 *
 *   backing block                                                       what the caller gets
 *   base                       ptr-16      ptr-12      ptr-8   ptr-4    ptr = base + H
 *   +--------------------------+-----------+-----------+-------+--------+-----------------
 *   | fence 0xfd (H - 16 bytes)| frame^0xa5| frame^0x5a| index | frame  | size bytes ...
 *   +--------------------------+-----------+-----------+-------+--------+-----------------
 *                                i32         i32         i32     i32
 *   H = 16 for align <= 16, else H = align (a multiple of the alignment, as always).
 *
 * `index` and `frame` sit where an unguarded header keeps them
 * (records.ts), so lookups, frees and reports read both kinds alike.
 * The index is checked against its record. The frame is kept three times,
 * two copies XORed with different keys (every byte 0xa5 or 0x5a), so a byte
 * that changed is found by a vote of three, and a run of equal bytes written
 * across all of them still leaves the copies disagreeing. Checking a header
 * creates no JS objects (a module scratch holds the expected bytes).
 */

/** Header bytes of a guarded block with an alignment of at most 16. */
export const GUARDED_HEADER_BYTES = 16;
/** Fill of a guarded header's padding (large alignments): the byte debug canaries use. */
export const HEADER_FENCE_BYTE = 0xfd;
/** Keys of the two extra frame copies (every byte alike, so byte order does not matter). */
const FAR_KEY = 0xa5a5a5a5 | 0;
const NEAR_KEY = 0x5a5a5a5a;

/** Expected bytes of the last 16 header bytes (ptr-16 .. ptr-1), built by {@link expectHeader}. */
const expected32 = new Int32Array(4);
const expected8 = new Uint8Array(expected32.buffer);

/** Header bytes in front of a guarded block of alignment `align`. */
export function guardedHeaderFor(align: number): number {
  return align <= GUARDED_HEADER_BYTES ? GUARDED_HEADER_BYTES : align;
}

/** Writes the guard of the block at `ptr` (header `h` bytes), whose index and frame are already in place. */
export function writeHeaderGuard(view: TreeView, ptr: number, h: number): void {
  const i32 = view.i32;
  const frame = i32[(ptr - 4) >> 2]!;
  i32[(ptr - 16) >> 2] = frame ^ FAR_KEY;
  i32[(ptr - 12) >> 2] = frame ^ NEAR_KEY;
  if (h > GUARDED_HEADER_BYTES) view.u8.fill(HEADER_FENCE_BYTE, ptr - h, ptr - GUARDED_HEADER_BYTES);
}

/** The majority of three bytes (the first when all differ). */
function vote(a: number, b: number, c: number): number {
  return a === b || a === c ? a : b === c ? b : a;
}

/** Fills the scratch with what the 16 bytes before `ptr` should hold for record `index`. */
function expectHeader(u8: Uint8Array, ptr: number, index: number): void {
  for (let k = 0; k < 4; k++) {
    expected8[12 + k] = vote(u8[ptr - 4 + k]!, u8[ptr - 12 + k]! ^ (NEAR_KEY & 0xff), u8[ptr - 16 + k]! ^ (FAR_KEY & 0xff));
  }
  const frame = expected32[3]!;
  expected32[0] = frame ^ FAR_KEY;
  expected32[1] = frame ^ NEAR_KEY;
  expected32[2] = index;
}

/**
 * 0 when the guarded header of the block at `ptr` (record `index`, header
 * `h` bytes) is whole; else the offset from `ptr` of the changed byte
 * nearest the block (-1 .. -h).
 */
export function headerDamage(u8: Uint8Array, ptr: number, h: number, index: number): number {
  expectHeader(u8, ptr, index);
  for (let j = 15; j >= 0; j--) if (u8[ptr - 16 + j] !== expected8[j]) return j - 16;
  for (let a = ptr - GUARDED_HEADER_BYTES - 1; a >= ptr - h; a--) if (u8[a] !== HEADER_FENCE_BYTE) return a - ptr;
  return 0;
}

/**
 * Verifies the header of record `i` when it is guarded. Returns the
 * CorruptionError to throw (`path` and `op` name the call: the name is put
 * together only for an error, so a free makes no string), or undefined when
 * whole or unguarded.
 */
export function guardedHeaderError(view: TreeView, path: string, op: string, i: number): CorruptionError | undefined {
  const r = recordAt(view, i);
  const word = view.i32[r + R_WORD]!;
  if ((word & GUARDED) === 0) return undefined;
  const ptr = view.i32[r + R_PTR]!;
  const h = headerOf(word);
  const offset = headerDamage(view.u8, ptr, h, i);
  return offset === 0 ? undefined : headerError(view, `${path}.${op}`, i, offset);
}

/**
 * The CorruptionError for a changed byte at `offset` (< 0) in the guarded
 * header of record `i`, in the words of the debug allocators' messages: the
 * caller's block, its scope, the offset, expected and found byte, how many
 * header bytes differ, and where the block was allocated. Cold path.
 */
export function headerError(view: TreeView, who: string, i: number, offset: number): CorruptionError {
  const r = recordAt(view, i);
  const ptr = view.i32[r + R_PTR]!;
  const size = view.i32[r + R_SIZE]!;
  const word = view.i32[r + R_WORD]!;
  const h = headerOf(word);
  const u8 = view.u8;
  expectHeader(u8, ptr, i);
  const expectedAt = (a: number): number => (a >= ptr - GUARDED_HEADER_BYTES ? expected8[a - ptr + GUARDED_HEADER_BYTES]! : HEADER_FENCE_BYTE);
  let changed = 0;
  for (let a = ptr - h; a < ptr; a++) if (u8[a] !== expectedAt(a)) changed++;
  const scope = (word & RETAINED) !== 0 ? retainedInfo(view, i).origin : pathOf(view, word & ROW_MASK);
  return new CorruptionError(
    `${who}: block ${hex(ptr)} (${formatCount(size)} B, scope ${scope}) —\n` +
      `  header byte before the block changed at ${offset} (expected ${byteHex(expectedAt(ptr + offset))}, found ${byteHex(u8[ptr + offset]!)}), ` +
      `${changed} of ${h} header bytes differ;` +
      allocatedAt(stackOf(view, siteOfRecord(view, i))) +
      `\n  Something wrote before the start of the block (an underrun): check negative offsets and index arithmetic of code writing to it.`,
  );
}

/** Verifies every guarded header of the tree (check()). Throws CorruptionError at the first damaged one. */
export function checkGuards(view: TreeView, who: string): void {
  const count = recordCount(view);
  const limit = view.u8.length;
  for (let i = 0; i < count; i++) {
    const r = recordAt(view, i);
    const ptr = view.i32[r]!;
    const word = view.i32[r + R_WORD]!;
    // A record that cannot be a block is checkRecords' to report.
    if ((word & GUARDED) === 0 || ptr < GUARDED_HEADER_BYTES || ptr > limit || (ptr & (HEADER_BYTES - 1)) !== 0) continue;
    if (ptr - headerOf(word) < 0) continue;
    const error = guardedHeaderError(view, who, "check", i);
    if (error !== undefined) throw error;
  }
}

function byteHex(value: number): string {
  return "0x" + value.toString(16).padStart(2, "0");
}

const STACK_FRAMES = 8;

/** `\n  allocated at fn (file.ts:12)\n               at ...` for a captured stack; empty without one. */
function allocatedAt(stack: string | undefined): string {
  if (stack === undefined || stack === "") return "";
  const frames = stack.split("\n").slice(0, STACK_FRAMES).map(shortFrame);
  return frames.map((frame, k) => (k === 0 ? `\n  allocated at ${frame}` : `\n            at ${frame}`)).join("");
}
