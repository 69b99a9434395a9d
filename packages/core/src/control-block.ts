import type { AddressSpace } from "./address-space.js";
import { CorruptionError, InvalidArgumentError } from "./errors.js";
import { hex } from "./format.js";
import { hashWords } from "./hash.js";
import { describe } from "./validate.js";

/*
 * A control block is an allocator's state in linear memory: what a second
 * handle (another thread, a wasm module, a restored save) attaches to. Every
 * control block starts with the same four words:
 *
 *   +0   u32 magic     four ASCII characters naming the structure ("HEAP")
 *   +4   u32 version   bumped whenever the layout after the header changes
 *   +8   u32 bytes     size of the whole block, header included
 *   +12  u32 seal      hashWords over words 0..2 and the fixed words
 *   +16  fixed words   written once at creation, never changed (layout.fixedWords of them)
 *        state words   everything that changes (free lists, counters, ...)
 *
 * Attaching trusts nothing: openControl checks the address, the magic, the
 * version, the size and the seal, so a wrong pointer, an old layout or damage
 * to any fixed word is a CorruptionError naming what was found. State words
 * cannot be sealed (they change on every call); an allocator range-checks each
 * one it reads at attach (controlWord) and walks the rest in check().
 */

/** Bytes of the common header (magic, version, bytes, seal). */
export const CONTROL_BLOCK_HEADER_BYTES = 16;
/** u32 words of the common header. */
export const CONTROL_BLOCK_HEADER_WORDS = 4;

const W_MAGIC = 0;
const W_VERSION = 1;
const W_BYTES = 2;
const W_SEAL = 3;

/** What a magic word becomes when its block is destroyed: attaching to it is then refused as "retired". */
const RETIRED = 0x44454144; // "DEAD"

/** Identifies one kind of control block. */
export interface ControlLayout {
  /** What the block belongs to, for messages: `"HeapAllocator"`. */
  readonly kind: string;
  /** Four ASCII characters stored at +0: `"HEAP"`. */
  readonly magic: string;
  /** Layout version stored at +4. */
  readonly version: number;
  /** Words right after the header that never change after creation: the seal covers them. */
  readonly fixedWords: number;
}

/** Builds a magic number from four ASCII characters ("PAGE" -> 0x50414745). */
export function magic(fourChars: string): number {
  if (typeof fourChars !== "string" || fourChars.length !== 4) {
    throw new InvalidArgumentError(`magic: expected 4 characters, received ${describe(fourChars)}.`);
  }
  let m = 0;
  for (let i = 0; i < 4; i++) m = (m << 8) | (fourChars.charCodeAt(i) & 0xff);
  return m >>> 0;
}

/** `"HEAP"` for a printable magic word, else its hex: what a message says was found. */
export function describeMagic(word: number): string {
  let text = "";
  for (let shift = 24; shift >= 0; shift -= 8) {
    const c = (word >>> shift) & 0xff;
    if (c < 0x20 || c > 0x7e) return hex(word >>> 0);
    text += String.fromCharCode(c);
  }
  return JSON.stringify(text);
}

/**
 * Starts a control block of `bytes` at `ptr` (4-aligned, inside the space):
 * zeroes it and writes magic, version and size. Write the fixed words next,
 * then {@link sealControl}.
 */
export function initControl(space: AddressSpace, ptr: number, layout: ControlLayout, bytes: number): void {
  const minBytes = CONTROL_BLOCK_HEADER_BYTES + layout.fixedWords * 4;
  if (ptr >>> 0 !== ptr || ptr % 4 !== 0 || bytes >>> 0 !== bytes || bytes % 4 !== 0 || bytes < minBytes || ptr + bytes > space.byteLength) {
    throw new InvalidArgumentError(
      `${layout.kind}: cannot place a ${describe(bytes)}-byte control block at ${describe(ptr)} ` +
        `(needs a 4-aligned address and at least ${minBytes} bytes inside the ${space.byteLength}-byte space).`,
    );
  }
  const u32 = space.u32;
  const w = ptr >>> 2;
  u32.fill(0, w, w + bytes / 4);
  u32[w + W_MAGIC] = magic(layout.magic);
  u32[w + W_VERSION] = layout.version;
  u32[w + W_BYTES] = bytes;
}

/** Seals the header and the fixed words: call once after writing them. */
export function sealControl(space: AddressSpace, ptr: number, layout: ControlLayout): void {
  const u32 = space.u32;
  u32[(ptr >>> 2) + W_SEAL] = sealOf(u32, ptr >>> 2, layout);
}

