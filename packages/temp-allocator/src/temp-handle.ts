import {
  CorruptionError,
  DEFAULT_ALIGN,
  SpaceHandle,
  SpaceViews,
  controlWord,
  hex,
  retireControl,
  type Allocator,
  type AllocatorStats,
  type ControlLayout,
  type HandleEnd,
  type StorageReport,
  type ViewSet,
  validateAllocation,
  validatePointerShape,
} from "@memkit/core";
import { BumpChain } from "./bump-chain.js";
import { CHUNK_HEADER, CHUNK_MAGIC, C_BYTES, SMALLEST_CHUNK_BYTES } from "./chunk.js";
import { MAX_STANDARD_CHUNK_BYTES, MIN_CHUNK_BYTES } from "./options.js";
import { registerReclaim } from "./reclaim-hook.js";
import { buildStorageReport } from "./storage-report.js";
import { resetPeak, tempStats } from "./temp-counters.js";
import type { TempSource } from "./temp-control.js";
import {
  CONFIG_DEBUG,
  CONFIG_LEASED,
  D_FREES,
  W_CHUNK,
  W_CHUNKS,
  W_CHUNK_BYTES,
  W_CONFIG,
  W_END,
  W_FIRST,
  W_KEY,
  W_LIVE_BYTES,
  W_LIVE_COUNT,
  W_META_BYTES,
  W_RESERVED,
  W_SPARES,
  W_TOP,
  W_TOP_PTR,
} from "./temp-layout.js";

const noop = (): void => undefined;

/** What classify() answers for a live block (each kind numbers its other answers from 1). */
export const LIVE = 0;

/**
 * What a FrameAllocator and a ScratchAllocator handle have in common: the
 * lifecycle (core's SpaceHandle: one constructor path for create and attach,
 * detach, destroy, dead views), the fixed words every temp control block
 * starts with, the bump chain, the counters and the reclaim hook. The state
 * is in the control block; the handle holds views, constants and callbacks.
 */
export abstract class TempHandle extends SpaceHandle implements Allocator {
  readonly name: string;
  /** Where the chunks come from. */
  readonly backing: Allocator;
  /** Bytes of a standard chunk, header included. */
  readonly chunkBytes: number;
  /** @internal The chain of chunks this handle bumps through (bump-chain.ts). */
  readonly chain: BumpChain;
  /** @internal u32 index of the control block. */
  readonly w: number;
  /** @internal float64 index of the control block. */
  readonly d: number;
  /** @internal Stamp key (a fixed word). */
  readonly key: number;
  /** @internal Config word (a fixed word). */
  readonly config: number;
  /** @internal Views of the space (`SpaceViews.dead` once the handle ended). */
  u8: Uint8Array = SpaceViews.dead.u8;
  /** @internal */
  u32: Uint32Array = SpaceViews.dead.u32;
  /** @internal */
  f64: Float64Array = SpaceViews.dead.f64;
  protected readonly whoAllocate: string;
  protected readonly whoDeallocate: string;
  protected readonly whoReallocate: string;
  #unregisterReclaim: () => void = noop;

  /** `debugFill`: the byte fresh chunks are filled with when the config has CONFIG_DEBUG. */
  protected constructor(source: TempSource, layout: ControlLayout, debugFill: number) {
    super(source.space, source.controlPtr);
    this.name = source.name;
    this.backing = source.backing;
    const ptr = source.controlPtr;
    const u32 = source.space.u32;
    this.w = ptr >>> 2;
    this.d = ptr >>> 3;
    this.key = u32[this.w + W_KEY]!;
    this.chunkBytes = u32[this.w + W_CHUNK_BYTES]!;
    this.config = u32[this.w + W_CONFIG]!;
    if (source.attachment !== undefined && (this.chunkBytes % 8 !== 0 || this.chunkBytes < MIN_CHUNK_BYTES || this.chunkBytes > MAX_STANDARD_CHUNK_BYTES || ptr % 8 !== 0)) {
      throw new CorruptionError(`${source.attachment.who}: the ${layout.kind} at ${hex(ptr)} records a chunk size of ${this.chunkBytes} bytes, which no ${layout.kind} has.`);
    }
    const fill = (this.config & CONFIG_DEBUG) !== 0 ? debugFill : -1;
    this.chain = new BumpChain(source.backing, ptr, source.name, this.chunkBytes, (CHUNK_MAGIC ^ this.key) >>> 0, fill);
    this.whoAllocate = `${this.name}.allocate`;
    this.whoDeallocate = `${this.name}.deallocate`;
    this.whoReallocate = `${this.name}.reallocate`;
  }

