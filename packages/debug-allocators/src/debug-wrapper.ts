import {
  CorruptionError,
  DEFAULT_ALIGN,
  DoubleFreeError,
  InvalidPointerError,
  OutOfMemoryError,
  SpaceHandle,
  formatCount,
  formatSize,
  hasOriginTracking,
  hex,
  invalidPointer,
  markEntryPoints,
  retireControl,
  validateAllocation,
  validatePointerShape,
  type Allocator,
  type AllocatorError,
  type AllocatorStats,
  type BlockOrigin,
  type Checkable,
  type ControlLayout,
  type OriginTracking,
  type Ptr,
  type ViewSet,
} from "@memkit/core";
import { isCheckable, type StackCapturing } from "./api.js";
import { B_BASE, B_HELD, B_SIZE, BlockTable, freeBlockTable, growBlockTable } from "./block-table.js";
import { FreeHistory } from "./free-history.js";
import { captureSite, corruptionMessage, stackLines } from "./messages.js";
import { verifyWrapperAttach, type WrapperSource } from "./wrapper-control.js";
import { checkWrapperState } from "./wrapper-check.js";
import {
  D_ALLOCS,
  D_FREES,
  D_LIVE_BYTES,
  D_LIVE_COUNT,
  D_PEAK_BYTES,
  D_RESERVED,
  FLAG_STACKS,
  W_CHECK_EVERY,
  W_FLAGS,
  W_HISTORY_CAP,
  W_HISTORY_SLOTS,
  W_ID,
  W_OPS,
  W_STATE_BYTES,
} from "./wrapper-layout.js";
import { dropWrapperTexts, wrapperTextsOf, type WrapperTexts } from "./wrapper-texts.js";

/** What a wrapper operation is called in messages. */
export type WrapperOp = "deallocate" | "reallocate" | "allocatedSize";

/**
 * The part every debug wrapper shares: argument checks, the table of live
 * blocks (so ownership, double frees and `check()` walks need no help from
 * the backing), a history of recent frees, counters in sizes asked for,
 * origin forwarding, periodic checks and the lifecycle (create, attach,
 * detach, destroy).
 *
 * All of it is state in linear memory under the wrapper's control block
 * (wrapper-layout.ts), leased from the backing: this object is a handle
 * (views, the backing, and what only JS can hold: the origin source and
 * the texts of call stacks, wrapper-texts.ts).
 *
 * A subclass decides where a block goes inside what it leases from the
 * backing ({@link place}, which ends with {@link record}), what a free does
 * ({@link release}) and what its own check walks ({@link checkOwn}). Public
 * methods create no JS objects on the good path (unless free stacks are
 * captured).
 */
export abstract class DebugWrapper extends SpaceHandle implements Allocator, Checkable, OriginTracking, StackCapturing {
  /** Name used in messages, e.g. `canary(root/ai)`. */
  readonly name: string;
  /** The allocator every block (and the wrapper's own state) is leased from. */
  readonly backing: Allocator;
  /** True when frees capture their call stack. */
  readonly capturesStacks: boolean;
  /** Own blocks are walked every this many operations (0 never). */
  readonly checkEvery: number;
  /** The control block's layout (its kind and magic). */
  readonly layout: ControlLayout;
  /** @internal u32 index of the control block. */
  readonly w: number;
  /** @internal f64 index of the control block. */
  readonly d: number;
  /** @internal Views of the space, refreshed whenever it grows (empty once the handle ended). */
  u8!: Uint8Array;
  /** @internal */
  u32!: Uint32Array;
  /** @internal */
  f64!: Float64Array;

  /** Live blocks. */
  protected readonly table: BlockTable;
  /** Recently freed pointers. */
  protected readonly freed: FreeHistory;
  /** This thread's texts of the wrapper's stack and origin ids. */
  protected readonly texts: WrapperTexts;
  /** Which word of a table entry answers allocatedSize (B_SIZE: the size asked; B_HELD: what the backing holds). */
  readonly #usableWord: number;
  readonly #tracking: OriginTracking | undefined;
  #originSource: OriginTracking | undefined;

