import {
  markEntryPoints,
  type Attachment,
  DoubleFreeError,
  InvalidPointerError,
  OutOfMemoryError,
  type AddressSpace,
  type Allocator,
  type AllocatorError,
  type BlockOrigin,
  type CorruptionError,
  type Ptr,
  type ViewSet,
} from "@memkit/core";
import type { QuarantineOptions } from "./api.js";
import { B_BASE, B_HELD, B_PTR, B_SIZE } from "./block-table.js";
import { DEFAULT_FREE_HISTORY, DEFAULT_QUARANTINE_BLOCKS, DEFAULT_QUARANTINE_BYTES, FREED_BYTE } from "./constants.js";
import { DebugWrapper, type WrapperOp } from "./debug-wrapper.js";
import { blockLabel, stackLines } from "./messages.js";
import { byteOption, intOption } from "./options.js";
import {
  Q_HELD,
  Q_ORIGIN,
  Q_PTR,
  Q_SCOPE,
  Q_SIZE,
  Q_STACK,
  Q_USER_PTR,
  Q_USER_SIZE,
  QuarantineQueue,
  freeQueue,
  growQueue,
} from "./quarantine-queue.js";
import { openWrapper, paramsOf, wrapperSource, type KindSettings, type WrapperAttachOptions } from "./wrapper-control.js";
import { MAX_FREE_HISTORY, QUARANTINE_LAYOUT } from "./wrapper-layout.js";

const MAX_QUARANTINE_BLOCKS = 1 << 20;
const MAX_QUARANTINE_BYTES = 2 ** 31;
/** Q_ORIGIN: the origin is known; it names the user's block (a scope above). */
const ORIGIN_KNOWN = 1;
const ORIGIN_USER = 2;

/**
 * Freed blocks are filled with {@link FREED_BYTE} and held back, oldest
 * first, until the quarantine holds more than `maxBytes` (or `maxBlocks`);
 * only then does the oldest really go back to the backing. Meanwhile its
 * address cannot be handed out again, so:
 * - a write through a stale pointer changes the fill, and is reported as a
 *   "write after free" CorruptionError when the block leaves quarantine, on
 *   {@link check} and every `checkEvery` operations (offset, expected and
 *   found byte, the block's scope and allocation stack when the backing knows
 *   them, and where it was freed when stacks are captured);
 * - freeing it again is a DoubleFreeError naming where it was first freed.
 *
 * ```
 *  freed ->  [ newest | ... | oldest ] -> checked, then backing.deallocate
 *             66 66 66 ...   66 66 66     (a byte that is not 0x66: write after free)
 * ```
 *
 * A free that pushes the quarantine over its bound releases the oldest
 * blocks; if one of them was written to, the free still completes (and the
 * broken block is released) before the CorruptionError is thrown. When the
 * backing is out of memory, `allocate` flushes the quarantine and tries once
 * more. {@link flush} releases everything (checking each block).
 *
 * The queue is a ring in a block leased from the backing (quarantine-queue.ts);
 * a block's origin is kept as text ids (its scope path and allocation stack,
 * whose texts stay in this thread's JS: wrapper-texts.ts).
 */
export class QuarantineAllocator extends DebugWrapper {
  /** Bytes held before the oldest block is released. */
  readonly maxBytes: number;
  /** Blocks held at most. */
  readonly maxBlocks: number;
  /** Byte quarantined blocks are filled with. */
  readonly fillByte: number;
  readonly #queue: QuarantineQueue;

  /**
   * A quarantine over `backing` — or, given an {@link Attachment} (see
   * {@link QuarantineAllocator.attach}), a second handle on the one whose
   * control block that is.
   */
  constructor(backing: Allocator, options?: QuarantineOptions);
  constructor(attachment: Attachment, options: WrapperAttachOptions);
  constructor(source: Allocator | Attachment, options: QuarantineOptions | WrapperAttachOptions = {}) {
    const src = wrapperSource(source, options, QUARANTINE_LAYOUT, "quarantine", quarantineSettings);
    super(src, "held");
    const [maxBytes, maxBlocks, fill, d] = paramsOf(src);
    this.maxBytes = maxBytes;
    this.maxBlocks = maxBlocks;
    this.fillByte = fill;
    this.#queue = new QuarantineQueue(this.w, this.d);
    const bad = maxBytes > MAX_QUARANTINE_BYTES || maxBlocks > MAX_QUARANTINE_BLOCKS || fill > 255 || d !== 0;
    this.ready(src, bad ? `settings ${maxBytes}/${maxBlocks}/${fill} out of range` : undefined);
  }