  /** Follows the space's growth, and registers the reclaim hook with the backing. Call once, last in the constructor. */
  protected start(): void {
    this.followViews();
    this.#unregisterReclaim = registerReclaim(this.backing, () => this.reclaim());
  }

  refreshViews(views: ViewSet): void {
    this.u8 = views.u8;
    this.u32 = views.u32;
    this.f64 = views.f64;
    this.chain.refresh(views);
  }

  abstract allocate(size: number, align?: number): number;
  abstract deallocate(ptr: number): void;

  /** LIVE (0) or why `ptr` (a well-formed pointer) is not a live block; sets {@link foundSize}. */
  protected abstract classify(ptr: number): number;
  /** The error for `ptr`, classified as `code`, in call `who` (`freeing`: a deallocate, where a second free is a DoubleFreeError). */
  protected abstract pointerError(who: string, ptr: number, code: number, freeing: boolean): Error;
  /** True when `ptr` is the most recent block and may be resized in place. */
  protected abstract isResizableTop(ptr: number): boolean;
  /** Rewrites the top block's header and the top for `newSize` (it fits the current chunk). */
  protected abstract resizeTop(ptr: number, size: number, newSize: number): void;
  /** After reallocate moved a block: what the kind does with the old one. */
  protected abstract movedFrom(ptr: number, size: number): void;

  /** Size found by the last {@link classify}. */
  protected foundSize = 0;

  /**
   * The most recent block grows or shrinks in place while its chunk has room;
   * any other block shrinks by keeping its size (nothing is written) and
   * grows by moving to a new block on top (the old one stays until it is
   * released or recycled).
   */
  reallocate(ptr: number, newSize: number, align: number = DEFAULT_ALIGN): number {
    validateAllocation(this.whoReallocate, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    const size = this.liveSize(this.whoReallocate, ptr);
    if ((ptr & ((align > 8 ? align : 8) - 1)) === 0) {
      if (this.isResizableTop(ptr)) {
        if (ptr + newSize <= this.u32[this.w + W_END]!) {
          this.resizeTop(ptr, size, newSize);
          return ptr;
        }
      } else if (newSize <= size) {
        return ptr;
      }
    }
    const moved = this.allocate(newSize, align);
    this.space.bytes.copy(moved, ptr, Math.min(size, newSize));
    this.movedFrom(ptr, size);
    return moved;
  }

  /** The size asked for (or last reallocated to) of a live block. */
  allocatedSize(ptr: number): number {
    return this.liveSize(`${this.name}.allocatedSize`, ptr);
  }

  /** True when `ptr` is a live block of this allocator. */
  owns(ptr: number): boolean {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr === 0) return false;
    return this.classify(ptr) === LIVE;
  }

  /** The size of the live block `ptr`; throws the pointer error for `who` otherwise. */
  protected liveSize(who: string, ptr: number): number {
    validatePointerShape(who, ptr);
    const code = this.classify(ptr);
    if (code !== LIVE) throw this.pointerError(who, ptr, code, false);
    return this.foundSize;
  }
  /** Gives back what the allocator only caches; returns the bytes. */
  abstract reclaim(): number;
  /** Ends the allocator for every handle. */
  abstract destroy(): void;

  /**
   * liveBytes/liveCount count the sizes asked for of blocks not yet
   * reclaimed (a no-op deallocate changes neither); freeCount counts blocks
   * reclaimed; reservedBytes counts the chunks held, plus the control block
   * when it was leased from the backing (and the scratch stack's tables).
   */
  stats(): AllocatorStats {
    this.assertAlive("stats");
    return tempStats(this.u32, this.f64, this.w, this.d);
  }

