import {
  Attachment,
  type CorruptionError,
  DEFAULT_ALIGN,
  InvalidArgumentError,
  describe,
  validateAllocation,
  validatePointerShape,
  type AddressSpace,
  type Allocator,
  type Checkable,
  type Ptr,
  type StorageReporting,
} from "@memkit/core";
import { CHUNK_HEADER, C_TOP } from "./chunk.js";
import { FRAME_BLOCK_HEADER as BLOCK_HEADER, FREED_FLAG, SIZE_MASK, checkFrame, verifyFrameAttach } from "./frame-check.js";
import { FRAME_FREED_BYTE, spareFault, verifyFree, wipeArena } from "./frame-debug.js";
import { FREED, NOT_BLOCK, STALE, framePointerError } from "./frame-diagnosis.js";
import { frameEnded, frameExceeded, initialLimit, resolveGrowthFactor, resolveGrowthHandler, type FrameGrowthWarning } from "./frame-growth.js";
import { D_FRAME, D_LIMIT, FRAME_LAYOUT, MAX_ARENAS, R_BYTES, R_COUNT, R_FIRST, R_LAST, R_STRIDE, W_ARENA, W_FRAME_TAG, W_RING, W_START_BYTES, W_START_COUNT, frameControlBytes } from "./frame-layout.js";
import { resolveChunkOption, resolveControlPtr, resolveName, type FrameAllocatorOptions, type FrameAttachOptions } from "./options.js";
import { PAD_WORD, stampHash } from "./stamp.js";
import { countFreed, resizeLive } from "./temp-counters.js";
import { attachTempSource, createTempControl, expectBacking, type TempSource } from "./temp-control.js";
import { LIVE, TempHandle } from "./temp-handle.js";
import { CONFIG_ARENAS_MASK, CONFIG_ARENAS_SHIFT, CONFIG_DEBUG, D_FACTOR, W_CHUNK, W_END, W_FIRST, W_LIVE_BYTES, W_LIVE_COUNT, W_TOP, W_TOP_PTR } from "./temp-layout.js";

export { FRAME_FREED_BYTE };

/*
 * Block layout: an 8-byte header right below the pointer handed out.
 *
 *   ptr-8  u32 size    bits 0..30: bytes asked for (< 2^31)
 *                      bit 31:     debug mode only: deallocated (a second free throws)
 *   ptr-4  u32 stamp   frame ^ stampHash(ptr, size, key)
 *                      frame: low 32 bits of the frame the block was allocated in
 *   31 + 1 + 32 = 64 bits.
 *
 * Decoding the stamp with the block's own address and size gives back its
 * frame: a frame among the last `arenas` frames means live, an older one
 * means stale (the error names both frames), anything else means the pointer
 * is not a block of this allocator (foreign memory, an interior pointer or
 * another allocator's block decodes to a random 32-bit frame: about 2^-31
 * odds of passing). Block starts are 8-aligned; a larger align leaves a gap
 * that starts with a padding record [PAD_WORD, gap bytes], so chunks can be
 * walked block by block.
 *
 * Arenas: a ring of `arenas` chunk chains (frame-layout.ts). Frame k bumps
 * through arena k mod arenas; beginFrame() moves to the next arena and
 * recycles it: its first chunk stays, the rest go to the spare list in O(1)
 * (one splice), so a steady frame loop reuses the same chunks and never
 * calls the backing.
 *
 *   arena 0 (frame k-1): [chunk]->[chunk]           spare: [chunk]->[chunk]
 *   arena 1 (frame k)  : [chunk]->[chunk: top ... end]
 */
const BLOCK_ALIGN = 8;

/**
 * A per-frame allocator: a ring of frame arenas (default 2: this frame and
 * the previous one). Allocation is a bump; `beginFrame()` recycles the
 * oldest arena in O(1). Memory allocated in frame k stays valid through
 * frame k + arenas - 1 and is reclaimed when frame k + arenas begins.
 *
 * `deallocate` of a valid pointer is a no-op: frame memory returns when its
 * frame is recycled (in debug mode it also marks the block freed, so a
 * second free throws DoubleFreeError). `reallocate` grows or shrinks the
 * most recent block in place while its chunk has room.
 *
 * Arenas grow by chaining chunks from the backing allocator (any
 * {@link Allocator}); a request larger than a standard chunk gets a
 * dedicated chunk. Recycled chunks are kept and reused by later frames, so a
 * steady frame loop makes no backing calls; `trim()` returns the spares.
 *
 * Every block carries its frame number, so a stale pointer is reported with
 * the frame it came from and the frame it is now (`assertLive`, and every
 * call that takes a pointer). Debug mode (`{ debug: true }`) fills recycled
 * memory with {@link FRAME_FREED_BYTE} and reports a write into it as a
 * CorruptionError from `check()`, `beginFrame()` or the allocation that would
 * hand it out again.
 *
 * All state is in a control block in linear memory ({@link controlPtr}):
 * `FrameAllocator.attach(space, controlPtr, { backing })` is a second handle
 * on the same allocator. A frame allocator belongs to one thread at a time
 * (nothing is atomic); give each worker its own.
 */
