import type {
  AddressSpace} from "@memkit/core";
import {
  InvalidArgumentError,
  OutOfMemoryError,
  checkControlHeader,
  formatBytes,
  formatSize,
  hex,
  magic,
  validateAllocation,
  writeControlHeader,
  type Ptr,
} from "@memkit/core";

/*
 * The static bootstrap heap answers "how is the first allocator allocated?":
 * a fixed region right after the null guard, carved by bumping a pointer that
 * lives in the region's own header, so there is no JS-side bookkeeping.
 *
 *   base                                                      base + bytes
 *   +--------+--------+--------+--------+----------------------------------+
 *   | "BOOT" | ver 1  | bytes  | top    | control blocks, in carve order ->|
 *   +--------+--------+--------+--------+----------------------------------+
 *     u32      u32      u32      u32      (top = offset of the next free byte)
 *
 * Blocks are never freed one by one: the region lives as long as the process
 * and is torn down with everything else at shutdown.
 */
const BOOT_MAGIC = magic("BOOT");
const LAYOUT_VERSION = 1;
const W_BYTES = 2;
const W_TOP = 3;
const HEADER_BYTES = 16;

/** A fixed region that carves the control blocks of the first allocators. */
export class BootstrapHeap {
  readonly space: AddressSpace;
  /** First byte of the region (its header). */
  readonly base: Ptr;
  /** Size of the region in bytes. */
  readonly bytes: number;

  private constructor(space: AddressSpace, base: Ptr, bytes: number) {
    this.space = space;
    this.base = base;
    this.bytes = bytes;
  }

  /** Lays a new bootstrap region of `bytes` at `base` (8-aligned, inside the space). */
  static create(space: AddressSpace, base: Ptr, bytes: number): BootstrapHeap {
    if (base >>> 0 !== base || base % 8 !== 0 || base === 0) {
      throw new InvalidArgumentError(`BootstrapHeap: base must be a non-zero 8-aligned address, received ${String(base)}.`);
    }
    if (!Number.isSafeInteger(bytes) || bytes < HEADER_BYTES || bytes % 8 !== 0) {
      throw new InvalidArgumentError(`BootstrapHeap: bytes must be a multiple of 8 of at least ${HEADER_BYTES}, received ${String(bytes)}.`);
    }
    space.ensureByteLength(base + bytes);
    writeControlHeader(space, base, BOOT_MAGIC, LAYOUT_VERSION);
    const u32 = space.u32;
    u32[(base >>> 2) + W_BYTES] = bytes;
    u32[(base >>> 2) + W_TOP] = HEADER_BYTES;
    return new BootstrapHeap(space, base, bytes);
  }

  /** Adopts the bootstrap region another thread laid at `base`. */
  static attach(space: AddressSpace, base: Ptr): BootstrapHeap {
    checkControlHeader(space, base, BOOT_MAGIC, LAYOUT_VERSION, "BootstrapHeap.attach");
    return new BootstrapHeap(space, base, space.u32[(base >>> 2) + W_BYTES]!);
  }

  /** Carves `size` bytes aligned to `align`. Throws OutOfMemoryError when the region is full. */
  carve(size: number, align = 8): Ptr {
    validateAllocation("bootstrap", size, align);
    const u32 = this.space.u32;
    const top = u32[(this.base >>> 2) + W_TOP]!;
    const start = Math.ceil((this.base + top) / align) * align;
    const end = start + size;
    if (end > this.base + this.bytes) {
      throw new OutOfMemoryError(
        `bootstrap: cannot carve ${formatSize(size)} (align ${align}): ${formatBytes(top)} of the ${formatBytes(this.bytes)} region at ${hex(this.base)} is used.\n` +
          `  Raise the bootstrapBytes option.`,
      );
    }
    u32[(this.base >>> 2) + W_TOP] = end - this.base;
    return start;
  }

  /** Bytes carved so far (header included). */
  get usedBytes(): number {
    return this.space.u32[(this.base >>> 2) + W_TOP]!;
  }

  /** One past the last byte of the region. */
  get end(): Ptr {
    return this.base + this.bytes;
  }
}
