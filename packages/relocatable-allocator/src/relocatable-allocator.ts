import {
  Attachment,
  DEFAULT_ALIGN,
  InvalidArgumentError,
  OutOfMemoryError,
  SpaceHandle,
  SpaceViews,
  describe,
  formatSize,
  hex,
  retireControl,
  validateAllocation,
  validatePointerShape,
  validateSize,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type Checkable,
  type Ptr,
  type StorageReport,
  type StorageReporting,
  type ViewSet,
} from "@memkit/core";
import { HANDLE_BITS, type BlockHolder, type Handle, type MovableBlocks } from "@memkit/containers";
import { freeBlock, takeBlock } from "./chunks.js";
import { checkRelocatable, pointerError, storageReport } from "./check.js";
import { SCAN_COST, compactStep, type CompactResult, type Compacting } from "./compact.js";
import {
  ANCHORED,
  BLOCK_ALIGN,
  CONTROL_BYTES,
  D_ALLOCS,
  D_COMPACTS,
  D_FREES,
  D_LIVE_BYTES,
  D_MOVED_BYTES,
  D_MOVES,
  D_PEAK,
  D_RESERVED,
  HEADER,
  MAX_PINS,
  PIN_MASK,
  RELOCATABLE_LAYOUT,
  SLOT_WORDS,
  S_PINS,
  S_PTR,
  S_STATE,
  W_CHUNKS,
  W_CHUNK_COUNT,
  W_CURSOR,
  W_CURSOR_CHUNK,
  W_LIVE_COUNT,
  W_PINNED,
  W_SLOTS,
  W_SLOT_CAP,
  blockBytesFor,
} from "./layout.js";
import { relocatableSource, type RelocatableAllocatorOptions, type RelocatableAttachOptions } from "./options.js";
import { ensureSlot, freeSlot, handleError, takeSlot, type SlotTable } from "./slots.js";
import { verifyAttach } from "./attach.js";
import type { CompactOptions, RelocationStats } from "./api.js";
import { MAX_BLOCK, resizeBlock } from "./resize.js";
import { markHoles, type PageUseMap } from "./map.js";

/**
 * Blocks behind generation-checked handles that `compact()` may move to close
 * the holes between them. A block is addressed by a handle (`create(size)`),
 * resolved to its current address on access (`resolve(handle)`, O(1)); a
 * block being read through a pointer is pinned for that span (`pin` /
 * `unpin`) and never moves while pinned. `compact({ maxBytes })` slides live
 * blocks down over the holes before them, a budget at a time, so a game calls
 * it every frame; `compact()` does a whole pass (a load screen).
 *
 * It is also an {@link Allocator} (`allocate` returns a pointer): such a block
 * stays where it is unless a holder follows it (`followBlock`), which is what
 * containers do, so `new DynamicArray(relocatable, "u32")` lives in
 * relocatable memory and its block moves under it.
 *
 * Memory comes in chunks from a backing allocator (a trace scope counts it);
 * all state is in the address space (layout.ts), so
 * `RelocatableAllocator.attach(space, controlPtr, { backing })` is a second
 * handle on it and a save of the memory keeps it. One thread.
 */
export class RelocatableAllocator extends SpaceHandle implements Allocator, Checkable, StorageReporting, Compacting, SlotTable, MovableBlocks {
  readonly name: string;
  /** Where chunks and tables come from. */
  readonly backing: Allocator;
  /** Bytes of a standard chunk. */
  readonly chunkBytes: number;
  /** Bits of a handle holding the slot index. */
  readonly indexBits: number;
  /** @internal 2^indexBits. */
  readonly maxRecords: number;
  /** @internal */
  readonly maxGeneration: number;
  /** @internal u32 index of the control block. */
  readonly w: number;
  /** @internal f64 index of the control block. */
  readonly d: number;
  /** @internal */
  u32: Uint32Array = SpaceViews.dead.u32;
  /** @internal */
  i32: Int32Array = SpaceViews.dead.i32;
  /** @internal */
  f64: Float64Array = SpaceViews.dead.f64;
  private readonly indexMask: number;
  /** Containers following pointer blocks, by slot (this handle's only: another handle's followed blocks stay put). */
  private readonly holders: (BlockHolder | undefined)[] = [];
  private readonly result: CompactResult = { movedBytes: 0, movedBlocks: 0, scannedBlocks: 0, skippedBlocks: 0, passDone: false };
  private readonly who: string;

