import {
  CONTROL_BLOCK_HEADER_WORDS,
  CorruptionError,
  InvalidArgumentError,
  alignUp,
  describe,
  formatSize,
  hashWords,
  hex,
  initControl,
  openControl,
  type AddressSpace,
  type Allocator,
  type ControlLayout,
  type Ptr,
} from "@memkit/core";
import { checkAllocator } from "./errors.js";
import { describeLayout, layoutFingerprint, type StructLayout } from "./struct-layout.js";

/*
 * A container descriptor: the words a container keeps in JS fields for speed
 * (its block, length, capacity, counts, free-list ends), written into linear
 * memory by `persist()`, so that another handle can find the container again
 * from memory alone: after `memory.save()` and a restore in another process,
 * or in a worker handed the memory. It is a control block in core's sense
 * (initControl / openControl), one layout per container kind:
 *
 *   +0..3  core's header: magic ("DARR", "HMAP", ...), version, bytes, seal
 *   +4     W_NAME_BYTES    UTF-8 bytes of the container's name
 *   +5     W_NAME_HASH     hashWords over the name's words
 *   +6     W_BLOCK         the container's block (0: none)
 *   +7     W_BLOCK_BYTES   bytes asked for that block
 *   +8 ..  the kind's words (drawn in the file of each container)
 *   then   the name, UTF-8, zero-padded to whole words
 *
 * Unlike an allocator's control block nothing here changes behind the
 * writer's back: persist() rewrites every word and re-seals, so the seal
 * covers all of them (the layout's fixedWords run up to the name) and
 * W_NAME_HASH covers the name. Any damage to a descriptor is a
 * CorruptionError at restore. Restore still range-checks every word and the
 * container's check() runs before the handle is returned, so even a
 * well-sealed forgery cannot give a container that reaches outside live
 * blocks of its allocator.
 */

export const W_NAME_BYTES = CONTROL_BLOCK_HEADER_WORDS;
export const W_NAME_HASH = CONTROL_BLOCK_HEADER_WORDS + 1;
export const W_BLOCK = CONTROL_BLOCK_HEADER_WORDS + 2;
export const W_BLOCK_BYTES = CONTROL_BLOCK_HEADER_WORDS + 3;
/** The first word a container kind defines. */
export const W_KIND_WORDS = CONTROL_BLOCK_HEADER_WORDS + 4;

/*
 * Containers of records (StructArray, StructOfArrays, HandlePool) start their
 * words with the layout they were written for:
 *   +8   W_LAYOUT_HASH  layoutFingerprint(layout): field names, kinds, offsets, size
 *   +9   W_FIELDS       field count      } shown when the layout given to
 *   +10  W_STRIDE       bytes per record } restore() is not this one
 */
const W_LAYOUT_HASH = W_KIND_WORDS;
const W_FIELDS = W_KIND_WORDS + 1;
const W_STRIDE = W_KIND_WORDS + 2;
/** The first word after the layout words. */
export const W_AFTER_LAYOUT = W_KIND_WORDS + 3;

/** Names longer than this (UTF-8 bytes) are cut in a descriptor. */
const MAX_NAME_BYTES = 4096;

/** Options every `restore()` accepts. */
export interface RestoreOptions {
  /** As the constructors' `debug` option: report the restored handle if it is collected without dispose(). */
  debug?: boolean;
}

/** A descriptor layout for a container kind whose last word is `lastWord`. */
export function descriptorLayout(kind: string, magic: string, lastWord: number): ControlLayout {
  return Object.freeze({ kind, magic, version: 1, fixedWords: lastWord + 1 - CONTROL_BLOCK_HEADER_WORDS });
}

let encoder: TextEncoder | undefined;
let decoder: TextDecoder | undefined;

/** The name's UTF-8 bytes (at most {@link MAX_NAME_BYTES}). */
export function encodeName(name: string): Uint8Array {
  const bytes = (encoder ??= new TextEncoder()).encode(name);
  return bytes.length > MAX_NAME_BYTES ? bytes.subarray(0, MAX_NAME_BYTES) : bytes;
}

/** Bytes of a descriptor of `layout` whose name has `nameBytes` UTF-8 bytes. */
export function descriptorBytes(layout: ControlLayout, nameBytes: number): number {
  return (CONTROL_BLOCK_HEADER_WORDS + layout.fixedWords) * 4 + alignUp(nameBytes, 4);
}

