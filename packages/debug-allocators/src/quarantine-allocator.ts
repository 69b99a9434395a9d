import {
  DoubleFreeError,
  InvalidPointerError,
  OutOfMemoryError,
  type Allocator,
  type AllocatorError,
  type CorruptionError,
  type Ptr,
} from "@memkit/core";
import type { QuarantineOptions } from "./api.js";
import { DEFAULT_FREE_HISTORY, DEFAULT_QUARANTINE_BLOCKS, DEFAULT_QUARANTINE_BYTES, FREED_BYTE } from "./constants.js";
import { DebugWrapper, RESERVED_BYTES, type WrapperOp } from "./debug-wrapper.js";
import { blockLabel, stackLines } from "./messages.js";
import { byteOption, intOption } from "./options.js";
import { QuarantineQueue } from "./quarantine-queue.js";

const MAX_QUARANTINE_BLOCKS = 1 << 20;

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
 */
export class QuarantineAllocator extends DebugWrapper {
  /** Bytes held before the oldest block is released. */
  readonly maxBytes: number;
  /** Blocks held at most. */
  readonly maxBlocks: number;
  /** Byte quarantined blocks are filled with. */
  readonly fillByte: number;
  readonly #queue = new QuarantineQueue();

  constructor(backing: Allocator, options: QuarantineOptions = {}) {
    // Remember at least every quarantined free, so a double free of one names where it was first freed.
    super("QuarantineAllocator", "quarantine", backing, options, Math.min(DEFAULT_FREE_HISTORY + maxBlocksOption(options), MAX_QUARANTINE_BLOCKS));
    this.maxBlocks = maxBlocksOption(options);
    this.maxBytes = intOption("QuarantineAllocator", "maxBytes", options.maxBytes, DEFAULT_QUARANTINE_BYTES, 0, 2 ** 31);
    this.fillByte = byteOption("QuarantineAllocator", "fillByte", options.fillByte, FREED_BYTE);
  }

  /** Bytes currently held in quarantine. */
  get quarantinedBytes(): number {
    return this.#queue.bytes;
  }

  /** Blocks currently held in quarantine. */
  get quarantinedCount(): number {
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
    this.#evict(0, 0);
  }

  /** Flushes the quarantine (see {@link flush}), then stops following the space's growth. */
  override destroy(): void {
    try {
      this.flush();
    } finally {
      super.destroy();
    }
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
    this.blocks.add(ptr, ptr, size, held, held);
    this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! + held;
    return ptr;
  }

  protected release(index: number, moving: boolean): void {
    const b = this.blocks;
    const ptr = b.ptr[index]!;
    const size = b.size[index]!;
    const held = b.held[index]!;
    // Where the block came from, asked now: a scope above forgets it once this free returns.
    const origin = this.originAt(ptr, ptr);
    b.remove(index);
    this.u8.fill(this.fillByte, ptr, ptr + held);
    this.#queue.push(ptr, size, held, origin);
    // reallocate made room beforehand (beforeMove), so it cannot throw after the new block exists.
    if (!moving) this.#evict(this.maxBytes, this.maxBlocks);
  }

  protected override beforeMove(index: number): void {
    this.#evict(this.maxBytes - this.blocks.held[index]!, this.maxBlocks - 1);
  }

  protected checkOwn(): void {
    const q = this.#queue;
    for (let i = 0; i < q.count; i++) {
      const error = this.#verify(q.slotAt(i));
      if (error !== undefined) throw error;
    }
  }

  protected override missing(ptr: Ptr, op: WrapperOp): AllocatorError {
    const slot = this.#queue.find(ptr);
    if (slot < 0) return super.missing(ptr, op);
    const who = `${this.name}.${op}`;
    const origin = this.#queue.originAt(slot);
    const label = blockLabel(origin?.ptr ?? ptr, origin?.ptr === undefined ? this.#queue.sizeAt(slot) : origin.size, origin);
    const freeSlot = this.freed.find(ptr);
    const stack = freeSlot < 0 ? undefined : this.freed.stackAt(freeSlot);
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
      const slot = q.slotAt(0);
      const ptr = q.ptrAt(slot);
      const held = q.heldAt(slot);
      const error = this.#verify(slot);
      if (first === undefined) first = error;
      q.shift();
      this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! - held;
      this.backing.deallocate(ptr);
    }
    if (first !== undefined) throw first;
  }

  /** Undefined when the block in `slot` still holds the fill; else its write-after-free error. */
  #verify(slot: number): CorruptionError | undefined {
    const q = this.#queue;
    const ptr = q.ptrAt(slot);
    const end = ptr + q.heldAt(slot);
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
    const freeSlot = this.freed.find(ptr);
    return this.corruption(
      ptr,
      q.sizeAt(slot),
      ptr,
      "write after free: byte changed",
      bad - ptr,
      fill,
      u8[bad]!,
      `, ${changed} of ${end - ptr} bytes differ`,
      "Something wrote into the block after it was freed (a use after free): look for a pointer kept past its deallocate or reallocate.",
      freeSlot < 0 ? undefined : this.freed.stackAt(freeSlot),
      q.originAt(slot),
    );
  }
}

function maxBlocksOption(options: QuarantineOptions): number {
  return intOption("QuarantineAllocator", "maxBlocks", options.maxBlocks, DEFAULT_QUARANTINE_BLOCKS, 0, MAX_QUARANTINE_BLOCKS);
}
