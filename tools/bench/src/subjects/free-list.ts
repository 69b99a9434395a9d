import { AddressSpace } from "@memkit/core";
import type { FillBytes } from "@memkit/core";
import { MAXIMUM_BYTES, RESERVED_BYTES } from "./subject.js";
import type { Subject, SubjectFactory } from "./subject.js";

const WASM_PAGE = 65536;
/** Slabs and the page map's granule: 16 KiB, as memkit's default pages. */
const SLAB_SHIFT = 14;
const SLAB_BYTES = 1 << SLAB_SHIFT;
/** Size classes: multiples of 16 bytes up to 1 KiB. */
const MAX_SIZE = 1024;
const CLASSES = MAX_SIZE >>> 4;

/*
 * Words of the subject's memory, from 0: the page map (the class of each
 * 16 KiB page's slab), then per class [free-list head, bump, bump end].
 * Slabs start after that, one bump pointer for all of them; none is returned.
 */
const MAP_WORDS = RESERVED_BYTES >>> SLAB_SHIFT;
const CLASS_WORD = MAP_WORDS;
const FIRST_SLAB = Math.ceil(((CLASS_WORD + (CLASSES + 1) * 4) * 4) / SLAB_BYTES) * SLAB_BYTES;

/**
 * The floor of the size-class design, a baseline rather than an allocator:
 * a free list per class (16-byte steps to 1 KiB) in 16 KiB slabs, the block's
 * class found through a page map on free (as memkit's slot tier finds its
 * slab), and nothing else — no double-free or foreign-pointer check, no
 * counters, no slab ever returned. What memkit's slot tier does beyond this
 * (its exact live bitmap, the page-map owner check, per-class counters in
 * memory, empty slabs handed back) is the difference between the two rows.
 */
class FreeListSubject implements Subject {
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  /** Zeroes with memory.fill, as every subject over a wasm memory does (see Subject.zero). */
  private readonly fill: FillBytes;
  private top = FIRST_SLAB;

  constructor() {
    const memory = new WebAssembly.Memory({ initial: RESERVED_BYTES / WASM_PAGE, maximum: MAXIMUM_BYTES / WASM_PAGE });
    this.i32 = new Int32Array(memory.buffer);
    this.u8 = new Uint8Array(memory.buffer);
    this.fill = AddressSpace.attach(memory, { maximumBytes: MAXIMUM_BYTES }).bytes.fill;
  }

  alloc(size: number): number {
    const i32 = this.i32;
    const c = CLASS_WORD + (((size + 15) >>> 4) << 2);
    const head = i32[c]!;
    if (head !== 0) {
      i32[c] = i32[head >>> 2]!;
      return head;
    }
    const p = i32[c + 1]!;
    if (p === i32[c + 2]!) return this.carve(c, size); // used up (or never carved: both 0)
    i32[c + 1] = p + ((size + 15) & ~15);
    return p;
  }

  /** A new slab for class word `c` (its bump range was used up), and its first block. */
  private carve(c: number, size: number): number {
    const base = this.top;
    if (base + SLAB_BYTES > RESERVED_BYTES) throw new Error("free-list baseline: out of memory");
    this.top = base + SLAB_BYTES;
    const step = (size + 15) & ~15;
    this.i32[base >>> SLAB_SHIFT] = c;
    this.i32[c + 1] = base + step;
    this.i32[c + 2] = base + Math.floor(SLAB_BYTES / step) * step;
    return base;
  }

  allocAligned(size: number, _align: number): number {
    return this.alloc(size);
  }

  zero(handle: number, size: number): void {
    this.fill(handle, 0, size);
  }

  free(handle: number): void {
    const i32 = this.i32;
    const c = i32[handle >>> SLAB_SHIFT]!;
    i32[handle >>> 2] = i32[c]!;
    i32[c] = handle;
  }

  /** Moves to the new size's class (not timed anywhere: A, B and D do not reallocate). */
  realloc(handle: number, size: number): number {
    const step = ((this.i32[handle >>> SLAB_SHIFT]! - CLASS_WORD) >>> 2) << 4;
    const moved = this.alloc(size);
    this.u8.copyWithin(moved, handle, handle + Math.min(step, size));
    this.free(handle);
    return moved;
  }

  write(handle: number, size: number, value: number): void {
    const u8 = this.u8;
    u8[handle] = value;
    u8[handle + size - 1] = value;
  }

  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }

  footprint(): number {
    return this.top - FIRST_SLAB;
  }

  destroy(): void {}
}

/** The free-list baseline. */
export function load(): Promise<SubjectFactory> {
  return Promise.resolve({
    footprintNote: "free-list baseline: 16 KiB slabs carved (never returned)",
    create: () => new FreeListSubject(),
  });
}
