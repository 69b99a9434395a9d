import {
  CorruptionError,
  DEFAULT_ALIGN,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidPointerError,
  OutOfMemoryError,
  describe,
  destroyedError,
  formatCount,
  formatSize,
  hasOriginTracking,
  hex,
  invalidPointer,
  markEntryPoints,
  validateAllocation,
  validatePointerShape,
  type AddressSpace,
  type Allocator,
  type AllocatorError,
  type AllocatorStats,
  type BlockOrigin,
  type Checkable,
  type DestroyedError,
  type OriginTracking,
  type Ptr,
} from "@memkit/core";
import { capturesStacks, isCheckable, type DebugWrapperOptions, type StackCapturing } from "./api.js";
import { BlockRegistry } from "./block-registry.js";
import { DEFAULT_FREE_HISTORY } from "./constants.js";
import { FreeHistory } from "./free-history.js";
import { blockLabel, byteHex, captureSite, signedOffset, stackLines } from "./messages.js";
import { intOption } from "./options.js";

// Slots of the counters array: a Float64Array, so updating them never boxes a number.
const LIVE_BYTES = 0;
const LIVE_COUNT = 1;
const PEAK_LIVE_BYTES = 2;
const ALLOC_COUNT = 3;
const FREE_COUNT = 4;
/** Slot of `reservedBytes`, which subclasses move as they take and give back backing blocks. */
export const RESERVED_BYTES = 5;

/** What a wrapper operation is called in messages. */
export type WrapperOp = "deallocate" | "reallocate" | "allocatedSize";

/**
 * The part every debug wrapper shares: argument checks, a registry of live
 * blocks (so ownership, double frees and `check()` walks need no help from
 * the backing), a history of recent frees, counters in sizes asked for,
 * origin forwarding, periodic checks and the space's grow listener.
 *
 * A subclass decides where a block goes inside what it leases from the
 * backing ({@link place}), what a free does ({@link release}) and what its
 * own check walks ({@link checkOwn}). Public methods create no JS objects on
 * the good path (unless free stacks are captured).
 */
export abstract class DebugWrapper implements Allocator, Checkable, OriginTracking, StackCapturing {
  /** Name used in messages, e.g. `canary(root/ai)`. */
  readonly name: string;
  /** The backing's address space. */
  readonly space: AddressSpace;
  /** The allocator every block is leased from. */
  readonly backing: Allocator;
  /** True when frees capture their call stack. */
  readonly capturesStacks: boolean;
  /** Own blocks are walked every this many operations (0 never). */
  readonly checkEvery: number;

  /** Byte view of the space, refreshed whenever it grows. */
  protected u8: Uint8Array;
  /** Live blocks. */
  protected readonly blocks: BlockRegistry = new BlockRegistry();
  /** Recently freed pointers. */
  protected readonly freed: FreeHistory;
  /** liveBytes, liveCount, peakLiveBytes, allocCount, freeCount, reservedBytes. */
  protected readonly counters: Float64Array = new Float64Array(6);

  readonly #tracking: OriginTracking | undefined;
  #originSource: OriginTracking | undefined;
  readonly #unsubscribe: () => void;
  #ops = 0;
  #destroyed = false;