/** Starts a descriptor at `ptr` (header and name); the container writes its words and seals it. */
export function initDescriptor(space: AddressSpace, ptr: Ptr, layout: ControlLayout, bytes: number, name: Uint8Array): void {
  initControl(space, ptr, layout, bytes);
  const nameAt = ptr + (CONTROL_BLOCK_HEADER_WORDS + layout.fixedWords) * 4;
  space.u8.set(name, nameAt);
  const u32 = space.u32;
  const w = ptr >>> 2;
  u32[w + W_NAME_BYTES] = name.length;
  u32[w + W_NAME_HASH] = hashWords(u32, nameAt >>> 2, (ptr + bytes) >>> 2);
}

/**
 * A descriptor that {@link ContainerDescriptor.open} verified: what a
 * container's constructor receives in place of its creation options to
 * become a handle on an existing container. The only way to get one is
 * `open`, so a constructor that sees one knows the header, seal, name and
 * ownership were checked; it still range-checks each word it reads
 * ({@link word}) and runs its check() before it is handed out.
 */
export class ContainerDescriptor {
  private constructor(
    readonly allocator: Allocator,
    readonly ptr: Ptr,
    readonly layout: ControlLayout,
    /** The call that opened it, for messages (`HashMap.restore`). */
    readonly who: string,
    /** The container's name, as recorded. */
    readonly name: string,
    readonly debug: boolean | undefined,
    /** The container's block (0: none), and the bytes asked for it. */
    readonly block: Ptr,
    readonly blockBytes: number,
  ) {}

  /**
   * Verifies the descriptor at `ptr` for a restore through `allocator`. Bad
   * arguments (not an allocator, a pointer that is not a number, options that
   * are not an object) are InvalidArgumentErrors; everything found wrong in
   * memory — not a descriptor of this kind, another version, a broken seal or
   * name, a block the allocator does not hold — is a CorruptionError naming
   * what was found.
   */
  static open(who: string, allocator: Allocator, ptr: Ptr, layout: ControlLayout, options: RestoreOptions | undefined): ContainerDescriptor {
    checkAllocator(who, allocator);
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new InvalidArgumentError(`${who}: options must be an object, received ${describe(options)}.`);
    }
    const debug = options?.debug;
    if (debug !== undefined && typeof debug !== "boolean") {
      throw new InvalidArgumentError(`${who}: option debug must be true or false, received ${describe(debug)}.`);
    }
    const space = allocator.space;
    const bytes = openControl(space, ptr, layout, who);
    if (ptr % 8 !== 0) throw new CorruptionError(`${who}: ${hex(ptr)} is not 8-aligned: no container descriptor starts there.`);
    const u32 = space.u32;
    const w = ptr >>> 2;
    const nameAt = w + CONTROL_BLOCK_HEADER_WORDS + layout.fixedWords;
    const nameBytes = u32[w + W_NAME_BYTES]!;
    if (nameBytes > MAX_NAME_BYTES || alignUp(nameBytes, 4) !== ptr + bytes - nameAt * 4) {
      throw new CorruptionError(`${who}: the ${layout.kind} descriptor at ${hex(ptr)} is damaged: its name of ${nameBytes} bytes does not fit its ${bytes}-byte block.`);
    }
    if (hashWords(u32, nameAt, (ptr + bytes) >>> 2) !== u32[w + W_NAME_HASH]) {
      throw new CorruptionError(`${who}: the ${layout.kind} descriptor at ${hex(ptr)} is damaged: its name no longer matches its hash.`);
    }
    const name = (decoder ??= new TextDecoder()).decode(space.u8.subarray(nameAt * 4, nameAt * 4 + nameBytes));
    if (!allocator.owns(ptr) || allocator.allocatedSize(ptr) < bytes) {
      throw new CorruptionError(
        `${who}: the ${layout.kind} descriptor at ${hex(ptr)} ("${name}") is not a live block of allocator "${allocator.name}".\n` +
          `  Restore with the allocator the container was created with (or a handle attached to it).`,
      );
    }
    const block = u32[w + W_BLOCK]!;
    const blockBytes = u32[w + W_BLOCK_BYTES]!;
    if (block === 0 ? blockBytes !== 0 : block === ptr || blockBytes === 0) {
      throw new CorruptionError(`${who}: the ${layout.kind} descriptor at ${hex(ptr)} ("${name}") is damaged: block ${hex(block)} of ${formatSize(blockBytes)}.`);
    }
    return new ContainerDescriptor(allocator, ptr, layout, who, name, debug, block, blockBytes);
  }

  /** Word `word` of the descriptor, range-checked: a value outside `min..max` is a CorruptionError naming `field`. */
  word(word: number, min: number, max: number, field: string): number {
    const value = this.allocator.space.u32[(this.ptr >>> 2) + word]!;
    if (value < min || value > max) throw this.damaged(`${field} holds ${value}, outside ${min}..${max}`);
    return value;
  }

  /** Word `word` read as an i32 (free-list ends, where -1 is "none"), range-checked. */
  int(word: number, min: number, max: number, field: string): number {
    const value = this.allocator.space.i32[(this.ptr >>> 2) + word]!;
    if (value < min || value > max) throw this.damaged(`${field} holds ${value}, outside ${min}..${max}`);
    return value;
  }

  /** The float64 at f64 slot `slot` of the descriptor. */
  f64(slot: number): number {
    return this.allocator.space.f64[(this.ptr >>> 3) + slot]!;
  }

  /** The CorruptionError for a descriptor whose words do not describe a working container. */
  damaged(what: string): CorruptionError {
    return new CorruptionError(`${this.who}: the ${this.layout.kind} descriptor at ${hex(this.ptr)} ("${this.name}") is damaged: ${what}.`);
  }
}

