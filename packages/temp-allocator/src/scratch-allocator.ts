import {
  Attachment,
  DEFAULT_ALIGN,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidPointerError,
  describe,
  hex,
  invalidPointer,
  validateAllocation,
  validatePointerShape,
  type AddressSpace,
  type Allocator,
  type Checkable,
  type Ptr,
  type StorageReporting,
} from "@memkit/core";
import { CHUNK_HEADER } from "./chunk.js";
import { resolveChunkOption, resolveControlPtr, resolveName, type ScratchAllocatorOptions, type TempAttachOptions } from "./options.js";
import { SCRATCH_BLOCK_HEADER as BLOCK_HEADER, blockCheck, checkScratch, verifyScratchAttach } from "./scratch-check.js";
import {
  SCRATCH_CONTROL_BYTES,
  SCRATCH_LAYOUT,
  W_DEPTH,
  W_FLOOR_PTR,
  W_LIVE_BASE,
  W_LIVE_CAP,
  W_MARK_COUNT,
} from "./scratch-layout.js";
import { scratchLeak } from "./scratch-leak.js";
import { releaseMark, takeMark } from "./scratch-marks.js";
import { popTop } from "./scratch-stack.js";
import { freeTables, growTables } from "./scratch-tables.js";
import { PAD_WORD } from "./stamp.js";
import { countFreed, resizeLive } from "./temp-counters.js";
import { attachTempSource, createTempControl, expectBacking, type TempSource } from "./temp-control.js";
import { LIVE, TempHandle } from "./temp-handle.js";
import { W_CHUNK, W_END, W_FIRST, W_LIVE_BYTES, W_LIVE_COUNT, W_TOP, W_TOP_PTR } from "./temp-layout.js";

/*
 * Block layout. Blocks are bumped upward through the chunks of the stack's
 * chain; each carries a 16-byte header right below the pointer handed out:
 *
 *   ptr-16  u32 size    bytes asked for (< 2^31)
 *   ptr-12  u32 index   the block's position in the stack (0 = bottom): the
 *                       live blocks are exactly live[0 .. liveCount) (the
 *                       tables block, scratch-layout.ts), so the block below
 *                       it, which deallocate(top) pops to, is live[index - 1]
 *   ptr-8   u32         not written (what was there stays)
 *   ptr-4   u32 check   stampHash(ptr, size ^ an index mix, key): a pointer
 *                       whose header does not match is not a block of this stack
 *                       (the live table decides liveness; the check tells a
 *                       block this stack freed from a foreign pointer)
 *
 * Block starts are 8-aligned (16 B header + 8-aligned top), so any align <= 8
 * costs no padding. A larger align leaves a gap (a multiple of 8) between the
 * old top and the header; the gap starts with a padding record
 * [PAD_WORD, gap bytes] so check() can walk every chunk block by block.
 *
 *   chunk                         top                               end
 *   | hdr |[h|block]...[pad][h|block]|  free for bumping ...        |
 *
 * Every chunk on the chain records its depth (owner word) and the chunk
 * before it (prev word): a pop whose previous block lies before the current
 * chunk steps back through the prev links (a step per chunk given back), and
 * a mark records its chunk.
 */
const BLOCK_ALIGN = 8;

// What a pointer turned out to be (besides LIVE).
const NOT_BLOCK = 1;
const FREED = 2;

declare const scratchMarkBrand: unique symbol;
/**
 * A position in a {@link ScratchAllocator}'s stack, from `mark()`. A plain
 * number at run time (no allocation per mark); the brand keeps other numbers
 * from being passed by mistake.
 */
export type ScratchMark = number & { readonly [scratchMarkBrand]: "ScratchMark" };

/**
 * A scratch stack: bump allocation with marks. `mark()` remembers the top;
 * `release(mark)` frees everything allocated after it in O(1); `reset()`
 * frees everything. Memory comes in chunks from a backing allocator (any
 * {@link Allocator}); when a chunk is full the stack chains the next one
 * (a spare if it has one), so it never fails while the backing has memory. A
 * request larger than a standard chunk gets a dedicated chunk. `trim()`
 * returns spare chunks.
 *
 * Freeing: `deallocate` of the most recent block pops it (and the block
 * before it becomes the most recent, so freeing in reverse order reclaims
 * everything). Freeing any other block is a no-op: it stays allocated, and
 * counted live, until a `release` or `reset` drops it. Inside a mark, blocks
 * allocated before the mark cannot be popped either: they belong to the
 * enclosing scope.
 *
 * Checks: `deallocate`, `reallocate`, `allocatedSize` and `owns` recognise
 * this stack's live blocks in O(1) (a stamped header plus the live table);
 * a foreign or interior pointer throws InvalidPointerError, a block already
 * popped or released throws DoubleFreeError / InvalidPointerError. A pointer
 * into memory that was released and handed out again cannot be told from
 * the new block there.
 *
 * All state (chain, marks, live table, counters) is in linear memory, under
 * the control block at {@link controlPtr}:
 * `ScratchAllocator.attach(space, controlPtr, { backing })` is a second
 * handle on the same stack. A scratch stack belongs to one thread at a time
 * (nothing is atomic); give each worker its own.
 */