export class FrameAllocator extends TempHandle implements Checkable, StorageReporting {
  /** Arenas in the ring: how many frames a block stays valid. */
  readonly arenas: number;
  /** True when recycled memory is filled and checked. */
  readonly debug: boolean;
  readonly #factor: number;
  readonly #onGrowth: ((warning: FrameGrowthWarning) => void) | undefined;
  // Set by classify, with foundSize.
  #foundAge = 0;

  /**
   * A new frame allocator leasing chunks from `backing` — or, given an
   * {@link Attachment} (see {@link FrameAllocator.attach}), a second handle on
   * the frame allocator whose control block that is. One path: what is read
   * back from the control block is checked the same way for both.
   */
  constructor(backing: Allocator, options?: FrameAllocatorOptions);
  constructor(attachment: Attachment, options: FrameAttachOptions);
  constructor(source: Allocator | Attachment, options: FrameAllocatorOptions | FrameAttachOptions = {}) {
    super(frameSource(source, options), FRAME_LAYOUT, FRAME_FREED_BYTE);
    this.arenas = (this.config >>> CONFIG_ARENAS_SHIFT) & CONFIG_ARENAS_MASK;
    this.debug = (this.config & CONFIG_DEBUG) !== 0;
    this.#factor = this.space.f64[this.d + D_FACTOR]!;
    this.#onGrowth = options.onFrameGrowth;
    if (source instanceof Attachment) {
      this.verifyChainWords(FRAME_LAYOUT, frameControlBytes(this.arenas));
      verifyFrameAttach(this, source.bytes, source.who);
    } else {
      this.space.f64[this.d + D_LIMIT] = initialLimit(this.#factor, this.chunkBytes);
    }
    this.start();
  }

  /**
   * A second handle on the frame allocator whose control block is at
   * `controlPtr` (`frame.controlPtr` of the creating side), leasing chunks
   * through `options.backing`. A wrong pointer, another structure or a
   * damaged block is a CorruptionError naming what was found; damage to the
   * chains is found by the first check().
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: FrameAttachOptions): FrameAllocator {
    return new FrameAllocator(Attachment.open(space, controlPtr, FRAME_LAYOUT, "FrameAllocator.attach", [frameControlBytes(1), frameControlBytes(MAX_ARENAS)]), options);
  }

  /** Bytes of the control block of a frame allocator with `arenas` arenas (for the controlPtr option). */
  static controlBytes(arenas = 2): number {
    return frameControlBytes(arenas);
  }

  /** The current frame number: 0 until the first `beginFrame()`. */
  get frame(): number {
    this.assertAlive("frame");
    return this.f64[this.d + D_FRAME]!;
  }

  protected get blockHeaderBytes(): number {
    return BLOCK_HEADER;
  }

  // -------------------------------------------------------------------- frames

  /**
   * Starts the next frame and returns its number. Recycles the oldest arena
   * (the memory of frame `frame - arenas + 1`) in O(1): its first chunk is
   * kept for the new frame, the rest become spares. In debug mode it first
   * checks the arena's free memory still holds {@link FRAME_FREED_BYTE} and
   * fills what the old frame used; a stale write found there is thrown as a
   * CorruptionError after the new frame has begun (the fill repairs it, so
   * the allocator keeps working).
   */
  beginFrame(): number {
    this.assertAlive("beginFrame");
    const u32 = this.u32;
    const f64 = this.f64;
    const w = this.w;
    const d = this.d;
    // Close the frame that ends: its chain goes into its ring record.
    const arena = u32[w + W_ARENA]!;
    const o = w + W_RING + arena * R_STRIDE;
    const bytes = u32[w + W_LIVE_BYTES]! - u32[w + W_START_BYTES]!;
    const current = u32[w + W_CHUNK]!;
    u32[o + R_FIRST] = u32[w + W_FIRST]!;
    u32[o + R_LAST] = current;
    u32[o + R_COUNT] = u32[w + W_LIVE_COUNT]! - u32[w + W_START_COUNT]!;
    u32[o + R_BYTES] = bytes;
    if (current !== 0) u32[(current >>> 2) + C_TOP] = u32[w + W_TOP]!;
    frameEnded(u32, f64, w, d, bytes, this.#factor, this.chunkBytes);
    // Recycle the oldest arena and begin the new frame in it.
    const next = arena + 1 === this.arenas ? 0 : arena + 1;
    const n = w + W_RING + next * R_STRIDE;
    const first = u32[n + R_FIRST]!;
    const last = u32[n + R_LAST]!;
    const ended = f64[d + D_FRAME]!;
    let fault: CorruptionError | undefined;
    if (first !== 0) {
      this.chain.expectChunk(first, "the first chunk of the arena to recycle");
      if (this.debug) fault = wipeArena(this, first, last, (ended + 1 - this.arenas) >>> 0);
    }
    countFreed(u32, f64, w, d, u32[n + R_COUNT]!, u32[n + R_BYTES]!);
    const frame = ended + 1;
    const tag = frame >>> 0;
    f64[d + D_FRAME] = frame;
    u32[w + W_FRAME_TAG] = tag;
    u32[w + W_ARENA] = next;
    u32[w + W_FIRST] = first;
    u32[w + W_CHUNK] = last;
    this.chain.recycle(tag);
    u32[n + R_FIRST] = u32[n + R_LAST] = u32[n + R_COUNT] = u32[n + R_BYTES] = 0;
    u32[w + W_START_COUNT] = u32[w + W_LIVE_COUNT]!;
    u32[w + W_START_BYTES] = u32[w + W_LIVE_BYTES]!;
    if (fault !== undefined) throw fault;
    return frame;
  }

  // ---------------------------------------------------------------- Allocator

  /** Bumps a block off the current frame's arena: O(1); chains a chunk when the current one is full. */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    validateAllocation(this.whoAllocate, size, align);
    const a = align > BLOCK_ALIGN ? align : BLOCK_ALIGN;
    const u32 = this.u32;
    const w = this.w;
    const top = u32[w + W_TOP]!;
    const ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    // Written as !(<=) so the dead views of an ended handle (undefined) fall to the slow path.
    if (!(ptr + size <= u32[w + W_END]!)) return this.#allocateSlow(size, a, align);
    if (this.debug) verifyFree(this, u32[w + W_CHUNK]!, top, ((ptr + size + 7) & -8) >>> 0, "before handing it out again");
    this.#place(u32, w, top, ptr, size);
    return ptr;
  }

  /**
   * A no-op for a live block: its memory returns when its frame is recycled
   * (debug mode marks it freed, so a second free throws DoubleFreeError).
   * 0 is a no-op. Throws InvalidPointerError for a pointer that is not a live
   * block of this allocator, naming the frames for a stale one.
   */
  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    validatePointerShape(this.whoDeallocate, ptr);
    const code = this.classify(ptr);
    if (code !== LIVE) throw this.pointerError(this.whoDeallocate, ptr, code, true);
    if (this.debug) this.u32[(ptr - BLOCK_HEADER) >>> 2] = (this.foundSize | FREED_FLAG) >>> 0;
  }