/** Writes the layout words of a record container's descriptor. */
export function writeLayoutWords(u32: Uint32Array, w: number, layout: StructLayout): void {
  u32[w + W_LAYOUT_HASH] = layoutFingerprint(layout);
  u32[w + W_FIELDS] = layout.fields.length;
  u32[w + W_STRIDE] = layout.size;
}

/** CorruptionError unless the descriptor `d` was written for `layout` (same field names, kinds, offsets and size). */
export function checkLayoutWords(d: ContainerDescriptor, layout: StructLayout): void {
  const u32 = d.allocator.space.u32;
  const w = d.ptr >>> 2;
  const hash = u32[w + W_LAYOUT_HASH]!;
  if (hash !== layoutFingerprint(layout) || u32[w + W_FIELDS] !== layout.fields.length || u32[w + W_STRIDE] !== layout.size) {
    throw new CorruptionError(
      `${d.who}: the descriptor at ${hex(d.ptr)} ("${d.name}") was written for records of ${u32[w + W_FIELDS]} fields and ${u32[w + W_STRIDE]} bytes ` +
        `(layout fingerprint ${hex(hash)}); the layout given (${describeLayout(layout)}) has ${layout.fields.length} fields and ${layout.size} bytes ` +
        `(fingerprint ${hex(layoutFingerprint(layout))}).\n  Restore with the layout the container was created with: same field names, kinds and order.`,
    );
  }
}

/** What a persisted container gives the registry of live handles. @internal */
export interface PersistedHandle {
  /** Ends this handle without freeing anything: another handle took the container over. */
  handOver(): void;
}

/**
 * This thread's live handle on each descriptor, per space: a restore ends
 * the handle it takes over (one live handle per container), so the old one
 * throws instead of writing behind the new one's back. Weak: a dropped
 * handle is simply collected.
 */
const handles = new WeakMap<AddressSpace, Map<Ptr, WeakRef<PersistedHandle>>>();

/** Lists `handle` as the live handle on the descriptor at `ptr`, ending the one listed before (if any). */
export function takeOver(space: AddressSpace, ptr: Ptr, handle: PersistedHandle): void {
  let byPtr = handles.get(space);
  if (byPtr === undefined) handles.set(space, (byPtr = new Map<Ptr, WeakRef<PersistedHandle>>()));
  const previous = byPtr.get(ptr)?.deref();
  byPtr.set(ptr, new WeakRef(handle));
  if (previous !== undefined && previous !== handle) previous.handOver();
}

/** Removes `handle` from the list (its descriptor is being freed). */
export function release(space: AddressSpace, ptr: Ptr, handle: PersistedHandle): void {
  const byPtr = handles.get(space);
  if (byPtr?.get(ptr)?.deref() === handle) byPtr.delete(ptr);
}