  /**
   * A new relocatable allocator leasing from `backing` — or, given an
   * {@link Attachment} (see {@link RelocatableAllocator.attach}), a second
   * handle on the one whose control block that is.
   */
  constructor(backing: Allocator, options?: RelocatableAllocatorOptions);
  constructor(attachment: Attachment, options: RelocatableAttachOptions);
  constructor(source: Allocator | Attachment, options?: RelocatableAllocatorOptions | RelocatableAttachOptions) {
    const src = relocatableSource(source, options);
    super(src.space, src.controlPtr);
    this.name = src.name;
    this.who = `RelocatableAllocator "${src.name}"`;
    this.backing = src.backing;
    this.chunkBytes = src.chunkBytes;
    this.indexBits = src.indexBits;
    this.maxRecords = 2 ** src.indexBits;
    this.indexMask = this.maxRecords - 1;
    this.maxGeneration = 2 ** (HANDLE_BITS - src.indexBits) - 1;
    this.w = src.controlPtr >>> 2;
    this.d = src.controlPtr >>> 3;
    this.followViews();
    if (source instanceof Attachment) verifyAttach(this, source.who);
  }

  /**
   * A second handle on the relocatable allocator whose control block is at
   * `controlPtr` (in the same memory, or a restored save of it), leasing
   * through `options.backing`. A wrong pointer or a damaged block is a
   * CorruptionError. Containers re-follow their blocks when restored through it.
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: RelocatableAttachOptions): RelocatableAllocator {
    return new RelocatableAllocator(Attachment.open(space, controlPtr, RELOCATABLE_LAYOUT, "RelocatableAllocator.attach", [CONTROL_BYTES, CONTROL_BYTES]), options);
  }

  /** @internal */
  refreshViews(views: ViewSet): void {
    this.u32 = views.u32;
    this.i32 = views.i32;
    this.f64 = views.f64;
  }

  // ------------------------------------------------------------------ handles

  /** A block of at least `size` bytes; returns its handle (a 30-bit number, never 0). O(1) unless a chunk is leased. */
  create(size: number): Handle {
    return this.newBlock(size, 0, "create");
  }

  /** Frees the block `handle` addresses; the handle (and every copy of it) goes stale. A pinned block is refused. */
  free(handle: Handle): void {
    const s = this.slotOf(handle, "free");
    const pins = this.u32[s + S_PINS]! & PIN_MASK;
    if (pins !== 0) {
      throw new InvalidArgumentError(`${this.who}.free: the block of handle ${hex(handle)} is pinned ${pins} time(s); unpin it before freeing it.`);
    }
    this.release(s);
  }

  /**
   * The block's current address: valid until the next `compact()` (or
   * `resize`) unless the block is pinned. O(1), no allocation. A freed
   * block's handle throws StaleHandleError; anything else that is not a
   * handle throws InvalidPointerError.
   */
  resolve(handle: Handle): Ptr {
    const u32 = this.u32;
    // A non-number gets an index past every table, failing the range test before `>` could throw on a Symbol.
    const index = typeof handle === "number" ? handle & this.indexMask : this.maxRecords;
    const s = (u32[this.w + W_SLOTS]! >>> 2) + index * SLOT_WORDS;
    if (index < u32[this.w + W_SLOT_CAP]! && handle > 0 && this.i32[s + S_STATE] === handle) return u32[s + S_PTR]!;
    this.assertAlive("resolve");
    throw handleError(this, `${this.who}.resolve`, handle);
  }

  /** True when `handle` addresses a live block. Never throws. */
  isAlive(handle: Handle): boolean {
    const u32 = this.u32;
    // A non-number gets an index past every table, failing the range test before `>` could throw on a Symbol.
    const index = typeof handle === "number" ? handle & this.indexMask : this.maxRecords;
    const s = (u32[this.w + W_SLOTS]! >>> 2) + index * SLOT_WORDS;
    return index < u32[this.w + W_SLOT_CAP]! && handle > 0 && this.i32[s + S_STATE] === handle;
  }

  /** Usable bytes of the block (>= the size asked for). */
  sizeOf(handle: Handle): number {
    const s = this.slotOf(handle, "sizeOf");
    return (this.u32[(this.u32[s + S_PTR]! - HEADER) >>> 2]! & ~7) - HEADER;
  }