  // ------------------------------------------------------------- frame checks

  /**
   * Throws unless `ptr` is a live block: InvalidPointerError naming the frame
   * a stale pointer came from and the current frame, or saying why else it
   * is not a block (not in any chunk, inside a block, freed in debug mode).
   */
  assertLive(ptr: Ptr): void {
    this.liveSize(`${this.name}.assertLive`, ptr);
  }

  /** The frame a live block was allocated in; throws like {@link assertLive} otherwise. */
  frameOf(ptr: Ptr): number {
    this.liveSize(`${this.name}.frameOf`, ptr);
    return this.frame - this.#foundAge;
  }

  /**
   * Walks every arena's chain block by block and the spare list; throws
   * CorruptionError at the first broken invariant: a header whose stamp does
   * not decode to its arena's frame, a bad padding record or chain link, a
   * chunk the backing did not hand out or that overlaps another, counters
   * that disagree with the blocks, chunk bytes that do not add up to what
   * the control block counts. In debug mode it also verifies that all free
   * memory (past each chunk's top, and every spare chunk) still holds
   * {@link FRAME_FREED_BYTE}: a stale write is reported with its address,
   * offset and the frame that owned the memory. O(blocks + chunks log
   * chunks), plus O(free bytes) in debug mode; every walk is bounded.
   */
  check(): void {
    this.assertAlive("check");
    checkFrame(this);
  }