export class ScratchAllocator extends TempHandle implements Checkable, StorageReporting {
  /**
   * A new scratch stack leasing chunks from `backing` — or, given an
   * {@link Attachment} (see {@link ScratchAllocator.attach}), a second handle
   * on the stack whose control block that is. One path: what is read back
   * from the control block is checked the same way for both.
   */
  constructor(backing: Allocator, options?: ScratchAllocatorOptions);
  constructor(attachment: Attachment, options: TempAttachOptions);
  constructor(source: Allocator | Attachment, options: ScratchAllocatorOptions | TempAttachOptions = {}) {
    super(scratchSource(source, options), SCRATCH_LAYOUT, -1);
    if (source instanceof Attachment) {
      this.verifyChainWords(SCRATCH_LAYOUT, SCRATCH_CONTROL_BYTES);
      verifyScratchAttach(this, source.bytes, source.who);
    }
    this.start();
  }

  /**
   * A second handle on the scratch stack whose control block is at
   * `controlPtr` (`scratch.controlPtr` of the creating side), leasing chunks
   * through `options.backing`. A wrong pointer, another structure or a
   * damaged block is a CorruptionError naming what was found; damage to the
   * chain or the tables is found by the first check().
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: TempAttachOptions): ScratchAllocator {
    return new ScratchAllocator(Attachment.open(space, controlPtr, SCRATCH_LAYOUT, "ScratchAllocator.attach", [SCRATCH_CONTROL_BYTES, SCRATCH_CONTROL_BYTES]), options);
  }

  /** Bytes of a scratch stack's control block (for the controlPtr option). */
  static controlBytes(): number {
    return SCRATCH_CONTROL_BYTES;
  }

  protected get blockHeaderBytes(): number {
    return BLOCK_HEADER;
  }

  // ---------------------------------------------------------------- Allocator