  /** @param usable what `allocatedSize` answers: the size asked, or all the backing holds */
  protected constructor(source: WrapperSource, usable: "size" | "held") {
    super(source.space, source.controlPtr);
    // Over a scope recording call stacks, the stacks start at the code that called this wrapper.
    markEntryPoints(new.target);
    const { space, controlPtr, backing } = source;
    this.backing = backing;
    this.name = source.name;
    this.layout = source.layout;
    this.w = controlPtr >>> 2;
    this.d = controlPtr >>> 3;
    const u32 = space.u32;
    this.capturesStacks = (u32[this.w + W_FLAGS]! & FLAG_STACKS) !== 0;
    this.checkEvery = u32[this.w + W_CHECK_EVERY]!;
    this.table = new BlockTable(this.w);
    this.freed = new FreeHistory(this.w, u32[this.w + W_HISTORY_CAP]!, u32[this.w + W_HISTORY_SLOTS]!);
    this.texts = wrapperTextsOf(space, controlPtr, u32[this.w + W_ID]!);
    this.#usableWord = usable === "size" ? B_SIZE : B_HELD;
    this.#tracking = hasOriginTracking(backing) ? backing : undefined;
  }

  /**
   * Ends construction: an attached handle verifies the control block's state
   * words (CorruptionError naming the first one wrong; `paramDamage`: what is
   * wrong with the kind's settings), then the handle follows the space.
   */
  protected ready(source: WrapperSource, paramDamage: string | undefined): void {
    if (source.attachment !== undefined) verifyWrapperAttach(source, paramDamage);
    this.followViews();
    if (source.attachment !== undefined) return;
    // A new wrapper leases its first tables now, so its blocks' calls find them there.
    try {
      growBlockTable(this);
      this.createOwnState();
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  refreshViews(views: ViewSet): void {
    this.u8 = views.u8;
    this.u32 = views.u32;
    this.f64 = views.f64;
    this.table.u32 = views.u32;
    this.freed.u32 = views.u32;
  }

  // ------------------------------------------------------------- subclass hooks

  /** Leases a block from the backing, prepares its bytes and {@link record}s it; returns the caller's pointer. */
  protected abstract place(size: number, align: number): Ptr;

  /**
   * Gives up the block whose table entry is at word `e`: verifies it, forgets
   * it in {@link table}, returns it to the backing (or holds it back). When it
   * finds corruption it still finishes the release, then throws
   * CorruptionError. `moving`: the block is being replaced by `reallocate`
   * (its bytes were already verified).
   */
  protected abstract release(e: number, moving: boolean): void;

  /** Walks this wrapper's own blocks (guards, quarantine) and throws CorruptionError at the first fault. */
  protected abstract checkOwn(): void;

  /** Runs before `reallocate` leases the new block; throws (changing nothing) when the old block is corrupt. */
  protected beforeMove(_e: number): void {}

  /** Runs first in destroy() (the quarantine flushes). */
  protected beforeDestroy(): void {}

  /** Leases the kind's own state blocks of a new wrapper (the quarantine's queue). */
  protected createOwnState(): void {}

  /** Gives back the kind's own state blocks in destroy() (the quarantine's queue). */
  protected freeOwnState(): void {}

  /** Kind-specific damage of a table entry for check() (e.g. a guard that does not fit), or undefined. */
  entryDamage(_e: number): string | undefined {
    return undefined;
  }

  // ------------------------------------------------------------------ Allocator

  /** A block of `size` bytes aligned to `align`, prepared by this wrapper. */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    if (this.u32.length === 0) throw this.endedError("allocate");
    validateAllocation(this.name, size, align);
    const ptr = this.place(size, align);
    this.freed.forget(ptr);
    const f64 = this.f64;
    const d = this.d;
    f64[d + D_ALLOCS]!++;
    f64[d + D_LIVE_COUNT]!++;
    this.#addLive(size);
    this.#tick();
    return ptr;
  }

  /** Verifies and frees the block; throws CorruptionError (after freeing it) when its guards or pattern broke. */
  deallocate(ptr: Ptr): void {
    if (this.u32.length === 0) throw this.endedError("deallocate");
    if (ptr === 0) return;
    const e = this.#find(ptr, "deallocate");
    const size = this.u32[e + B_SIZE]!;
    this.freed.record(ptr, size, this.capturesStacks ? this.texts.stackId(captureSite(), this.u32, this.w) : 0);
    const f64 = this.f64;
    const d = this.d;
    f64[d + D_FREES]!++;
    f64[d + D_LIVE_COUNT]!--;
    f64[d + D_LIVE_BYTES] = f64[d + D_LIVE_BYTES]! - size;
    this.release(e, false);
    this.#tick();
  }

  /**
   * Always moves: a new block is prepared, `min(old, new)` usable bytes are
   * copied and the old block is freed as by `deallocate` — so a stale pointer
   * to the old block hits freed (filled, quarantined) memory. A corrupt old
   * block throws CorruptionError and nothing changes.
   */
  reallocate(ptr: Ptr, newSize: number, align: number = DEFAULT_ALIGN): Ptr {
    if (this.u32.length === 0) throw this.endedError("reallocate");
    validateAllocation(this.name, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    const e = this.#find(ptr, "reallocate");
    const oldSize = this.u32[e + B_SIZE]!;
    const oldUsable = this.u32[e + this.#usableWord]!;
    this.beforeMove(e);
    const next = this.place(newSize, align);
    const table = this.table;
    // Code the backing ran while placing the new block (a budget hook) may have freed the old
    // one; its address may even be the new block's. Give the new block back and say so.
    if (next === ptr || table.find(ptr) < 0) {
      this.release(table.find(next), false);
      throw new InvalidPointerError(
        `${this.name}.reallocate: block ${hex(ptr)} was freed while it was being resized (by code the backing ran, such as a budget hook); nothing was allocated.`,
      );
    }
    this.freed.forget(next);
    const keep = Math.min(oldUsable, this.u32[table.find(next) + this.#usableWord]!);
    this.space.bytes.copy(next, ptr, keep);
    this.freed.record(ptr, oldSize, this.capturesStacks ? this.texts.stackId(captureSite(), this.u32, this.w) : 0);
    this.release(table.find(ptr), true);
    this.#addLive(newSize - oldSize);
    this.#tick();
    return next;
  }

  /** Bytes the caller may use at `ptr` (see each wrapper: canary blocks report exactly the size asked). */
  allocatedSize(ptr: Ptr): number {
    if (this.u32.length === 0) throw this.endedError("allocatedSize");
    return this.u32[this.#find(ptr, "allocatedSize") + this.#usableWord]!;
  }

  /** True when `ptr` is a live block of this wrapper (a quarantined block is not). False for anything that is not a pointer. */
  owns(ptr: Ptr): boolean {
    return typeof ptr === "number" && ptr >>> 0 === ptr && ptr !== 0 && this.table.find(ptr) >= 0;
  }

  /**
   * liveBytes counts sizes asked for; reservedBytes is what this wrapper holds
   * from its backing: its blocks with their guards or spans, quarantined
   * blocks, and its own state ({@link stateBytes}).
   */
  stats(): AllocatorStats {
    this.assertAlive("stats");
    const f64 = this.f64;
    const d = this.d;
    return {
      liveBytes: f64[d + D_LIVE_BYTES]!,
      liveCount: f64[d + D_LIVE_COUNT]!,
      peakLiveBytes: f64[d + D_PEAK_BYTES]!,
      allocCount: f64[d + D_ALLOCS]!,
      freeCount: f64[d + D_FREES]!,
      reservedBytes: f64[d + D_RESERVED]! + this.u32[this.w + W_STATE_BYTES]!,
    };
  }

  /** Bytes of the wrapper's own state held from the backing: its control block and tables. */
  get stateBytes(): number {
    this.assertAlive("stateBytes");
    return this.u32[this.w + W_STATE_BYTES]!;
  }

  /** Starts a new high-water mark at the current liveBytes. */
  resetPeak(): void {
    this.assertAlive("resetPeak");
    this.f64[this.d + D_PEAK_BYTES] = this.f64[this.d + D_LIVE_BYTES]!;
  }

  /**
   * Checks this wrapper's state (the live-block table, the free history, the
   * quarantine queue, the counters), its own blocks, then the backing's
   * `check()` when it has one: a whole stack checks top to bottom.
   */
  check(): void {
    this.assertAlive("check");
    checkWrapperState(this, this.freed);
    this.checkOwn();
    if (isCheckable(this.backing)) this.backing.check();
  }

  /** Scope and allocation stack of a live block, from the backing (size: the size asked of this wrapper). Cold path. */
  originOf(ptr: Ptr): BlockOrigin | undefined {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr === 0) return undefined;
    const e = this.table.find(ptr);
    if (e < 0) return undefined;
    const origin = this.originAt(ptr, this.u32[e + B_BASE]!);
    if (origin === undefined) return undefined;
    // An origin naming the user's pointer (a scope above) already has the user's size.
    if (origin.ptr !== undefined) return origin;
    return { scope: origin.scope, size: this.u32[e + B_SIZE]!, stack: origin.stack };
  }

  /**
   * Where to ask for a block's origin when the backing cannot answer:
   * typically the trace scope this wrapper sits *under*
   * (`new TraceAllocator(debugWrap(heap))`), whose `originOf` accepts the
   * pointers of its backing blocks, i.e. this wrapper's blocks. Set it once
   * the scope exists; `undefined` clears it. Kept per handle (JS only): set
   * it again on an attached handle.
   */
  setOriginSource(source: OriginTracking | undefined): void {
    this.#originSource = source;
  }

  /** Ends this handle only: the wrapper, its blocks and its state live on (attach again to use them). */
  detach(): void {
    this.end("detached");
  }

  /**
   * Ends the wrapper for every handle: the quarantine flushes first, then the
   * wrapper's own state (control block, tables) goes back to the backing.
   * Blocks still live stay with the backing. Idempotent.
   */
  destroy(): void {
    if (!this.alive) return;
    try {
      this.beforeDestroy();
    } finally {
      const { space, controlPtr, backing } = this;
      const id = this.u32[this.w + W_ID]!;
      try {
        this.freeOwnState();
        freeBlockTable(this);
      } finally {
        retireControl(space, controlPtr);
        dropWrapperTexts(space, controlPtr, id);
        this.end("destroyed");
        backing.deallocate(controlPtr);
      }
    }
  }

  /** True once the wrapper was destroyed (through this handle or another of this thread). */
  get destroyed(): boolean {
    return this.ended === "destroyed";
  }

  // ------------------------------------------------------------ for subclasses

  /**
   * Records a block the subclass placed: `ptr` handed to the caller, `base`
   * leased from the backing (holding `held` bytes), `size` asked. Grows the
   * table first when it is full; if that fails, `base` goes back to the
   * backing and the error propagates (nothing changed). Returns the entry.
   */
  protected record(ptr: Ptr, base: Ptr, size: number, held: number): number {
    if (!this.table.hasRoom()) {
      try {
        growBlockTable(this);
      } catch (error) {
        this.backing.deallocate(base);
        throw error;
      }
    }
    const e = this.table.add(ptr, base, size, held);
    this.f64[this.d + D_RESERVED] = this.f64[this.d + D_RESERVED]! + held;
    return e;
  }

  /** Counts `held` bytes fewer held from the backing (a block went back to it). */
  protected unreserve(held: number): void {
    this.f64[this.d + D_RESERVED] = this.f64[this.d + D_RESERVED]! - held;
  }

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

  /** The stack text of the free of `ptr` remembered in the free history, or undefined. */
  protected freeStackOf(ptr: Ptr): string | undefined {
    const entry = this.freed.find(ptr);
    return entry < 0 ? undefined : this.texts.text(this.freed.stackAt(entry));
  }

  /** The error for a pointer that is not a live block: a double free, a use after free, or a pointer never handed out. */
  protected missing(ptr: Ptr, op: WrapperOp): AllocatorError {
    const who = `${this.name}.${op}`;
    const entry = this.freed.find(ptr);
    if (entry < 0) return invalidPointer(who, ptr, "no live block of this allocator starts there");
    const size = this.freed.sizeAt(entry);
    const stack = this.texts.text(this.freed.stackAt(entry));
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
   * The CorruptionError for a broken byte of a block (messages.ts). Call it
   * before the block leaves the backing, so the backing can still name its
   * origin, or pass the origin captured while it could (a freed block).
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
    return new CorruptionError(corruptionMessage(this.name, ptr, size, what, offset, expected, found, detail, hint, freeStack, origin));
  }

  // ------------------------------------------------------------------ private

  #find(ptr: Ptr, op: WrapperOp): number {
    // typeof first: `>>>` throws TypeError on a BigInt or a Symbol.
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr) validatePointerShape(`${this.name}.${op}`, ptr);
    // 0 marks an empty slot of the table: never look it up.
    if (ptr === 0) throw invalidPointer(`${this.name}.${op}`, ptr, "null is never a live block");
    const e = this.table.find(ptr);
    if (e < 0) throw this.missing(ptr, op);
    return e;
  }

  #addLive(delta: number): void {
    const f64 = this.f64;
    const d = this.d;
    const live = (f64[d + D_LIVE_BYTES] = f64[d + D_LIVE_BYTES]! + delta);
    if (live > f64[d + D_PEAK_BYTES]!) f64[d + D_PEAK_BYTES] = live;
  }

  #tick(): void {
    const every = this.checkEvery;
    if (every === 0) return;
    const u32 = this.u32;
    const ops = u32[this.w + W_OPS]! + 1;
    if (ops < every) {
      u32[this.w + W_OPS] = ops;
      return;
    }
    u32[this.w + W_OPS] = 0;
    this.checkOwn();
  }
}
