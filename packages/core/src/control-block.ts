import type { AddressSpace } from "./address-space.js";
import { InvalidArgumentError } from "./errors.js";
import { hex } from "./format.js";

/**
 * Every control block that another thread or a wasm module may attach to
 * starts with two u32 words: a magic number naming the structure and a layout
 * version. Attaching checks both, so a wrong pointer or an old layout is
 * refused instead of trusted.
 *
 *   +0  u32 magic     e.g. 0x50414745 "PAGE"
 *   +4  u32 version   bumped whenever the layout after this header changes
 */
export const CONTROL_HEADER_BYTES = 8;

/** Builds a magic number from four ASCII characters ("PAGE" -> 0x50414745). */
export function magic(fourChars: string): number {
  if (fourChars.length !== 4) throw new InvalidArgumentError(`magic: expected 4 characters, received ${JSON.stringify(fourChars)}.`);
  let m = 0;
  for (let i = 0; i < 4; i++) m = (m << 8) | (fourChars.charCodeAt(i) & 0xff);
  return m >>> 0;
}

/** Writes the magic/version header at `ptr` (4-byte aligned). */
export function writeControlHeader(space: AddressSpace, ptr: number, magicNumber: number, version: number): void {
  const u32 = space.u32;
  u32[ptr >>> 2] = magicNumber;
  u32[(ptr >>> 2) + 1] = version;
}

/** Throws InvalidArgumentError unless `ptr` holds a control block with this magic and version. */
export function checkControlHeader(space: AddressSpace, ptr: number, magicNumber: number, version: number, what: string): void {
  if (ptr >>> 0 !== ptr || ptr % 4 !== 0 || ptr + CONTROL_HEADER_BYTES > space.byteLength) {
    throw new InvalidArgumentError(`${what}: ${hex(ptr)} is not a 4-byte aligned address inside the space (${space.byteLength} bytes).`);
  }
  const u32 = space.u32;
  const foundMagic = u32[ptr >>> 2] ?? 0;
  const foundVersion = u32[(ptr >>> 2) + 1] ?? 0;
  if (foundMagic !== magicNumber) {
    throw new InvalidArgumentError(
      `${what}: no control block at ${hex(ptr)} (magic ${hex(foundMagic)}, expected ${hex(magicNumber)}).\n` +
        `  Pass the pointer the creating side reported, in the same memory.`,
    );
  }
  if (foundVersion !== version) {
    throw new InvalidArgumentError(
      `${what}: control block at ${hex(ptr)} has layout version ${foundVersion}, this build reads version ${version}.\n` +
        `  Both sides must run the same memkit version.`,
    );
  }
}