  /** Bumps a block off the top of the stack: O(1); chains a chunk when the current one is full. */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    validateAllocation(this.whoAllocate, size, align);
    const a = align > BLOCK_ALIGN ? align : BLOCK_ALIGN;
    const u32 = this.u32;
    const w = this.w;
    const top = u32[w + W_TOP]!;
    const ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    const index = u32[w + W_LIVE_COUNT]!;
    // Written as !(<=) so the dead views of an ended handle (undefined) fall to the slow path.
    if (!(ptr + size <= u32[w + W_END]!) || index >= u32[w + W_LIVE_CAP]!) return this.#allocateSlow(size, a, align);
    this.#place(u32, w, top, ptr, size, index);
    return ptr;
  }

  /**
   * Pops the most recent block; any other live block is a no-op (it is freed
   * by the next `release`/`reset` that covers it). 0 is a no-op. Throws
   * InvalidPointerError for a pointer that is not a block of this stack and
   * DoubleFreeError for one already popped or released.
   */
  deallocate(ptr: Ptr): void {
    const u32 = this.u32;
    const w = this.w;
    if (ptr === u32[w + W_TOP_PTR]) {
      if (ptr !== u32[w + W_FLOOR_PTR]) popTop(this);
      return;
    }
    if (ptr === 0) return;
    validatePointerShape(this.whoDeallocate, ptr);
    const code = this.classify(ptr);
    if (code !== LIVE) throw this.pointerError(this.whoDeallocate, ptr, code, true);
  }

  // -------------------------------------------------------------------- marks

  /** Remembers the current top. O(1), allocation-free: the mark is a number (scratch-layout.ts has the bit budget). */
  mark(): ScratchMark {
    this.assertAlive("mark");
    return takeMark(this) as ScratchMark;
  }

  /**
   * Frees every block allocated after `mark` and drops the marks taken after
   * it, in O(1); chunks chained since go to the spare list. Throws
   * InvalidArgumentError for a mark that is not live here: released already,
   * dropped by releasing an earlier mark or by reset(), or another stack's.
   */
  release(mark: ScratchMark): void {
    const m = mark as number;
    if (typeof m !== "number" || !Number.isSafeInteger(m) || m <= 0) {
      throw new InvalidArgumentError(`${this.name}.release: ${describe(mark)} is not a mark (marks are the positive integers mark() returns).`);
    }
    this.assertAlive("release");
    releaseMark(this, m);
  }

  /** Runs `body` between a mark and its release (also when it throws); returns its result. */
  withMark<T>(body: () => T): T {
    if (typeof body !== "function") throw new InvalidArgumentError(`${this.name}.withMark: body must be a function, received ${describe(body)}.`);
    const mark = this.mark();
    try {
      return body();
    } finally {
      this.release(mark);
    }
  }

  /** Frees every block and drops every mark in O(1); keeps the first chunk, the rest become spares. */
  reset(): void {
    this.assertAlive("reset");
    const u32 = this.u32;
    const w = this.w;
    countFreed(u32, this.f64, w, this.d, u32[w + W_LIVE_COUNT]!, u32[w + W_LIVE_BYTES]!);
    if (u32[w + W_FIRST] !== 0) this.chain.expectChunk(u32[w + W_FIRST]!, "the first chunk");
    this.chain.recycle(0);
    u32[w + W_DEPTH] = 0;
    u32[w + W_FLOOR_PTR] = 0;
    u32[w + W_MARK_COUNT] = 0;
  }

  /** Live marks (nesting depth). */
  get markDepth(): number {
    this.assertAlive("markDepth");
    return this.u32[this.w + W_MARK_COUNT]!;
  }

  /**
   * Throws LeakError when a mark is still held or a block is still allocated
   * (the report lists the blocks, oldest first); changes nothing. Scratch
   * memory is function-scoped: at teardown, and wherever no mark should be
   * open (between frames, `MemoryGlobals.check()`), anything left is a
   * `mark()` without its `release()`, or blocks never popped or reset.
   * O(live blocks) when it throws, O(1) otherwise.
   */
  assertReleased(): void {
    this.assertAlive("assertReleased");
    const u32 = this.u32;
    const w = this.w;
    const count = u32[w + W_LIVE_COUNT]!;
    const marks = u32[w + W_MARK_COUNT]!;
    if (marks === 0 && count === 0) return;
    const base = u32[w + W_LIVE_BASE]!;
    throw scratchLeak(this.name, marks, u32.subarray(base, base + count), u32, BLOCK_HEADER);
  }

  /**
   * Returns every spare chunk to the backing, and when the stack is empty (no
   * block live, no mark held) its chunks and its tables too; returns the
   * bytes given back. Chunks that hold live blocks or a mark's position stay.
   */
  trim(): number {
    if (!this.alive) return 0;
    let freed = this.chain.trimSpares();
    const u32 = this.u32;
    const w = this.w;
    if (u32[w + W_MARK_COUNT] === 0 && u32[w + W_LIVE_COUNT] === 0) {
      if (u32[w + W_FIRST] !== 0) freed += this.chain.freeList(u32[w + W_FIRST]!, u32[w + W_CHUNK]!);
      this.chain.clear();
      this.u32[w + W_DEPTH] = this.u32[w + W_FLOOR_PTR] = 0;
      freed += freeTables(this);
    }
    return freed;
  }

  /**
   * The backing's reclaim hook (registered when the backing takes hooks, as
   * a page allocator does): the same as {@link trim}. Runs before an
   * allocation anywhere in the memory fails.
   */
  reclaim(): number {
    return this.trim();
  }

  /** Returns every chunk, the tables and the control block (when leased) to the backing, and ends every handle. Idempotent. */
  destroy(): void {
    if (!this.alive) return;
    try {
      const w = this.w;
      if (this.u32[w + W_FIRST] !== 0) this.chain.freeList(this.u32[w + W_FIRST]!, this.u32[w + W_CHUNK]!);
      this.chain.trimSpares();
      freeTables(this);
    } finally {
      this.retire();
    }
  }

  /**
   * Walks every chunk of the chain block by block, the marks, the live table
   * and the spare list; throws CorruptionError at the first broken invariant:
   * a header whose check, depth or index is wrong, a padding record out of
   * place, a chain link or chunk depth that disagrees, a chunk the backing
   * did not hand out or that overlaps another, counters that disagree with
   * the blocks, a mark that does not match the blocks it was taken above, or
   * chunk bytes that do not add up to what the control block counts.
   * O(blocks + marks + chunks log chunks); every walk is bounded.
   */
  check(): void {
    this.assertAlive("check");
    checkScratch(this);
  }

  // ---------------------------------------------------------------- internals

  protected override isResizableTop(ptr: number): boolean {
    // The innermost mark's block belongs to the scope outside the mark: it is not resized in place.
    return ptr === this.u32[this.w + W_TOP_PTR] && ptr !== this.u32[this.w + W_FLOOR_PTR];
  }

  protected override resizeTop(ptr: number, size: number, newSize: number): void {
    const u32 = this.u32;
    const h = (ptr - BLOCK_HEADER) >>> 2;
    u32[h] = newSize;
    u32[h + 3] = blockCheck(ptr, newSize, u32[h + 1]!, this.key);
    u32[this.w + W_TOP] = ((ptr + newSize + 7) & -8) >>> 0;
    resizeLive(u32, this.w, newSize - size);
  }

  protected override movedFrom(): void {
    // The old block stays until a release or reset covers it.
  }

  #place(u32: Uint32Array, w: number, top: number, ptr: number, size: number, index: number): void {
    const hdr = ptr - BLOCK_HEADER;
    if (hdr !== top) {
      u32[top >>> 2] = PAD_WORD;
      u32[(top >>> 2) + 1] = hdr - top;
    }
    u32[u32[w + W_LIVE_BASE]! + index] = ptr;
    const h = hdr >>> 2;
    u32[h] = size;
    u32[h + 1] = index;
    u32[h + 3] = blockCheck(ptr, size, index, this.key);
    u32[w + W_TOP] = ((ptr + size + 7) & -8) >>> 0;
    u32[w + W_TOP_PTR] = ptr;
    u32[w + W_LIVE_COUNT] = index + 1;
    u32[w + W_LIVE_BYTES] = u32[w + W_LIVE_BYTES]! + size;
  }

  #allocateSlow(size: number, a: number, align: number): Ptr {
    this.assertAlive("allocate");
    const w = this.w;
    if (this.u32[w + W_LIVE_COUNT]! >= this.u32[w + W_LIVE_CAP]!) growTables(this, false);
    let top = this.u32[w + W_TOP]!;
    let ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    if (!(ptr + size <= this.u32[w + W_END]!)) {
      const chunk = this.chain.lease(CHUNK_HEADER + BLOCK_HEADER + (a - BLOCK_ALIGN) + size, this.whoAllocate, size, align);
      // Nothing below can throw: the stack only changes once the chunk is in hand. (The lease may have grown the space.)
      const depth = this.u32[w + W_CHUNK] === 0 ? 0 : this.u32[w + W_DEPTH]! + 1;
      this.chain.link(chunk, depth);
      this.u32[w + W_DEPTH] = depth;
      top = chunk + CHUNK_HEADER;
      ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    }
    const u32 = this.u32;
    this.#place(u32, w, top, ptr, size, u32[w + W_LIVE_COUNT]!);
    return ptr;
  }

  /** LIVE, NOT_BLOCK or FREED for a well-formed pointer; sets foundSize. */
  protected override classify(ptr: number): number {
    if ((ptr & 7) !== 0 || ptr < CHUNK_HEADER + BLOCK_HEADER || ptr > this.u8.length) return NOT_BLOCK;
    const u32 = this.u32;
    const h = (ptr - BLOCK_HEADER) >>> 2;
    const size = u32[h]!;
    const index = u32[h + 1]!;
    if (u32[h + 3] !== blockCheck(ptr, size, index, this.key)) return NOT_BLOCK;
    this.foundSize = size;
    // A header this stack wrote for a block at ptr. It may be a released block's, left behind (release is O(1))
    // and still intact under a later block's padding or payload: the live table decides.
    const w = this.w;
    return index < u32[w + W_LIVE_COUNT]! && u32[u32[w + W_LIVE_BASE]! + index] === ptr ? LIVE : FREED;
  }

  protected override pointerError(who: string, ptr: number, code: number, freeing: boolean): Error {
    if (!this.alive) return this.endedError(who.slice(this.name.length + 1));
    if (code === FREED) {
      const what = `${hex(ptr)} (${this.foundSize} B) was already freed: popped by deallocate, or dropped by release(mark) / reset()`;
      return freeing ? new DoubleFreeError(`${who}: ${what}.`) : new InvalidPointerError(`${who}: ${what}; it is not a live block.`);
    }
    return invalidPointer(who, ptr, `not the start of a live block in any of its chunks: a foreign, interior or stray pointer`);
  }
}

/** Validates the options and writes a new control block, or checks the attach options. */
function scratchSource(source: Allocator | Attachment, options: ScratchAllocatorOptions | TempAttachOptions): TempSource {
  if (source instanceof Attachment) {
    const o = options as TempAttachOptions;
    return attachTempSource(source, SCRATCH_LAYOUT, o.backing, resolveName("ScratchAllocator.attach", o.name, "scratch"));
  }
  const o = options as ScratchAllocatorOptions;
  const name = resolveName("ScratchAllocator", o.name, "scratch");
  const who = `ScratchAllocator "${name}"`;
  const backing = expectBacking(who, source);
  const chunkBytes = resolveChunkOption(who, o);
  const controlPtr = resolveControlPtr(who, o.controlPtr);
  return createTempControl(backing, name, SCRATCH_LAYOUT, SCRATCH_CONTROL_BYTES, controlPtr, { chunkBytes, config: 0, factor: 0 });
}
