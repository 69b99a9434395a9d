import { CorruptionError, hex, initControl, isPowerOfTwo, sealControl, type AddressSpace, type Ptr } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import {
  MAX_CLASSES,
  SLAB_HEADER_BYTES,
  SLOT_LAYOUT,
  TABLE_WORDS,
  T_COUNT,
  T_LINK_AT,
  T_SIZE,
  W_CLASSES,
  W_CLASS_COUNT,
  W_CLASS_TABLE,
  W_KEEP_EMPTY,
  W_MAX_SLOT,
  W_OWNER,
  W_PAGES,
  W_PAGE_SHIFT,
  W_PARKED_CLASS,
  W_SLAB_ALIGN,
  W_SLAB_BYTES,
  controlBytesFor,
  linkAtFor,
  slotsPerSlab,
} from "./layout.js";
import { MAX_SLAB_BYTES, MAX_KEEP_EMPTY, minSlabBytes, type ResolvedSlotOptions } from "./options.js";
import { MAX_MAX_SLOT_SIZE, MIN_MAX_SLOT_SIZE, sizeClasses } from "./size-classes.js";

/**
 * What a handle knows about its slot allocator: the sealed words of the
 * control block, checked for consistency, plus what follows from them and
 * from the page allocator. Never changes after the handle is built.
 */
export interface SlotGeometry {
  readonly controlPtr: Ptr;
  readonly controlBytes: number;
  readonly ownerId: number;
  /** `ownerId << 24`: the owner part of every slab page's tag. */
  readonly ownerTag: number;
  readonly pageShift: number;
  readonly pageSize: number;
  readonly slabBytes: number;
  readonly slabAlign: number;
  readonly maxSlotSize: number;
  readonly keepEmptySlabs: number;
  readonly classCount: number;
  /** Per class: slot size, slots per slab, link mark (the class table). */
  readonly sizes: Int32Array;
  readonly counts: Int32Array;
  readonly linkAts: Int32Array;
  /** Word index of the control block and of class record 0. */
  readonly cw: number;
  readonly classWord: number;
  /** Bytes from a slab's base to its header. */
  readonly hdrOffset: number;
  /** The page allocator's first page address and page-map limit: every slab lies between. */
  readonly slabStart: number;
  readonly slabLimit: number;
  /** Most slabs that fit between them: the bound of every list walk. */
  readonly maxSlabs: number;
  /** u32 word index of the page allocator's tag array (for hot-path routing). */
  readonly tagWordBase: number;
}

/** Writes a new control block at `ptr` for `o`: header, fixed words (sealed), empty state. */
export function writeControl(space: AddressSpace, ptr: Ptr, o: ResolvedSlotOptions, ownerId: number, pages: PageAllocator): void {
  const classes = sizeClasses(o.maxSlotSize);
  initControl(space, ptr, SLOT_LAYOUT, controlBytesFor(classes.length));
  const i32 = space.i32;
  const w = ptr >>> 2;
  i32[w + W_OWNER] = ownerId;
  i32[w + W_PAGES] = pages.controlPtr;
  i32[w + W_PAGE_SHIFT] = pages.pageShift;
  i32[w + W_SLAB_BYTES] = o.slabBytes;
  i32[w + W_SLAB_ALIGN] = Math.max(o.maxSlotSize, pages.pageSize);
  i32[w + W_MAX_SLOT] = o.maxSlotSize;
  i32[w + W_CLASS_COUNT] = classes.length;
  i32[w + W_KEEP_EMPTY] = o.keepEmptySlabs;
  classes.forEach((size, c) => {
    const t = w + W_CLASS_TABLE + c * TABLE_WORDS;
    const count = slotsPerSlab(size, o.slabBytes);
    i32[t + T_SIZE] = size;
    i32[t + T_COUNT] = count;
    i32[t + T_LINK_AT] = linkAtFor(count);
  });
  sealControl(space, ptr, SLOT_LAYOUT);
  i32[w + W_PARKED_CLASS] = -1;
}

/**
 * Reads the sealed words of the control block at `ptr` (its seal already
 * verified) and checks they describe a slot allocator that leases from
 * `pages`: slab size and alignment, classes and their table, the control
 * block's own size and page-map tag. Anything else is a CorruptionError.
 */
