import { CorruptionError, InvalidArgumentError, describe, formatSize, hashWords, hex, magic } from "@memkit/core";

/*
 * What memory.save() returns: a header, a JSON note, and the used part of the
 * address space, byte for byte. Restoring copies the image back to the same
 * addresses, so every control block and every pointer inside it holds again.
 *
 *   +0   u32 magic        "MKSV"
 *   +4   u32 version      SAVE_FORMAT_VERSION
 *   +8   u32 imageBytes   bytes of address space saved (from address 0)
 *   +12  u32 maximumBytes the memory's maximum when saved
 *   +16  u32 rootPtr      MemoryGlobals' root control block
 *   +20  u32 flags        bit 0: the memory was shared
 *   +24  u32 noteBytes    UTF-8 JSON after the header (padded to 4)
 *   +28  u32 imageHash    hashWords over the image
 *   +32  u32 headerHash   hashWords over words 0..7 and the note
 *   +36  note (JSON)      what restoring needs that is not allocator state (stage records, ...)
 *   ...  image           imageBytes bytes, 4-aligned
 *
 * Every field is checked on restore; a truncated, bit-flipped or foreign file
 * is a CorruptionError naming what is wrong, before any memory is built.
 */

/** Layout version of a save; bumped whenever the header or any control block layout inside the image changes meaning. */
export const SAVE_FORMAT_VERSION = 1;
const SAVE_MAGIC = magic("MKSV");
const HEADER_BYTES = 36;
const W_IMAGE = 2;
const W_MAXIMUM = 3;
const W_ROOT = 4;
const W_FLAGS = 5;
const W_NOTE = 6;
const W_IMAGE_HASH = 7;
const W_HEADER_HASH = 8;
const FLAG_SHARED = 1;

/** The parts of a save. */
export interface SavedMemory {
  /** The address space from 0, as it was. A view into the save's bytes (not a copy). */
  image: Uint8Array;
  maximumBytes: number;
  rootPtr: number;
  shared: boolean;
  /** The JSON note written with it. */
  note: unknown;
}

/** Builds a save from the memory's bytes `[0, imageBytes)`. */
export function encodeSave(memory: Uint8Array, imageBytes: number, saved: Omit<SavedMemory, "image">): Uint8Array {
  if (imageBytes % 4 !== 0 || imageBytes > memory.byteLength) {
    throw new InvalidArgumentError(`memory.save: cannot save ${formatSize(imageBytes)} of a ${formatSize(memory.byteLength)} memory.`);
  }
  const noteText = new TextEncoder().encode(JSON.stringify(saved.note ?? null));
  const noteBytes = (noteText.byteLength + 3) & ~3;
  const out = new Uint8Array(HEADER_BYTES + noteBytes + imageBytes);
  out.set(noteText, HEADER_BYTES);
  out.set(memory.subarray(0, imageBytes), HEADER_BYTES + noteBytes);
  const u32 = new Uint32Array(out.buffer, 0, out.byteLength / 4);
  u32[0] = SAVE_MAGIC;
  u32[1] = SAVE_FORMAT_VERSION;
  u32[W_IMAGE] = imageBytes;
  u32[W_MAXIMUM] = saved.maximumBytes;
  u32[W_ROOT] = saved.rootPtr;
  u32[W_FLAGS] = saved.shared ? FLAG_SHARED : 0;
  u32[W_NOTE] = noteBytes;
  const imageStart = (HEADER_BYTES + noteBytes) / 4;
  u32[W_IMAGE_HASH] = hashWords(u32, imageStart, imageStart + imageBytes / 4);
  u32[W_HEADER_HASH] = headerHash(u32, noteBytes);
  return out;
}

/** Checks a save and returns its parts; throws CorruptionError (or InvalidArgumentError when `bytes` is not a byte array). */
export function decodeSave(bytes: Uint8Array): SavedMemory {
  if (!(bytes instanceof Uint8Array)) {
    throw new InvalidArgumentError(`MemoryGlobals.restore: expected the Uint8Array memory.save() returned, received ${describe(bytes)}.`);
  }
  const fail = (why: string): never => {
    throw new CorruptionError(`MemoryGlobals.restore: this is not a usable memkit save: ${why}.`);
  };
  if (bytes.byteLength < HEADER_BYTES) fail(`${bytes.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const word = (i: number): number => (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
  if (word(0) !== SAVE_MAGIC) fail(`it starts with ${hex(word(0))}, not the "MKSV" of a save`);
  if (word(4) !== SAVE_FORMAT_VERSION) fail(`it is save format ${word(4)}; this build reads format ${SAVE_FORMAT_VERSION}`);
  if (bytes.byteLength % 4 !== 0) fail(`its length (${bytes.byteLength} bytes) is not a multiple of 4: it was cut short`);
  // A private 4-aligned copy of the words when the caller's array sits at an odd offset of its buffer.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const u32 = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const imageBytes = u32[W_IMAGE]!;
  const noteBytes = u32[W_NOTE]!;
  if (noteBytes % 4 !== 0 || imageBytes % 4 !== 0 || HEADER_BYTES + noteBytes + imageBytes !== aligned.byteLength) {
    fail(`its header describes ${HEADER_BYTES} + ${noteBytes} + ${imageBytes} bytes but it holds ${aligned.byteLength} (truncated or damaged)`);
  }
  if (headerHash(u32, noteBytes) !== u32[W_HEADER_HASH]) fail("its header or note was changed after saving");
  const imageStart = (HEADER_BYTES + noteBytes) / 4;
  if (hashWords(u32, imageStart, imageStart + imageBytes / 4) !== u32[W_IMAGE_HASH]) fail("its memory image was changed after saving");
  const maximumBytes = u32[W_MAXIMUM]!;
  const rootPtr = u32[W_ROOT]!;
  if (maximumBytes < imageBytes || rootPtr === 0 || rootPtr >= imageBytes) fail(`its maximum (${maximumBytes}) or root (${hex(rootPtr)}) does not fit its ${imageBytes}-byte image`);
  let note: unknown;
  try {
    const text = new TextDecoder().decode(aligned.subarray(HEADER_BYTES, HEADER_BYTES + noteBytes)).replace(/\0+$/, "");
    note = JSON.parse(text);
  } catch {
    fail("its note is not JSON");
  }
  return {
    image: aligned.subarray(HEADER_BYTES + noteBytes),
    maximumBytes,
    rootPtr,
    shared: (u32[W_FLAGS]! & FLAG_SHARED) !== 0,
    note,
  };
}

function headerHash(u32: Uint32Array, noteBytes: number): number {
  const head = hashWords(u32, 0, W_IMAGE_HASH + 1, SAVE_MAGIC);
  return hashWords(u32, HEADER_BYTES / 4, (HEADER_BYTES + noteBytes) / 4, head);
}