/**
 * Checks the control block at `ptr` before a handle attaches to it, and
 * returns its size in bytes. `who` names the call in messages
 * (`HeapAllocator.attach`). A pointer that is not a number is an
 * InvalidArgumentError; everything else that is wrong — outside the space,
 * misaligned, another structure's magic, a retired block, another layout
 * version, a size outside `bytesRange`, a broken seal — is a CorruptionError
 * that says what was found there.
 */
export function openControl(space: AddressSpace, ptr: number, layout: ControlLayout, who: string, bytesRange?: readonly [number, number]): number {
  if (typeof ptr !== "number" || !Number.isInteger(ptr)) {
    throw new InvalidArgumentError(`${who}: the control pointer must be an integer byte offset, received ${describe(ptr)}.`);
  }
  const size = space.byteLength;
  if (ptr <= 0 || ptr % 4 !== 0 || ptr + CONTROL_BLOCK_HEADER_BYTES > size) {
    throw new CorruptionError(`${who}: ${hex(ptr)} cannot hold a ${layout.kind} control block (it must be a non-zero, 4-aligned address inside the ${size}-byte space).`);
  }
  const u32 = space.u32;
  const w = ptr >>> 2;
  const found = u32[w + W_MAGIC]!;
  if (found === RETIRED) {
    throw new CorruptionError(`${who}: the control block at ${hex(ptr)} was destroyed; there is no ${layout.kind} there any more.`);
  }
  if (found !== magic(layout.magic)) {
    throw new CorruptionError(
      `${who}: no ${layout.kind} control block at ${hex(ptr)}: found magic ${describeMagic(found)}, expected ${JSON.stringify(layout.magic)}.\n` +
        `  Pass the controlPtr the creating side reported, in the same memory.`,
    );
  }
  const version = u32[w + W_VERSION]!;
  if (version !== layout.version) {
    throw new CorruptionError(
      `${who}: the ${layout.kind} control block at ${hex(ptr)} has layout version ${version}; this build reads version ${layout.version}.\n` +
        `  Both sides must run the same memkit version.`,
    );
  }
  const bytes = u32[w + W_BYTES]!;
  const min = Math.max(bytesRange?.[0] ?? 0, CONTROL_BLOCK_HEADER_BYTES + layout.fixedWords * 4);
  const max = bytesRange?.[1] ?? size;
  if (bytes % 4 !== 0 || bytes < min || bytes > max || ptr + bytes > size) {
    throw new CorruptionError(`${who}: the ${layout.kind} control block at ${hex(ptr)} claims ${bytes} bytes (expected ${min}..${max}, inside the space).`);
  }
  const seal = sealOf(u32, w, layout);
  if (u32[w + W_SEAL] !== seal) {
    throw new CorruptionError(`${who}: the ${layout.kind} control block at ${hex(ptr)} is damaged: its fixed words no longer match their seal.`);
  }
  return bytes;
}

/** True when `ptr` holds a live control block of `layout` (magic and version only: a cheap probe, not a check). */
export function isControlBlock(space: AddressSpace, ptr: number, layout: ControlLayout): boolean {
  if (typeof ptr !== "number" || ptr <= 0 || ptr % 4 !== 0 || ptr + CONTROL_BLOCK_HEADER_BYTES > space.byteLength) return false;
  const u32 = space.u32;
  return u32[ptr >>> 2] === magic(layout.magic) && u32[(ptr >>> 2) + W_VERSION] === layout.version;
}

/** Marks the block destroyed: every later attach to it is refused. */
export function retireControl(space: AddressSpace, ptr: number): void {
  if (ptr + 4 <= space.byteLength) space.u32[ptr >>> 2] = RETIRED;
}

/**
 * Reads state word `word` of the control block at `ptr` for an attach and
 * range-checks it: a value outside `min..max` is a CorruptionError naming the
 * field. Use it for every state word an attach relies on.
 */
export function controlWord(u32: Uint32Array, ptr: number, word: number, min: number, max: number, layout: ControlLayout, field: string): number {
  const value = u32[(ptr >>> 2) + word]!;
  if (value < min || value > max) {
    throw new CorruptionError(`${layout.kind} at ${hex(ptr)}: control word ${field} holds ${value}, outside ${min}..${max}: the block is damaged.`);
  }
  return value;
}

function sealOf(u32: Uint32Array, w: number, layout: ControlLayout): number {
  // Header words 0..2, then the fixed words (skipping the seal word itself).
  const head = hashWords(u32, w, w + W_SEAL, magic(layout.magic));
  return hashWords(u32, w + CONTROL_BLOCK_HEADER_WORDS, w + CONTROL_BLOCK_HEADER_WORDS + layout.fixedWords, head);
}