  /** Forgets the peak: peakLiveBytes restarts from the current liveBytes. */
  resetPeak(): void {
    this.assertAlive("resetPeak");
    resetPeak(this.u32, this.w);
  }

  /** Free space: the rest of the current chunk and every spare chunk. */
  storageReport(): StorageReport {
    this.assertAlive("storageReport");
    const u32 = this.u32;
    const w = this.w;
    return buildStorageReport(u32[w + W_RESERVED]! + u32[w + W_META_BYTES]!, u32[w + W_LIVE_BYTES]!, this.chain.freeRegions(), this.blockHeaderBytes);
  }

  /** Bytes of a block header (what a request costs on top of its size). */
  protected abstract get blockHeaderBytes(): number;

  /** Ends this handle only: the allocator, its blocks and its other handles live on. */
  detach(): void {
    this.end("detached");
  }

  /** Same as destroy(), for `using`. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  protected override end(how: HandleEnd): void {
    super.end(how);
    this.#unregisterReclaim();
    this.#unregisterReclaim = noop;
  }

  /** The last step of destroy(), once the chunks are back: retires the control block, gives it back when leased, ends every handle. */
  protected retire(): void {
    retireControl(this.space, this.controlPtr);
    if ((this.config & CONFIG_LEASED) !== 0) this.backing.deallocate(this.controlPtr);
    this.end("destroyed");
  }

  /**
   * Attach: range-checks the chain and counter words (temp-layout.ts) and
   * the chunks they point at, so a damaged control block is a
   * CorruptionError here; check() walks the rest.
   */
  protected verifyChainWords(layout: ControlLayout, controlBytes: number): void {
    this.refreshViews(SpaceViews.of(this.space));
    const u32 = this.u32;
    const ptr = this.controlPtr;
    const w = this.w;
    const size = this.u8.length;
    const word = (at: number, min: number, max: number, field: string): number => controlWord(u32, ptr, at, min, max, layout, field);
    const chunks = word(W_CHUNKS, 0, Math.floor(size / SMALLEST_CHUNK_BYTES), "chunk count");
    word(W_RESERVED, chunks * SMALLEST_CHUNK_BYTES, size, "reserved bytes");
    word(W_META_BYTES, (this.config & CONFIG_LEASED) !== 0 ? controlBytes : 0, size, "control bytes held");
    const chunk = word(W_CHUNK, 0, size - CHUNK_HEADER, "current chunk");
    if (chunk === 0) {
      for (const [at, field] of [[W_TOP, "top"], [W_END, "end"], [W_TOP_PTR, "top block"], [W_FIRST, "first chunk"]] as const) word(at, 0, 0, field);
    } else {
      this.chain.expectChunk(chunk, "the current chunk");
      const end = chunk + u32[(chunk >>> 2) + C_BYTES]!;
      word(W_END, end, end, "end");
      const top = word(W_TOP, chunk + CHUNK_HEADER, end, "top");
      if (top % 8 !== 0) word(W_TOP, 0, 0, "top (8-aligned)");
      const topPtr = u32[w + W_TOP_PTR]!;
      if (topPtr !== 0) word(W_TOP_PTR, chunk + CHUNK_HEADER + 8, top, "top block");
      this.chain.expectChunk(word(W_FIRST, 8, size - CHUNK_HEADER, "first chunk"), "the first chunk");
    }
    const spares = word(W_SPARES, 0, size - CHUNK_HEADER, "spare list");
    if (spares !== 0) this.chain.expectChunk(spares, "the spare list's head");
    const reserved = u32[w + W_RESERVED]!;
    word(W_LIVE_BYTES, 0, reserved, "live bytes");
    word(W_LIVE_COUNT, 0, Math.floor(reserved / 8), "live count");
    const frees = this.f64[this.d + D_FREES]!;
    if (!Number.isSafeInteger(frees) || frees < 0) throw new CorruptionError(`${layout.kind} at ${hex(ptr)}: its count of freed blocks holds ${frees}: the block is damaged.`);
  }
}
