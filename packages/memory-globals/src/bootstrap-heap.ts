import {
  Attachment,
  CONTROL_BLOCK_HEADER_BYTES,
  CONTROL_BLOCK_HEADER_WORDS,
  CorruptionError,
  InvalidArgumentError,
  OutOfMemoryError,
  SpaceHandle,
  describe,
  formatBytes,
  formatSize,
  hex,
  initControl,
  openControl,
  retireControl,
  sealControl,
  validateAllocation,
  type AddressSpace,
  type ControlLayout,
  type Ptr,
  type ViewSet,
} from "@memkit/core";

/*
 * The static bootstrap heap answers "how is the first allocator allocated?":
 * a fixed region right after the null guard, carved by bumping a pointer that
 * lives in the region's own header, so there is no JS-side bookkeeping.
 *
 *   base                                                             base + bytes
 *   +--------+--------+--------+--------+--------+-----+---------------------------+
 *   | "BOOT" | ver 2  | bytes  | seal   | top    | pad | control blocks, in carve  |
 *   +--------+--------+--------+--------+--------+-----+ order ->                  |
 *     core's control header (u32 x 4)     u32            (top = offset of the next free byte)
 *
 * The region is one control block whose only fixed word is the bump top:
 * carving is rare (a few control blocks at start-up), so each carve seals
 * the header again. A damaged or rolled-back top is then refused at attach,
 * and a handle can never carve over what was carved before, nor past the
 * region (whose size is sealed too) or the memory.
 *
 * Blocks are never freed one by one: the region lives as long as the memory
 * and is torn down with everything else at shutdown.
 */
const BOOT_LAYOUT: ControlLayout = { kind: "BootstrapHeap", magic: "BOOT", version: 2, fixedWords: 1 };
const W_TOP = CONTROL_BLOCK_HEADER_WORDS;
/** Header and top, rounded to 8: the first carve starts here. */
const HEADER_BYTES = (CONTROL_BLOCK_HEADER_BYTES + 4 + 7) & -8;

/** A fixed region that carves the control blocks of the first allocators. */
export class BootstrapHeap extends SpaceHandle {
  readonly name = "bootstrap";
  /** First byte of the region (its header). */
  readonly base: Ptr;
  /** Size of the region in bytes. */
  readonly bytes: number;
  private u32!: Uint32Array;

  /**
   * Lays a new bootstrap region of `bytes` at `base` (8-aligned, inside the
   * space) — or, given an {@link Attachment} (see {@link BootstrapHeap.attach}),
   * a second handle on the region it opened.
   */
  constructor(source: AddressSpace | Attachment, base?: Ptr, bytes?: number) {
    const attaching = source instanceof Attachment;
    const space = attaching ? source.space : source;
    const at = attaching ? source.controlPtr : layRegion(space, base, bytes);
    super(space, at);
    this.base = at;
    this.bytes = attaching ? source.bytes : bytes!;
    const top = space.u32[(at >>> 2) + W_TOP]!;
    if (at % 8 !== 0 || top < HEADER_BYTES || top > this.bytes) {
      throw new CorruptionError(`BootstrapHeap.attach: the bootstrap region at ${hex(at)} records ${top} bytes carved of ${this.bytes}: it is damaged.`);
    }
    this.followViews();
  }

  /** Lays a new bootstrap region of `bytes` at `base` (8-aligned, inside the space). */
  static create(space: AddressSpace, base: Ptr, bytes: number): BootstrapHeap {
    return new BootstrapHeap(space, base, bytes);
  }

  /**
   * Adopts the bootstrap region laid at `base` (by another thread, or in a
   * restored save). A wrong address or a damaged header — size, seal, or a
   * bump top that no longer matches it — is a CorruptionError.
   */
  static attach(space: AddressSpace, base: Ptr): BootstrapHeap {
    return new BootstrapHeap(Attachment.open(space, base, BOOT_LAYOUT, "BootstrapHeap.attach"));
  }

  refreshViews(views: ViewSet): void {
    this.u32 = views.u32;
  }

  /** Carves `size` bytes aligned to `align`. Throws OutOfMemoryError when the region is full. */
  carve(size: number, align = 8): Ptr {
    validateAllocation(this.name, size, align);
    this.assertAlive("carve");
    const u32 = this.u32;
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
    sealControl(this.space, this.base, BOOT_LAYOUT);
    return start;
  }

  /** Verifies the region's header, size and seal, and that the bump top lies inside it; throws CorruptionError. */
  check(): void {
    this.assertAlive("check");
    openControl(this.space, this.base, BOOT_LAYOUT, "bootstrap.check", [this.bytes, this.bytes]);
    const top = this.u32[(this.base >>> 2) + W_TOP]!;
    if (top < HEADER_BYTES || top > this.bytes) {
      throw new CorruptionError(`bootstrap.check: the region at ${hex(this.base)} records ${top} bytes carved of ${this.bytes}: it is damaged.`);
    }
  }

  /** Bytes carved so far (header included). */
  get usedBytes(): number {
    this.assertAlive("usedBytes");
    return this.u32[(this.base >>> 2) + W_TOP]!;
  }

  /** One past the last byte of the region. (Not `end`: that is how a handle ends, see SpaceHandle.) */
  get limit(): Ptr {
    return this.base + this.bytes;
  }

  /** Ends this handle only; the region and what was carved from it stay. Idempotent. */
  detach(): void {
    this.end("detached");
  }

  /** Retires the region (attaching to it is refused) and ends every handle this thread holds on it. Idempotent. */
  destroy(): void {
    if (!this.alive) return;
    retireControl(this.space, this.base);
    this.end("destroyed");
  }
}

/** Validates the creation arguments and lays a new region's sealed header; returns its address. */
function layRegion(space: AddressSpace, base: Ptr | undefined, bytes: number | undefined): Ptr {
  if (typeof base !== "number" || base >>> 0 !== base || base % 8 !== 0 || base === 0) {
    throw new InvalidArgumentError(`BootstrapHeap: base must be a non-zero 8-aligned address, received ${describe(base)}.`);
  }
  if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < HEADER_BYTES || bytes % 8 !== 0) {
    throw new InvalidArgumentError(`BootstrapHeap: bytes must be a multiple of 8 of at least ${HEADER_BYTES}, received ${describe(bytes)}.`);
  }
  space.ensureByteLength(base + bytes);
  initControl(space, base, BOOT_LAYOUT, bytes);
  space.u32[(base >>> 2) + W_TOP] = HEADER_BYTES;
  sealControl(space, base, BOOT_LAYOUT);
  return base;
}