  /**
   * Pins the block: it does not move until as many `unpin` calls. Returns its
   * address, valid while pinned. Counted (up to 65,535 per block).
   */
  pin(handle: Handle): Ptr {
    const s = this.slotOf(handle, "pin");
    const u32 = this.u32;
    const word = u32[s + S_PINS]!;
    if ((word & PIN_MASK) === MAX_PINS) throw new InvalidArgumentError(`${this.who}.pin: the block of handle ${hex(handle)} is already pinned ${MAX_PINS} times.`);
    if ((word & PIN_MASK) === 0) u32[this.w + W_PINNED]!++;
    u32[s + S_PINS] = word + 1;
    return u32[s + S_PTR]!;
  }

  /** Drops one pin; InvalidArgumentError when the block is not pinned. */
  unpin(handle: Handle): void {
    const s = this.slotOf(handle, "unpin");
    const u32 = this.u32;
    const word = u32[s + S_PINS]!;
    if ((word & PIN_MASK) === 0) throw new InvalidArgumentError(`${this.who}.unpin: the block of handle ${hex(handle)} is not pinned (unpin without a matching pin).`);
    if ((word & PIN_MASK) === 1) u32[this.w + W_PINNED]!--;
    u32[s + S_PINS] = word - 1;
  }

  /** How many times the block is pinned now. */
  pinCount(handle: Handle): number {
    return this.u32[this.slotOf(handle, "pinCount") + S_PINS]! & PIN_MASK;
  }

  /**
   * Resizes the block to `size` bytes, keeping its bytes up to the smaller
   * size; the handle stays valid. In place when the block shrinks or the free
   * space after it is enough; otherwise it moves (refused for a pinned block).
   * OutOfMemoryError leaves the block as it was.
   */
  resize(handle: Handle, size: number): void {
    const s = this.slotOf(handle, "resize");
    resizeBlock(this, s, size, `${this.who}.resize`);
  }

  /** The handle of the live block whose payload starts at `ptr` (a container's `ptr`, to pin it). InvalidPointerError otherwise. */
  handleOf(ptr: Ptr): Handle {
    const s = this.slotAt(ptr, "handleOf");
    return this.i32[s + S_STATE]!;
  }

  // --------------------------------------------------------------- compaction

  /**
   * Moves live blocks down over the holes before them and returns what it
   * moved (one result object, reused by every call). With `maxBytes`, stops
   * before moving more than that (each header looked at counts 8 bytes), and
   * the next call carries on where this one stopped: call it every frame.
   * Without, one whole pass. Pinned blocks, pointer blocks nobody follows and
   * (with a budget) blocks larger than it stay put; the holes before them stay.
   */
  compact(options?: CompactOptions | number): CompactResult {
    this.assertAlive("compact");
    if (options !== undefined && typeof options !== "number" && (options === null || typeof options !== "object")) {
      throw new InvalidArgumentError(`${this.who}.compact: expected { maxBytes }, a number of bytes or nothing, received ${describe(options)}.`);
    }
    const budget = typeof options === "number" ? options : options?.maxBytes;
    if (budget === undefined) {
      this.u32[this.w + W_CURSOR_CHUNK] = 0;
      this.u32[this.w + W_CURSOR] = 0;
      compactStep(this, Infinity, this.result);
      return this.result;
    }
    if (typeof budget !== "number" || !(budget >= SCAN_COST) || budget > Number.MAX_SAFE_INTEGER) {
      throw new InvalidArgumentError(`${this.who}.compact: maxBytes must be a number of bytes from ${SCAN_COST} up, received ${describe(budget)}.`);
    }
    compactStep(this, budget, this.result);
    return this.result;
  }

  /** @internal */
  movable(slot: number): boolean {
    const word = this.u32[(this.u32[this.w + W_SLOTS]! >>> 2) + slot * SLOT_WORDS + S_PINS]!;
    return (word & PIN_MASK) === 0 && ((word & ANCHORED) === 0 || this.holders[slot] !== undefined);
  }

  /** @internal */
  moved(slot: number, ptr: number): void {
    const holder = this.holders[slot];
    if (holder !== undefined) holder.blockRelocated(ptr);
  }

  // ---------------------------------------------------------- pointer blocks