export function readGeometry(space: AddressSpace, ptr: Ptr, bytes: number, pages: PageAllocator, who: string): SlotGeometry {
  const i32 = space.i32;
  const w = ptr >>> 2;
  const bad = (what: string): CorruptionError => new CorruptionError(`${who}: the slot allocator at ${hex(ptr)} ${what}: its control block is damaged.`);
  const ownerId = i32[w + W_OWNER]!;
  const pageShift = i32[w + W_PAGE_SHIFT]!;
  const slabBytes = i32[w + W_SLAB_BYTES]!;
  const slabAlign = i32[w + W_SLAB_ALIGN]!;
  const maxSlotSize = i32[w + W_MAX_SLOT]!;
  const classCount = i32[w + W_CLASS_COUNT]!;
  const keepEmptySlabs = i32[w + W_KEEP_EMPTY]!;
  if (ownerId < 1 || ownerId > 255) throw bad(`names page-map owner ${ownerId} (expected 1..255)`);
  if (i32[w + W_PAGES] !== pages.controlPtr || pageShift !== pages.pageShift) {
    throw bad(`leases from the page allocator at ${hex(i32[w + W_PAGES]! >>> 0)} with page shift ${pageShift}, not the one at ${hex(pages.controlPtr)} (page shift ${pages.pageShift})`);
  }
  if (!isPowerOfTwo(slabBytes) || slabBytes < minSlabBytes(pages.pageSize) || slabBytes > MAX_SLAB_BYTES) throw bad(`has ${slabBytes}-byte slabs`);
  if (!isPowerOfTwo(maxSlotSize) || maxSlotSize < MIN_MAX_SLOT_SIZE || maxSlotSize > MAX_MAX_SLOT_SIZE || maxSlotSize > slabBytes / 8) throw bad(`has a ${maxSlotSize}-byte largest slot`);
  if (slabAlign !== Math.max(maxSlotSize, pages.pageSize)) throw bad(`aligns slabs to ${slabAlign} bytes`);
  if (keepEmptySlabs < 0 || keepEmptySlabs > MAX_KEEP_EMPTY) throw bad(`keeps ${keepEmptySlabs} empty slabs`);
  const classes = sizeClasses(maxSlotSize);
  if (classCount !== classes.length || bytes !== controlBytesFor(classCount)) throw bad(`has ${classCount} classes in a ${bytes}-byte block`);
  const sizes = new Int32Array(classCount);
  const counts = new Int32Array(classCount);
  const linkAts = new Int32Array(classCount);
  for (let c = 0; c < MAX_CLASSES; c++) {
    const t = w + W_CLASS_TABLE + c * TABLE_WORDS;
    const size = classes[c] ?? 0;
    const count = c < classCount ? slotsPerSlab(size, slabBytes) : 0;
    const linkAt = c < classCount ? linkAtFor(count) : 0;
    if (i32[t + T_SIZE] !== size || i32[t + T_COUNT] !== count || i32[t + T_LINK_AT] !== linkAt) {
      throw bad(`lists class ${c} as ${i32[t + T_SIZE]}-byte slots, ${i32[t + T_COUNT]} per slab (expected ${size}, ${count})`);
    }
    if (c < classCount) {
      sizes[c] = size;
      counts[c] = count;
      linkAts[c] = linkAt;
    }
  }
  const ownerTag = ownerId << 24;
  if (pages.tagOf(ptr) !== ownerTag >>> 0 || !pages.owns(ptr) || pages.allocatedSize(ptr) < bytes) {
    throw bad(`lies in a page span tagged ${hex(pages.tagOf(ptr))}, not a live span of owner ${ownerId}`);
  }
  const range = pages.range;
  return {
    controlPtr: ptr,
    controlBytes: bytes,
    ownerId,
    ownerTag,
    pageShift,
    pageSize: pages.pageSize,
    slabBytes,
    slabAlign,
    maxSlotSize,
    keepEmptySlabs,
    classCount,
    sizes,
    counts,
    linkAts,
    cw: w,
    classWord: w + W_CLASSES,
    hdrOffset: slabBytes - SLAB_HEADER_BYTES,
    slabStart: range.start,
    slabLimit: range.limit,
    maxSlabs: Math.floor((range.limit - range.start) / slabBytes),
    tagWordBase: pages.tagWordBase,
  };
}