  /**
   * @param who class name for option errors, e.g. `CanaryAllocator`
   * @param kind prefix of the default name, e.g. `canary`
   */
  protected constructor(who: string, kind: string, backing: Allocator, options: DebugWrapperOptions, defaultHistory = DEFAULT_FREE_HISTORY) {
    if (typeof backing !== "object" || backing === null || typeof (backing as Partial<Allocator>).allocate !== "function") {
      throw new InvalidArgumentError(`${who}: expected a backing Allocator, received ${describe(backing)}.`);
    }
    // Over a scope recording call stacks, the stacks start at the code that called this wrapper.
    markEntryPoints(new.target);
    this.backing = backing;
    this.space = backing.space;
    this.name = options.name ?? `${kind}(${backing.name})`;
    this.capturesStacks = options.captureStacks ?? capturesStacks(backing);
    this.checkEvery = intOption(who, "checkEvery", options.checkEvery, 0, 0, 2 ** 31 - 1);
    this.freed = new FreeHistory(intOption(who, "freeHistory", options.freeHistory, defaultHistory, 0, 1 << 20));
    this.#tracking = hasOriginTracking(backing) ? backing : undefined;
    this.u8 = this.space.u8;
    this.#unsubscribe = this.space.onGrow((space) => {
      this.u8 = space.u8;
    });
  }

  // ------------------------------------------------------------- subclass hooks

  /** Leases a block from the backing, prepares its bytes and records it in {@link blocks}; returns the caller's pointer. */
  protected abstract place(size: number, align: number): Ptr;

  /**
   * Gives the block at `index` up: verifies it, forgets it in {@link blocks},
   * returns it to the backing (or holds it back). When it finds corruption it
   * still finishes the release, then throws CorruptionError. `moving`: the
   * block is being replaced by `reallocate` (its bytes were already verified).
   */
  protected abstract release(index: number, moving: boolean): void;

  /** Walks this wrapper's own state (guards, quarantine) and throws CorruptionError at the first fault. */
  protected abstract checkOwn(): void;

  /** Runs before `reallocate` leases the new block; throws (changing nothing) when the old block is corrupt. */
  protected beforeMove(_index: number): void {}

  // ------------------------------------------------------------------ Allocator

  /** A block of `size` bytes aligned to `align`, prepared by this wrapper. */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    if (this.#destroyed) throw this.#destroyedError("allocate");
    validateAllocation(this.name, size, align);
    const ptr = this.place(size, align);
    this.freed.forget(ptr);
    const c = this.counters;
    c[ALLOC_COUNT]!++;
    c[LIVE_COUNT]!++;
    this.#addLive(size);
    this.#tick();
    return ptr;
  }

  /** Verifies and frees the block; throws CorruptionError (after freeing it) when its guards or pattern broke. */
  deallocate(ptr: Ptr): void {
    if (this.#destroyed) throw this.#destroyedError("deallocate");
    if (ptr === 0) return;
    const index = this.#find(ptr, "deallocate");
    const size = this.blocks.size[index]!;
    this.freed.record(ptr, size, this.capturesStacks ? captureSite() : undefined);
    const c = this.counters;
    c[FREE_COUNT]!++;
    c[LIVE_COUNT]!--;
    c[LIVE_BYTES] = c[LIVE_BYTES]! - size;
    this.release(index, false);
    this.#tick();
  }

  /**
   * Always moves: a new block is prepared, `min(old, new)` usable bytes are
   * copied and the old block is freed as by `deallocate` — so a stale pointer
   * to the old block hits freed (filled, quarantined) memory. A corrupt old
   * block throws CorruptionError and nothing changes.
   */
  reallocate(ptr: Ptr, newSize: number, align: number = DEFAULT_ALIGN): Ptr {
    if (this.#destroyed) throw this.#destroyedError("reallocate");
    validateAllocation(this.name, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    let index = this.#find(ptr, "reallocate");
    const oldSize = this.blocks.size[index]!;
    const oldUsable = this.blocks.usable[index]!;
    this.beforeMove(index);
    const next = this.place(newSize, align);
    const blocks = this.blocks;
    // Code the backing ran while placing the new block (a budget hook) may have freed the old
    // one; its address may even be the new block's. Give the new block back and say so.
    if (next === ptr || blocks.indexOf(ptr) < 0) {
      this.release(blocks.indexOf(next), false);
      throw new InvalidPointerError(
        `${this.name}.reallocate: block ${hex(ptr)} was freed while it was being resized (by code the backing ran, such as a budget hook); nothing was allocated.`,
      );
    }
    this.freed.forget(next);
    const keep = Math.min(oldUsable, blocks.usable[blocks.indexOf(next)]!);
    this.u8.copyWithin(next, ptr, ptr + keep);
    index = blocks.indexOf(ptr);
    this.freed.record(ptr, oldSize, this.capturesStacks ? captureSite() : undefined);
    this.release(index, true);
    this.#addLive(newSize - oldSize);
    this.#tick();
    return next;
  }

  /** Bytes the caller may use at `ptr` (see each wrapper: canary blocks report exactly the size asked). */
  allocatedSize(ptr: Ptr): number {
    if (this.#destroyed) throw this.#destroyedError("allocatedSize");
    return this.blocks.usable[this.#find(ptr, "allocatedSize")]!;
  }

  /** True when `ptr` is a live block of this wrapper (a quarantined block is not). False for anything that is not a pointer. */
  owns(ptr: Ptr): boolean {
    return typeof ptr === "number" && ptr >>> 0 === ptr && ptr !== 0 && this.blocks.indexOf(ptr) >= 0;
  }

  /** liveBytes counts sizes asked for; reservedBytes what this wrapper holds from its backing (guards, spans, quarantine). */
  stats(): AllocatorStats {
    const c = this.counters;
    return {
      liveBytes: c[LIVE_BYTES]!,
      liveCount: c[LIVE_COUNT]!,
      peakLiveBytes: c[PEAK_LIVE_BYTES]!,
      allocCount: c[ALLOC_COUNT]!,
      freeCount: c[FREE_COUNT]!,
      reservedBytes: c[RESERVED_BYTES]!,
    };
  }

  /** Starts a new high-water mark at the current liveBytes. */
  resetPeak(): void {
    this.counters[PEAK_LIVE_BYTES] = this.counters[LIVE_BYTES]!;
  }

  /** Checks this wrapper's own blocks, then the backing's `check()` when it has one: a whole stack checks top to bottom. */
  check(): void {
    if (this.#destroyed) throw this.#destroyedError("check");
    this.checkOwn();
    if (isCheckable(this.backing)) this.backing.check();
  }

  /** Scope and allocation stack of a live block, from the backing (size: the size asked of this wrapper). Cold path. */
  originOf(ptr: Ptr): BlockOrigin | undefined {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr === 0) return undefined;
    const index = this.blocks.indexOf(ptr);
    if (index < 0) return undefined;
    const origin = this.originAt(ptr, this.blocks.base[index]!);
    if (origin === undefined) return undefined;
    // An origin naming the user's pointer (a scope above) already has the user's size.
    if (origin.ptr !== undefined) return origin;
    return { scope: origin.scope, size: this.blocks.size[index]!, stack: origin.stack };
  }

  /**
   * Where to ask for a block's origin when the backing cannot answer:
   * typically the trace scope this wrapper sits *under*
   * (`new TraceAllocator(debugWrap(heap))`), whose `originOf` accepts the
   * pointers of its backing blocks, i.e. this wrapper's blocks. Set it once
   * the scope exists; `undefined` clears it.
   */
  setOriginSource(source: OriginTracking | undefined): void {
    this.#originSource = source;
  }

  /** Stops following the space's growth; later calls throw DestroyedError. Blocks still live stay with the backing. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#unsubscribe();
  }

  /** True once {@link destroy} ran. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  // ------------------------------------------------------------ for subclasses

  /**
   * Origin of the block handed out at `ptr` (backing block at `base`): from
   * the backing when it tracks origins, else from the origin source set by
   * {@link setOriginSource}. Call it while the block is still live below
   * (and, for an origin source above, while it is live there: before the
   * scope above forgets it). An origin source above that puts a header in
   * front of the block answers with `ptr`, the pointer the user holds.
   */
  protected originAt(ptr: Ptr, base: Ptr): BlockOrigin | undefined {
    return this.#tracking?.originOf(base) ?? this.#originSource?.originOf(ptr);
  }

  /** The error for a pointer that is not a live block: a double free, a use after free, or a pointer never handed out. */
  protected missing(ptr: Ptr, op: WrapperOp): AllocatorError {
    const who = `${this.name}.${op}`;
    const slot = this.freed.find(ptr);
    if (slot < 0) return invalidPointer(who, ptr, "no live block of this allocator starts there");
    const size = this.freed.sizeAt(slot);
    const stack = this.freed.stackAt(slot);
    const where = stack === undefined ? `\n  Set captureStacks: true on ${this.name} to see where it was first freed.` : stackLines("first freed", stack);
    if (op === "deallocate") return new DoubleFreeError(`${who}: double free of block ${hex(ptr)} (${formatCount(size)} B): it was already freed.${where}`);
    return new InvalidPointerError(`${who}: block ${hex(ptr)} (${formatCount(size)} B) was already freed: a use after free.${where}`);
  }

  /** OutOfMemoryError for a request whose guarded total exceeds what any allocator accepts. */
  protected tooLarge(size: number, align: number, total: number): OutOfMemoryError {
    return new OutOfMemoryError(
      `${this.name}: cannot allocate ${formatSize(size)} (align ${align}): with its guards the block needs ${formatSize(total)}, more than an allocation can be.`,
    );
  }

  /**
   * `backing.allocate(total, align)` for a block of `size` bytes asked: an
   * OutOfMemoryError names both sizes (the backing's message names only
   * what it was asked).
   */
  protected lease(size: number, align: number, total: number): Ptr {
    try {
      return this.backing.allocate(total, align);
    } catch (error) {
      if (!(error instanceof OutOfMemoryError) || total === size) throw error;
      throw new OutOfMemoryError(`${this.name}: cannot allocate ${formatSize(size)} (align ${align}; ${formatSize(total)} with its guards): ${error.message}`, {
        cause: error,
      });
    }
  }

  /**
   * The CorruptionError for a broken byte of a block, in the house style:
   * block, scope, what broke at which offset, expected/found, allocation
   * stack, free stack, then what to do. Call it before the block leaves the
   * backing, so the backing can still name its origin, or pass the origin
   * captured while it could (a freed block). When the origin names the
   * user's pointer (a scope above puts its header in front of the block),
   * the block, size and offset are the user's.
   */
  protected corruption(
    ptr: Ptr,
    size: number,
    base: Ptr,
    what: string,
    offset: number,
    expected: number,
    found: number,
    detail: string,
    hint: string,
    freeStack?: string,
    origin: BlockOrigin | undefined = this.originAt(ptr, base),
  ): CorruptionError {
    const user = origin?.ptr ?? ptr;
    const userSize = origin?.ptr === undefined ? size : origin.size;
    const message =
      `${this.name}: ${blockLabel(user, userSize, origin)} —\n` +
      `  ${what} at ${signedOffset(offset + ptr - user)} (expected ${byteHex(expected)}, found ${byteHex(found)})${detail};` +
      stackLines("allocated", origin?.stack) +
      stackLines("freed", freeStack) +
      `\n  ${hint}`;
    return new CorruptionError(message);
  }

  // ------------------------------------------------------------------ private

  #find(ptr: Ptr, op: WrapperOp): number {
    // typeof first: `>>>` throws TypeError on a BigInt or a Symbol.
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr) validatePointerShape(`${this.name}.${op}`, ptr);
    // 0 marks an empty slot of the pointer table: never look it up.
    if (ptr === 0) throw invalidPointer(`${this.name}.${op}`, ptr, "null is never a live block");
    const index = this.blocks.indexOf(ptr);
    if (index < 0) throw this.missing(ptr, op);
    return index;
  }

  #destroyedError(op: string): DestroyedError {
    return destroyedError(`${this.name}.${op}`, "this allocator was destroyed", "build a new one over the backing for new work");
  }

  #addLive(delta: number): void {
    const c = this.counters;
    const live = (c[LIVE_BYTES] = c[LIVE_BYTES]! + delta);
    if (live > c[PEAK_LIVE_BYTES]!) c[PEAK_LIVE_BYTES] = live;
  }

  #tick(): void {
    if (this.checkEvery !== 0 && ++this.#ops >= this.checkEvery) {
      this.#ops = 0;
      this.checkOwn();
    }
  }
}