  /**
   * Returns every spare chunk to the backing, and the chunks of every arena
   * that holds no block (a recycled frame's first chunk, kept for reuse, and
   * the current frame's while it has allocated nothing); returns the bytes
   * given back. Arenas holding blocks keep their chunks. In debug mode the
   * spares are checked first (a stale write found is thrown after trimming).
   */
  trim(): number {
    if (!this.alive) return 0;
    const fault = this.debug ? spareFault(this) : undefined;
    const freed = this.reclaim();
    if (fault !== undefined) throw fault;
    return freed;
  }

  /**
   * The backing's reclaim hook (registered when the backing takes hooks, as
   * a page allocator does): {@link trim} without the debug check. Runs before
   * an allocation anywhere in the memory fails.
   */
  reclaim(): number {
    if (!this.alive) return 0;
    const chain = this.chain;
    let freed = chain.trimSpares();
    const u32 = this.u32;
    const w = this.w;
    const current = u32[w + W_ARENA]!;
    for (let j = 0; j < this.arenas; j++) {
      if (j === current) {
        const first = u32[w + W_FIRST]!;
        if (first === 0 || u32[w + W_LIVE_COUNT] !== u32[w + W_START_COUNT]) continue;
        freed += chain.freeList(first, u32[w + W_CHUNK]!);
        chain.clear();
      } else {
        const r = w + W_RING + j * R_STRIDE;
        const first = this.u32[r + R_FIRST]!;
        if (first === 0 || this.u32[r + R_COUNT] !== 0) continue;
        freed += chain.freeList(first, this.u32[r + R_LAST]!);
        this.u32[r + R_FIRST] = this.u32[r + R_LAST] = this.u32[r + R_BYTES] = 0;
      }
    }
    return freed;
  }

  /**
   * Returns every chunk (and the control block, when it was leased) to the
   * backing and ends every handle on the allocator. Idempotent.
   */
  destroy(): void {
    if (!this.alive) return;
    try {
      const chain = this.chain;
      const w = this.w;
      const current = this.u32[w + W_ARENA]!;
      for (let j = 0; j < this.arenas; j++) {
        const r = w + W_RING + j * R_STRIDE;
        const first = j === current ? this.u32[w + W_FIRST]! : this.u32[r + R_FIRST]!;
        if (first !== 0) chain.freeList(first, j === current ? this.u32[w + W_CHUNK]! : this.u32[r + R_LAST]!);
      }
      chain.trimSpares();
    } finally {
      this.retire();
    }
  }

  // ---------------------------------------------------------------- internals

  protected override isResizableTop(ptr: number): boolean {
    return ptr === this.u32[this.w + W_TOP_PTR];
  }

  protected override resizeTop(ptr: number, size: number, newSize: number): void {
    const u32 = this.u32;
    const w = this.w;
    const top = u32[w + W_TOP]!;
    const newTop = ((ptr + newSize + 7) & -8) >>> 0;
    if (this.debug) {
      if (newTop > top) verifyFree(this, u32[w + W_CHUNK]!, top, newTop, "before growing a block into it");
      else if (newTop < top) this.u8.fill(FRAME_FREED_BYTE, newTop, top);
    }
    const h = (ptr - BLOCK_HEADER) >>> 2;
    u32[h] = newSize;
    u32[h + 1] = u32[w + W_FRAME_TAG]! ^ stampHash(ptr, newSize, this.key);
    u32[w + W_TOP] = newTop;
    resizeLive(u32, w, newSize - size);
  }

  protected override movedFrom(ptr: number, size: number): void {
    // Debug mode marks the old block freed; otherwise it stays until its frame is recycled.
    if (this.debug) this.u32[(ptr - BLOCK_HEADER) >>> 2] = (size | FREED_FLAG) >>> 0;
  }

