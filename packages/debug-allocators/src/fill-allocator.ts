import { InvalidArgumentError, SeededRandom, describe, type Allocator, type Ptr } from "@memkit/core";
import type { FillOptions } from "./api.js";
import { CLEAN_BYTE, DEFAULT_FILL_SEED, FREED_BYTE } from "./constants.js";
import { DebugWrapper, RESERVED_BYTES } from "./debug-wrapper.js";
import { byteOption, intOption } from "./options.js";

// How a fresh block is filled.
const FILL_NONE = 0;
const FILL_BYTE = 1;
const FILL_RANDOM = 2;

/**
 * Random fills copy from a pool of seeded random bytes drawn once, cycling
 * through it block after block: reproducible, and no generator call (which
 * boxes its 32-bit state) per byte on the allocation path.
 */
const RANDOM_POOL_BYTES = 65536;

/**
 * Fill patterns, so code that reads memory it never wrote, or memory it
 * already freed, misbehaves loudly and the same way every run:
 * - on allocate, every usable byte is set to a chosen byte ({@link CLEAN_BYTE}
 *   by default) or to seeded random bytes: a 64 KiB pool drawn once from
 *   core's SeededRandom, copied block after block from a cycling cursor, so
 *   the same seed and the same sequence of calls give the same bytes;
 * - on free, every usable byte is set to {@link FREED_BYTE} (0x66) before the
 *   block goes back to the backing.
 *
 * Pointers are the backing's own; `allocatedSize` is the backing's usable
 * size and all of it is filled. Fills detect nothing by themselves (the
 * memory returns to the backing, which may reuse it at once); put a
 * {@link QuarantineAllocator} above to catch writes after free.
 */
export class FillAllocator extends DebugWrapper {
  /** Byte written into fresh blocks, or -1 when random or none. */
  readonly allocateByte: number;
  /** Byte written into freed blocks, or -1 for none. */
  readonly freeByte: number;
  readonly #allocMode: number;
  readonly #pool: Uint8Array;
  #cursor = 0;

  constructor(backing: Allocator, options: FillOptions = {}) {
    super("FillAllocator", "fill", backing, options);
    const onAllocate = options.onAllocate ?? CLEAN_BYTE;
    if (onAllocate === "random") {
      this.#allocMode = FILL_RANDOM;
      this.allocateByte = -1;
    } else if (onAllocate === "none") {
      this.#allocMode = FILL_NONE;
      this.allocateByte = -1;
    } else if (typeof onAllocate === "number") {
      this.#allocMode = FILL_BYTE;
      this.allocateByte = byteOption("FillAllocator", "onAllocate", onAllocate, CLEAN_BYTE);
    } else {
      throw new InvalidArgumentError(`FillAllocator: option onAllocate must be a byte 0..255, "random" or "none", received ${describe(onAllocate)}.`);
    }
    const onFree = options.onFree ?? FREED_BYTE;
    if (onFree === "none") this.freeByte = -1;
    else if (typeof onFree === "number") this.freeByte = byteOption("FillAllocator", "onFree", onFree, FREED_BYTE);
    else throw new InvalidArgumentError(`FillAllocator: option onFree must be a byte 0..255 or "none", received ${describe(onFree)}.`);
    const seed = intOption("FillAllocator", "seed", options.seed, DEFAULT_FILL_SEED, 0, 0xffff_ffff);
    this.#pool = this.#allocMode === FILL_RANDOM ? randomPool(seed) : new Uint8Array(0);
  }

  protected place(size: number, align: number): Ptr {
    const backing = this.backing;
    const ptr = backing.allocate(size, align);
    const usable = backing.allocatedSize(ptr);
    if (this.#allocMode === FILL_BYTE) this.u8.fill(this.allocateByte, ptr, ptr + usable);
    else if (this.#allocMode === FILL_RANDOM) this.#fillRandom(ptr, usable);
    this.blocks.add(ptr, ptr, size, usable, usable);
    this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! + usable;
    return ptr;
  }

  protected release(index: number): void {
    const b = this.blocks;
    const ptr = b.ptr[index]!;
    const usable = b.held[index]!;
    if (this.freeByte >= 0) this.u8.fill(this.freeByte, ptr, ptr + usable);
    b.remove(index);
    this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! - usable;
    this.backing.deallocate(ptr);
  }

  /** Nothing of its own to verify: freed memory belongs to the backing again. */
  protected checkOwn(): void {}

  /** Copies the next `bytes` of the random pool (cycling) into the block. */
  #fillRandom(ptr: Ptr, bytes: number): void {
    const u8 = this.u8;
    const pool = this.#pool;
    let c = this.#cursor;
    const end = ptr + bytes;
    for (let a = ptr; a < end; a++) {
      u8[a] = pool[c]!;
      c = (c + 1) & (RANDOM_POOL_BYTES - 1);
    }
    this.#cursor = c;
  }
}

/** 64 KiB of bytes from core's SeededRandom: the same seed gives the same pool. */
function randomPool(seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  const pool = new Uint8Array(RANDOM_POOL_BYTES);
  for (let i = 0; i < RANDOM_POOL_BYTES; i += 4) {
    const r = rng.nextU32();
    pool[i] = r;
    pool[i + 1] = r >>> 8;
    pool[i + 2] = r >>> 16;
    pool[i + 3] = r >>> 24;
  }
  return pool;
}