  /** A block that stays where it is unless a holder follows it (`followBlock`). `align` up to 8. */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    validateAllocation(`${this.who}.allocate`, size, align);
    if (align > BLOCK_ALIGN) this.throwAlign(size, align);
    const handle = this.newBlock(size, ANCHORED, "allocate");
    return this.u32[(this.u32[this.w + W_SLOTS]! >>> 2) + (handle & this.indexMask) * SLOT_WORDS + S_PTR]!;
  }

  /** 0 is a no-op. InvalidPointerError / DoubleFreeError for anything but a live block start. */
  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    const s = this.slotAt(ptr, "deallocate");
    const pins = this.u32[s + S_PINS]! & PIN_MASK;
    if (pins !== 0) throw new InvalidArgumentError(`${this.who}.deallocate: the block ${hex(ptr)} is pinned ${pins} time(s); unpin it before freeing it.`);
    this.release(s);
  }

  /** Contents kept up to min(old, new); may move the block (not a pinned one). ptr 0 allocates. */
  reallocate(ptr: Ptr, newSize: number, align: number = DEFAULT_ALIGN): Ptr {
    if (ptr === 0) return this.allocate(newSize, align);
    validateAllocation(`${this.who}.reallocate`, newSize, align);
    if (align > BLOCK_ALIGN) this.throwAlign(newSize, align);
    const s = this.slotAt(ptr, "reallocate");
    resizeBlock(this, s, newSize, `${this.who}.reallocate`);
    return this.u32[s + S_PTR]!;
  }

  allocatedSize(ptr: Ptr): number {
    this.slotAt(ptr, "allocatedSize");
    return (this.u32[(ptr - HEADER) >>> 2]! & ~7) - HEADER;
  }

  owns(ptr: Ptr): boolean {
    return this.liveSlotAt(ptr) >= 0;
  }

  /** Lets the live block at `ptr` move: `holder.blockRelocated(newPtr)` after each move. A pointer that is not a live block is ignored (check() reports it). */
  followBlock(ptr: Ptr, holder: BlockHolder): void {
    const s = this.liveSlotAt(ptr);
    if (s >= 0) this.holders[(s - (this.u32[this.w + W_SLOTS]! >>> 2)) / SLOT_WORDS] = holder;
  }

  /** Stops `holder` following the block at `ptr`: it stays where it is again. Anything else is ignored. */
  unfollowBlock(ptr: Ptr, holder: BlockHolder): void {
    const s = this.liveSlotAt(ptr);
    if (s < 0) return;
    const index = (s - (this.u32[this.w + W_SLOTS]! >>> 2)) / SLOT_WORDS;
    if (this.holders[index] === holder) this.holders[index] = undefined;
  }

  // ----------------------------------------------------------------- reports

  /** Counters; liveBytes counts usable sizes (8-byte multiples), reservedBytes chunks, tables and the control block. */
  stats(): AllocatorStats {
    this.assertAlive("stats");
    const f = this.f64;
    return {
      liveBytes: f[this.d + D_LIVE_BYTES]!,
      liveCount: this.u32[this.w + W_LIVE_COUNT]!,
      peakLiveBytes: f[this.d + D_PEAK]!,
      allocCount: f[this.d + D_ALLOCS]!,
      freeCount: f[this.d + D_FREES]!,
      reservedBytes: f[this.d + D_RESERVED]! + CONTROL_BYTES,
    };
  }

  /** What compaction did since creation. */
  relocationStats(): RelocationStats {
    this.assertAlive("relocationStats");
    const f = this.f64;
    return {
      movedBytes: f[this.d + D_MOVED_BYTES]!,
      moves: f[this.d + D_MOVES]!,
      compactCalls: f[this.d + D_COMPACTS]!,
      pinnedBlocks: this.u32[this.w + W_PINNED]!,
      chunks: this.u32[this.w + W_CHUNK_COUNT]!,
    };
  }

  /** Free memory: total, largest hole, histogram, fragmentation (walks every chunk). */
  storageReport(): StorageReport {
    this.assertAlive("storageReport");
    return storageReport(this);
  }

  /**
   * Marks this allocator's holes as free bytes in a memory map (a report's
   * `memoryMap` from `memory.snapshot()`), which otherwise counts its chunks
   * as used wall to wall. Returns the bytes marked. See map.ts.
   */
  markHoles(map: PageUseMap): number {
    this.assertAlive("markHoles");
    return markHoles(this, map);
  }

  /** Walks every chunk, bin and slot; CorruptionError at the first broken invariant. */
  check(): void {
    this.assertAlive("check");
    checkRelocatable(this);
  }

  // --------------------------------------------------------------- lifecycle

  /** Ends this handle only; the allocator and its blocks live on. */
  detach(): void {
    this.end("detached");
  }

  /** Returns every chunk, the tables and the control block to the backing; every handle and block is gone. Idempotent. */
  destroy(): void {
    if (!this.alive) return;
    const u32 = this.u32;
    const w = this.w;
    const t = u32[w + W_CHUNKS]! >>> 2;
    const chunks: number[] = [];
    for (let i = 0; i < u32[w + W_CHUNK_COUNT]!; i++) chunks.push(u32[t + i * 2]!);
    const tables = [u32[w + W_CHUNKS]!, u32[w + W_SLOTS]!];
    retireControl(this.space, this.controlPtr);
    this.end("destroyed");
    for (const c of chunks) this.backing.deallocate(c);
    for (const p of tables) if (p !== 0) this.backing.deallocate(p);
    this.backing.deallocate(this.controlPtr);
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  // ------------------------------------------------------------------ inside

  private newBlock(size: number, flags: number, op: string): Handle {
    validateSize(`${this.who}.${op}`, size);
    if (size > MAX_BLOCK) {
      this.assertAlive(op);
      throw new OutOfMemoryError(`${this.who}.${op}: ${formatSize(size)} is more than the largest block (${formatSize(MAX_BLOCK)}).`);
    }
    this.assertAlive(op);
    const bytes = blockBytesFor(size);
    ensureSlot(this);
    const b = takeBlock(this, bytes, 0);
    const handle = takeSlot(this, b + HEADER, flags);
    const u32 = this.u32;
    u32[(b + 4) >>> 2] = handle & this.indexMask;
    u32[this.w + W_LIVE_COUNT]!++;
    const f = this.f64;
    const live = (f[this.d + D_LIVE_BYTES]! += (u32[b >>> 2]! & ~7) - HEADER);
    if (live > f[this.d + D_PEAK]!) f[this.d + D_PEAK] = live;
    f[this.d + D_ALLOCS]!++;
    return handle;
  }

  /** Frees the block of slot word index `s`. */
  private release(s: number): void {
    const u32 = this.u32;
    const ptr = u32[s + S_PTR]!;
    const index = (s - (u32[this.w + W_SLOTS]! >>> 2)) / SLOT_WORDS;
    const bytes = u32[(ptr - HEADER) >>> 2]! & ~7;
    freeBlock(this, ptr - HEADER);
    freeSlot(this, index);
    // Followers are registered on growth paths only, so the list stays short and is never grown here.
    if (index < this.holders.length) this.holders[index] = undefined;
    const f = this.f64;
    f[this.d + D_LIVE_BYTES]! -= bytes - HEADER;
    f[this.d + D_FREES]!++;
    this.u32[this.w + W_LIVE_COUNT]!--;
  }

  /** Slot word index of a live handle, else the right error. */
  private slotOf(handle: Handle, op: string): number {
    const u32 = this.u32;
    // A non-number gets an index past every table, failing the range test before `>` could throw on a Symbol.
    const index = typeof handle === "number" ? handle & this.indexMask : this.maxRecords;
    const s = (u32[this.w + W_SLOTS]! >>> 2) + index * SLOT_WORDS;
    if (index < u32[this.w + W_SLOT_CAP]! && handle > 0 && this.i32[s + S_STATE] === handle) return s;
    this.assertAlive(op);
    throw handleError(this, `${this.who}.${op}`, handle);
  }

  /** Slot word index of the live block whose payload starts at `ptr`, or -1. */
  private liveSlotAt(ptr: Ptr): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr % BLOCK_ALIGN !== 0 || ptr < 16 || ptr >= this.u32.length * 4) return -1;
    const u32 = this.u32;
    const index = u32[(ptr - 4) >>> 2]!;
    if (index >= u32[this.w + W_SLOT_CAP]!) return -1;
    const s = (u32[this.w + W_SLOTS]! >>> 2) + index * SLOT_WORDS;
    return this.i32[s + S_STATE]! > 0 && u32[s + S_PTR] === ptr ? s : -1;
  }

  private slotAt(ptr: Ptr, op: string): number {
    const s = this.liveSlotAt(ptr);
    if (s >= 0) return s;
    this.assertAlive(op);
    validatePointerShape(`${this.who}.${op}`, ptr);
    throw pointerError(this, `${this.who}.${op}`, ptr);
  }

  private throwAlign(size: number, align: number): never {
    throw new InvalidArgumentError(
      `${this.who}: align ${align} (size ${size}) is more than ${BLOCK_ALIGN}: blocks move by multiples of ${BLOCK_ALIGN} bytes, so larger alignments cannot be kept. Use a plain allocator for this block.`,
    );
  }
}