  #place(u32: Uint32Array, w: number, top: number, ptr: number, size: number): void {
    const hdr = ptr - BLOCK_HEADER;
    if (hdr !== top) {
      u32[top >>> 2] = PAD_WORD;
      u32[(top >>> 2) + 1] = hdr - top;
    }
    const h = hdr >>> 2;
    u32[h] = size;
    u32[h + 1] = u32[w + W_FRAME_TAG]! ^ stampHash(ptr, size, this.key);
    u32[w + W_TOP] = ((ptr + size + 7) & -8) >>> 0;
    u32[w + W_TOP_PTR] = ptr;
    u32[w + W_LIVE_COUNT] = u32[w + W_LIVE_COUNT]! + 1;
    u32[w + W_LIVE_BYTES] = u32[w + W_LIVE_BYTES]! + size;
  }

  #allocateSlow(size: number, a: number, align: number): Ptr {
    this.assertAlive("allocate");
    const chain = this.chain;
    const chunk = chain.lease(CHUNK_HEADER + BLOCK_HEADER + (a - BLOCK_ALIGN) + size, this.whoAllocate, size, align);
    const top = chunk + CHUNK_HEADER;
    const ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    if (this.debug) {
      try {
        verifyFree(this, chunk, top, ((ptr + size + 7) & -8) >>> 0, "before handing it out again");
      } catch (fault) {
        chain.giveBack(chunk, chunk);
        throw fault;
      }
    }
    // Nothing below can throw: the arena only changes once the chunk is in hand. (The lease may have grown the space.)
    const u32 = this.u32;
    const w = this.w;
    chain.link(chunk, u32[w + W_FRAME_TAG]!);
    this.#place(u32, w, top, ptr, size);
    const bytes = u32[w + W_LIVE_BYTES]! - u32[w + W_START_BYTES]!;
    if (bytes > this.f64[this.d + D_LIMIT]!) frameExceeded(u32, this.f64, w, this.d, this.name, this.frame, bytes, this.#factor, this.chunkBytes, this.#onGrowth);
    return ptr;
  }

  /** LIVE, NOT_BLOCK, STALE or FREED for a well-formed pointer; sets foundSize and #foundAge. */
  protected override classify(ptr: number): number {
    const limit = this.u8.length;
    if ((ptr & 7) !== 0 || ptr < CHUNK_HEADER + BLOCK_HEADER || ptr > limit) return NOT_BLOCK;
    const u32 = this.u32;
    const h = (ptr - BLOCK_HEADER) >>> 2;
    const word = u32[h]!;
    const size = word & SIZE_MASK;
    if (word === PAD_WORD || ptr + size > limit) return NOT_BLOCK;
    const age = (u32[this.w + W_FRAME_TAG]! - (u32[h + 1]! ^ stampHash(ptr, size, this.key))) >>> 0;
    this.foundSize = size;
    this.#foundAge = age;
    if (age < this.arenas) {
      if (word < FREED_FLAG) return LIVE;
      return this.debug ? FREED : NOT_BLOCK;
    }
    return age <= this.frame ? STALE : NOT_BLOCK;
  }

  protected override pointerError(who: string, ptr: number, code: number, freeing: boolean): Error {
    if (!this.alive) return this.endedError(who.slice(this.name.length + 1));
    return framePointerError(this, who, ptr, code, freeing, this.foundSize, this.#foundAge);
  }
}

/** Validates the options and writes a new control block, or checks the attach options. */
function frameSource(source: Allocator | Attachment, options: FrameAllocatorOptions | FrameAttachOptions): TempSource {
  if (source instanceof Attachment) {
    const o = options as FrameAttachOptions;
    const name = resolveName("FrameAllocator.attach", o.name, "frame");
    resolveGrowthHandler(`FrameAllocator.attach "${name}"`, o.onFrameGrowth);
    return attachTempSource(source, FRAME_LAYOUT, o.backing, name);
  }
  const o = options as FrameAllocatorOptions;
  const name = resolveName("FrameAllocator", o.name, "frame");
  const who = `FrameAllocator "${name}"`;
  const backing = expectBacking(who, source);
  const chunkBytes = resolveChunkOption(who, o);
  const arenas = o.arenas ?? 2;
  if (!Number.isInteger(arenas) || arenas < 1 || arenas > MAX_ARENAS) {
    throw new InvalidArgumentError(`${who}: option arenas must be an integer from 1 to ${MAX_ARENAS}, received ${describe(arenas)}.`);
  }
  const factor = resolveGrowthFactor(who, o.growthWarningFactor);
  resolveGrowthHandler(who, o.onFrameGrowth);
  const controlPtr = resolveControlPtr(who, o.controlPtr);
  const config = (arenas << CONFIG_ARENAS_SHIFT) | (o.debug ? CONFIG_DEBUG : 0);
  return createTempControl(backing, name, FRAME_LAYOUT, frameControlBytes(arenas), controlPtr, { chunkBytes, config, factor });
}