  /**
   * A second handle on the quarantine whose control block is at
   * `controlPtr`, over `options.backing` (a handle on the allocator it was
   * created over). Damage is a CorruptionError here or at the first check().
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: WrapperAttachOptions): QuarantineAllocator {
    return new QuarantineAllocator(openWrapper(space, controlPtr, QUARANTINE_LAYOUT, "QuarantineAllocator.attach"), options);
  }

  override refreshViews(views: ViewSet): void {
    super.refreshViews(views);
    this.#queue.u32 = views.u32;
    this.#queue.f64 = views.f64;
  }

  /** Bytes currently held in quarantine. */
  get quarantinedBytes(): number {
    this.assertAlive("quarantinedBytes");
    return this.#queue.bytes;
  }

  /** Blocks currently held in quarantine. */
  get quarantinedCount(): number {
    this.assertAlive("quarantinedCount");
    return this.#queue.count;
  }

  /** True when the block at `ptr` was freed and is still held in quarantine. */
  isQuarantined(ptr: Ptr): boolean {
    return typeof ptr === "number" && ptr >>> 0 === ptr && ptr !== 0 && this.#queue.find(ptr) >= 0;
  }

  /**
   * Releases every quarantined block to the backing, oldest first, checking
   * each; throws the first CorruptionError found after all are released.
   */
  flush(): void {
    this.assertAlive("flush");
    this.#evict(0, 0);
  }

  /** destroy() flushes first (see {@link flush}). */
  protected override beforeDestroy(): void {
    this.#evict(0, 0);
  }

  /** A new quarantine leases its first queue. */
  protected override createOwnState(): void {
    growQueue(this);
  }

  /** destroy() gives the (flushed) queue's block back. */
  protected override freeOwnState(): void {
    freeQueue(this);
  }


  protected place(size: number, align: number): Ptr {
    const backing = this.backing;
    let ptr: Ptr;
    try {
      ptr = backing.allocate(size, align);
    } catch (error) {
      // What the quarantine holds back may be exactly what the backing lacks.
      if (!(error instanceof OutOfMemoryError) || this.#queue.count === 0) throw error;
      this.flush();
      ptr = backing.allocate(size, align);
    }
    const held = backing.allocatedSize(ptr);
    this.record(ptr, ptr, size, held);
    return ptr;
  }

  protected release(e: number, moving: boolean): void {
    const ptr = this.u32[e + B_PTR]!;
    const size = this.u32[e + B_SIZE]!;
    const held = this.u32[e + B_HELD]!;
    // Where the block came from, asked now: a scope above forgets it once this free returns.
    const origin = this.originAt(ptr, ptr);
    this.table.remove(e);
    this.u8.fill(this.fillByte, ptr, ptr + held);
    if (!this.#queue.hasRoom()) {
      try {
        growQueue(this);
      } catch (error) {
        if (!(error instanceof OutOfMemoryError)) throw error;
        // No room to hold it: the block goes back at once, unquarantined (it is filled and was checked).
        this.unreserve(held);
        this.backing.deallocate(ptr);
        return;
      }
    }
    const q = this.#queue.push(ptr, size, held);
    if (origin !== undefined) this.#noteOrigin(q, origin);
    // reallocate made room beforehand (beforeMove), so it cannot throw after the new block exists.
    if (!moving) this.#evict(this.maxBytes, this.maxBlocks);
  }

  protected override beforeMove(e: number): void {
    this.#evict(this.maxBytes - this.u32[e + B_HELD]!, this.maxBlocks - 1);
  }

  /** A quarantine block is the backing's block itself. */
  override entryDamage(e: number): string | undefined {
    return this.u32[e + B_PTR] !== this.u32[e + B_BASE] ? "its pointer is not its backing block" : undefined;
  }

  protected checkOwn(): void {
    const q = this.#queue;
    const count = q.count;
    for (let i = 0; i < count; i++) {
      const error = this.#verify(q.entryAt(i));
      if (error !== undefined) throw error;
    }
  }

  protected override missing(ptr: Ptr, op: WrapperOp): AllocatorError {
    const q = this.#queue.find(ptr);
    if (q < 0) return super.missing(ptr, op);
    const who = `${this.name}.${op}`;
    const origin = this.#originOf(q);
    const label = blockLabel(origin?.ptr ?? ptr, origin?.ptr === undefined ? this.u32[q + Q_SIZE]! : origin.size, origin);
    const stack = this.freeStackOf(ptr);
    const where =
      (stack === undefined ? `\n  Set captureStacks: true on ${this.name} to see where it was first freed.` : stackLines("first freed", stack)) +
      stackLines("allocated", origin?.stack);
    if (op === "deallocate") return new DoubleFreeError(`${who}: double free of ${label}: it was already freed and is still in quarantine.${where}`);
    return new InvalidPointerError(`${who}: ${label} was already freed and is in quarantine: a use after free.${where}`);
  }

  /** Releases the oldest blocks while the quarantine holds more than the limits; throws the first corruption found, after. */
  #evict(bytesLimit: number, blocksLimit: number): void {
    const q = this.#queue;
    let first: CorruptionError | undefined;
    while (q.count > 0 && (q.bytes > bytesLimit || q.count > blocksLimit)) {
      const e = q.entryAt(0);
      const ptr = this.u32[e + Q_PTR]!;
      const held = this.u32[e + Q_HELD]!;
      const error = this.#verify(e);
      if (first === undefined) first = error;
      q.shift();
      this.unreserve(held);
      this.backing.deallocate(ptr);
    }
    if (first !== undefined) throw first;
  }

