import { markEntryPoints, type Attachment, InvalidArgumentError, SeededRandom, describe, type AddressSpace, type Allocator, type Ptr } from "@memkit/core";
import type { FillOptions } from "./api.js";
import { B_BASE, B_HELD, B_PTR } from "./block-table.js";
import { CLEAN_BYTE, DEFAULT_FILL_SEED, DEFAULT_FREE_HISTORY, FREED_BYTE } from "./constants.js";
import { DebugWrapper } from "./debug-wrapper.js";
import { byteOption, intOption } from "./options.js";
import { openWrapper, paramsOf, wrapperSource, type KindSettings, type WrapperAttachOptions } from "./wrapper-control.js";
import { FILL_LAYOUT, NO_BYTE, W_CURSOR } from "./wrapper-layout.js";

// How a fresh block is filled.
const FILL_NONE = 0;
const FILL_BYTE = 1;
const FILL_RANDOM = 2;

/**
 * Random fills copy from a pool of seeded random bytes drawn once, cycling
 * through it block after block: reproducible, and no generator call (which
 * boxes its 32-bit state) per byte on the allocation path. The pool is a
 * function of the seed, so it is not state: memory keeps the seed and the
 * cursor (W_CURSOR), and each handle draws the pool again (cached per seed).
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
  /** Seed of the random allocation fill. */
  readonly seed: number;
  readonly #allocMode: number;
  readonly #pool: Uint8Array;

  /**
   * A fill wrapper over `backing` — or, given an {@link Attachment} (see
   * {@link FillAllocator.attach}), a second handle on the one whose control
   * block that is.
   */
  constructor(backing: Allocator, options?: FillOptions);
  constructor(attachment: Attachment, options: WrapperAttachOptions);
  constructor(source: Allocator | Attachment, options: FillOptions | WrapperAttachOptions = {}) {
    const src = wrapperSource(source, options, FILL_LAYOUT, "fill", fillSettings);
    super(src, "held");
    const [mode, byte, free, seed] = paramsOf(src);
    this.#allocMode = mode;
    this.allocateByte = mode === FILL_BYTE ? byte : -1;
    this.freeByte = free === NO_BYTE ? -1 : free;
    this.seed = seed;
    this.#pool = mode === FILL_RANDOM ? randomPool(seed) : new Uint8Array(0);
    const bad = mode > FILL_RANDOM || byte > 255 || (free > 255 && free !== NO_BYTE) || (mode !== FILL_BYTE && byte !== 0);
    const cursor = src.space.u32[this.w + W_CURSOR]!;
    this.ready(src, bad ? `fill settings ${mode}/${byte}/${free} out of range` : cursor >= RANDOM_POOL_BYTES ? `its random cursor ${cursor} is past the pool` : undefined);
  }

  /**
   * A second handle on the fill wrapper whose control block is at
   * `controlPtr`, over `options.backing` (a handle on the allocator it was
   * created over). Damage is a CorruptionError here or at the first check().
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: WrapperAttachOptions): FillAllocator {
    return new FillAllocator(openWrapper(space, controlPtr, FILL_LAYOUT, "FillAllocator.attach"), options);
  }

  protected place(size: number, align: number): Ptr {
    const backing = this.backing;
    const ptr = backing.allocate(size, align);
    const usable = backing.allocatedSize(ptr);
    this.record(ptr, ptr, size, usable);
    if (this.#allocMode === FILL_BYTE) this.u8.fill(this.allocateByte, ptr, ptr + usable);
    else if (this.#allocMode === FILL_RANDOM) this.#fillRandom(ptr, usable);
    return ptr;
  }

  protected release(e: number): void {
    const ptr = this.u32[e + B_PTR]!;
    const usable = this.u32[e + B_HELD]!;
    if (this.freeByte >= 0) this.u8.fill(this.freeByte, ptr, ptr + usable);
    this.table.remove(e);
    this.unreserve(usable);
    this.backing.deallocate(ptr);
  }

  /** A fill block is the backing's block itself. */
  override entryDamage(e: number): string | undefined {
    return this.u32[e + B_PTR] !== this.u32[e + B_BASE] ? "its pointer is not its backing block" : undefined;
  }

  /** Nothing of its own to verify: freed memory belongs to the backing again. */
  protected checkOwn(): void {}

  /** Copies the next `bytes` of the random pool (cycling) into the block. */
  #fillRandom(ptr: Ptr, bytes: number): void {
    const u8 = this.u8;
    const pool = this.#pool;
    const w = this.w;
    let c = this.u32[w + W_CURSOR]! & (RANDOM_POOL_BYTES - 1);
    const end = ptr + bytes;
    for (let a = ptr; a < end; a++) {
      u8[a] = pool[c]!;
      c = (c + 1) & (RANDOM_POOL_BYTES - 1);
    }
    this.u32[w + W_CURSOR] = c;
  }
}

// Marked at load, not only per construction: the first one's control block is leased before its constructor runs.
markEntryPoints(FillAllocator);

/** The settings words of new fill options: allocation mode, its byte, the free byte (NO_BYTE: none), the seed. */
function fillSettings(o: FillOptions): KindSettings {
  const onAllocate = o.onAllocate ?? CLEAN_BYTE;
  let mode: number;
  let byte = 0;
  if (onAllocate === "random") mode = FILL_RANDOM;
  else if (onAllocate === "none") mode = FILL_NONE;
  else if (typeof onAllocate === "number") {
    mode = FILL_BYTE;
    byte = byteOption("FillAllocator", "onAllocate", onAllocate, CLEAN_BYTE);
  } else {
    throw new InvalidArgumentError(`FillAllocator: option onAllocate must be a byte 0..255, "random" or "none", received ${describe(onAllocate)}.`);
  }
  const onFree = o.onFree ?? FREED_BYTE;
  let free: number;
  if (onFree === "none") free = NO_BYTE;
  else if (typeof onFree === "number") free = byteOption("FillAllocator", "onFree", onFree, FREED_BYTE);
  else throw new InvalidArgumentError(`FillAllocator: option onFree must be a byte 0..255 or "none", received ${describe(onFree)}.`);
  const seed = intOption("FillAllocator", "seed", o.seed, DEFAULT_FILL_SEED, 0, 0xffff_ffff);
  return { params: [mode, byte, free, seed], history: DEFAULT_FREE_HISTORY };
}

const pools = new Map<number, Uint8Array>();

/** 64 KiB of bytes from core's SeededRandom: the same seed gives the same pool (drawn once per seed in this thread). */
function randomPool(seed: number): Uint8Array {
  const known = pools.get(seed);
  if (known !== undefined) return known;
  const rng = new SeededRandom(seed);
  const pool = new Uint8Array(RANDOM_POOL_BYTES);
  for (let i = 0; i < RANDOM_POOL_BYTES; i += 4) {
    const r = rng.nextU32();
    pool[i] = r;
    pool[i + 1] = r >>> 8;
    pool[i + 2] = r >>> 16;
    pool[i + 3] = r >>> 24;
  }
  if (pools.size >= 16) pools.clear();
  pools.set(seed, pool);
  return pool;
}