  /** Keeps a freed block's origin in its queue entry at word `q`: texts as ids, pointer and size as words. */
  #noteOrigin(q: number, origin: BlockOrigin): void {
    const u32 = this.u32;
    const texts = this.texts;
    u32[q + Q_SCOPE] = texts.textId(origin.scope, u32, this.w);
    u32[q + Q_STACK] = texts.textId(origin.stack, u32, this.w);
    if (origin.ptr === undefined) {
      u32[q + Q_ORIGIN] = ORIGIN_KNOWN;
    } else {
      u32[q + Q_ORIGIN] = ORIGIN_USER;
      u32[q + Q_USER_PTR] = origin.ptr;
      u32[q + Q_USER_SIZE] = origin.size;
    }
  }

  /** The origin kept in the queue entry at word `q`, or undefined. Cold path. */
  #originOf(q: number): BlockOrigin | undefined {
    const u32 = this.u32;
    const kind = u32[q + Q_ORIGIN]!;
    if (kind !== ORIGIN_KNOWN && kind !== ORIGIN_USER) return undefined;
    const origin: BlockOrigin = { scope: this.texts.text(u32[q + Q_SCOPE]!) ?? "?", size: u32[q + Q_SIZE]! };
    const stack = this.texts.text(u32[q + Q_STACK]!);
    if (stack !== undefined) origin.stack = stack;
    if (kind === ORIGIN_USER) {
      origin.ptr = u32[q + Q_USER_PTR]!;
      origin.size = u32[q + Q_USER_SIZE]!;
    }
    return origin;
  }

  /** Undefined when the block of the queue entry at word `q` still holds the fill; else its write-after-free error. */
  #verify(q: number): CorruptionError | undefined {
    const ptr = this.u32[q + Q_PTR]!;
    const end = ptr + this.u32[q + Q_HELD]!;
    const fill = this.fillByte;
    const u8 = this.u8;
    let bad = -1;
    for (let a = ptr; a < end; a++) {
      if (u8[a] !== fill) {
        bad = a;
        break;
      }
    }
    if (bad < 0) return undefined;
    let changed = 0;
    for (let a = bad; a < end; a++) if (u8[a] !== fill) changed++;
    return this.corruption(
      ptr,
      this.u32[q + Q_SIZE]!,
      ptr,
      "write after free: byte changed",
      bad - ptr,
      fill,
      u8[bad]!,
      `, ${changed} of ${end - ptr} bytes differ`,
      "Something wrote into the block after it was freed (a use after free): look for a pointer kept past its deallocate or reallocate.",
      this.freeStackOf(ptr),
      this.#originOf(q),
    );
  }
}

// Marked at load, not only per construction: the first one's control block is leased before its constructor runs.
markEntryPoints(QuarantineAllocator);

/** The settings words of new quarantine options: maxBytes, maxBlocks, fill byte. */
function quarantineSettings(o: QuarantineOptions): KindSettings {
  const maxBlocks = intOption("QuarantineAllocator", "maxBlocks", o.maxBlocks, DEFAULT_QUARANTINE_BLOCKS, 0, MAX_QUARANTINE_BLOCKS);
  const maxBytes = intOption("QuarantineAllocator", "maxBytes", o.maxBytes, DEFAULT_QUARANTINE_BYTES, 0, MAX_QUARANTINE_BYTES);
  const fill = byteOption("QuarantineAllocator", "fillByte", o.fillByte, FREED_BYTE);
  // Remember at least every quarantined free, so a double free of one names where it was first freed.
  return { params: [maxBytes, maxBlocks, fill, 0], history: Math.min(DEFAULT_FREE_HISTORY + maxBlocks, MAX_FREE_HISTORY) };
}
