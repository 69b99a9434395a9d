import {
  CorruptionError,
  DEFAULT_ALIGN,
  type DestroyedError,
  DoubleFreeError,
  InvalidArgumentError,
  InvalidPointerError,
  describe,
  destroyedError,
  formatBytes,
  hex,
  invalidPointer,
  validateAllocation,
  validatePointerShape,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type Checkable,
  type Ptr,
  type StorageReport,
  type StorageReporting,
} from "@memkit/core";
import { CHUNK_HEADER, C_BYTES, C_FREED_FRAME, C_FREED_TOP, C_MAGIC, C_NEXT, C_OWNER, C_TOP, ChunkPool, NO_FRAME } from "./chunk-pool.js";
import { FREES, LIVE_BYTES, LIVE_COUNT, TEMP_COUNTERS, notePeak, resetPeak, resizeLive, tempStats } from "./temp-counters.js";
import { resolveChunkSize, resolveName, type FrameAllocatorOptions } from "./options.js";
import { PAD_WORD, nextAllocatorKey, stampHash } from "./stamp.js";
import { buildStorageReport } from "./storage-report.js";
import { registerReclaim } from "./reclaim-hook.js";
import { FrameGrowthWatch, resolveGrowthOptions } from "./frame-growth.js";

/** Debug mode fills recycled frame memory with this byte ("dead"); a different byte there means a stale write. */
export const FRAME_FREED_BYTE = 0xdd;
const FREED_WORD = 0xdddd_dddd;

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
 * Arenas: a ring of `arenas` chunk chains. Frame k bumps through arena
 * k mod arenas; beginFrame() moves to the next arena and recycles it: its
 * first chunk stays, the rest go to the spare list in O(1) (one splice), so
 * a steady frame loop reuses the same chunks and never calls the backing.
 *
 *   arena 0 (frame k-1): [chunk]->[chunk]           spare: [chunk]->[chunk]
 *   arena 1 (frame k)  : [chunk]->[chunk: top ... end]
 *
 * JS state: the bump pointer (chunk, top, end, top block), the frame number
 * and a small Float64Array per arena (first chunk, current chunk, top, frame,
 * block count, bytes). The chains live in the chunk headers.
 */
const BLOCK_HEADER = 8;
const BLOCK_ALIGN = 8;
const FREED_FLAG = 0x8000_0000;
const SIZE_MASK = 0x7fff_ffff;
const MAX_ARENAS = 64;

// Arena record (Float64Array, one stride per arena).
const A_FIRST = 0;
const A_CURRENT = 1;
const A_TOP = 2;
const A_FRAME = 3;
const A_COUNT = 4;
const A_BYTES = 5;
const A_STRIDE = 6;

// Frame-start counters, after the shared ones (temp-counters.ts).
const FRAME_START_COUNT = TEMP_COUNTERS;
const FRAME_START_BYTES = TEMP_COUNTERS + 1;

// What a pointer turned out to be.
const LIVE = 0;
const NOT_BLOCK = 1;
const STALE = 2;
const FREED = 3;

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
 * Thread: a FrameAllocator belongs to one thread (the bump pointer is in JS
 * fields); give each worker its own.
 */
export class FrameAllocator implements Allocator, Checkable, StorageReporting {
  readonly name: string;
  readonly space: AddressSpace;
  /** Where the chunks come from. */
  readonly backing: Allocator;
  /** Bytes of a standard chunk, header included. */
  readonly chunkSize: number;
  /** Arenas in the ring: how many frames a block stays valid. */
  readonly arenas: number;
  /** True when recycled memory is filled and checked. */
  readonly debug: boolean;

  readonly #pool: ChunkPool;
  readonly #key: number;
  readonly #unsubscribe: () => void;
  readonly #unregisterReclaim: () => void;
  readonly #whoAllocate: string;
  readonly #whoDeallocate: string;
  readonly #whoReallocate: string;
  readonly #counters = new Float64Array(TEMP_COUNTERS + 2);
  readonly #ring: Float64Array;
  readonly #growth: FrameGrowthWatch;
  #u32: Uint32Array;
  #u8: Uint8Array;
  // Bump state of the current frame.
  #chunk = 0;
  #top = 0;
  #end = 0;
  #topPtr = 0;
  #frame = 0;
  #frameTag = 0;
  #arena = 0;
  #destroyed = false;
  // Set by #classify / #locate.
  #foundSize = 0;
  #foundAge = 0;
  #foundArena = -1;

  constructor(backing: Allocator, options: FrameAllocatorOptions = {}) {
    this.name = resolveName("FrameAllocator", options.name, "frame");
    const who = `FrameAllocator "${this.name}"`;
    this.chunkSize = resolveChunkSize(who, options.chunkSize);
    const arenas = options.arenas ?? 2;
    if (!Number.isInteger(arenas) || arenas < 1 || arenas > MAX_ARENAS) {
      throw new InvalidArgumentError(`${who}: option arenas must be an integer from 1 to ${MAX_ARENAS}, received ${describe(arenas)}.`);
    }
    this.arenas = arenas;
    this.debug = options.debug ?? false;
    const growth = resolveGrowthOptions(who, options.growthWarningFactor, options.onFrameGrowth);
    this.#growth = new FrameGrowthWatch(growth.factor, growth.handler, this.chunkSize);
    this.backing = backing;
    this.space = backing.space;
    this.#key = nextAllocatorKey();
    this.#pool = new ChunkPool(backing, {
      chunkSize: this.chunkSize,
      key: this.#key,
      name: this.name,
      fillByte: this.debug ? FRAME_FREED_BYTE : -1,
    });
    this.#ring = new Float64Array(arenas * A_STRIDE);
    this.#whoAllocate = `${this.name}.allocate`;
    this.#whoDeallocate = `${this.name}.deallocate`;
    this.#whoReallocate = `${this.name}.reallocate`;
    this.#u32 = this.space.u32;
    this.#u8 = this.space.u8;
    this.#unsubscribe = this.space.onGrow((space) => {
      this.#u32 = space.u32;
      this.#u8 = space.u8;
    });
    this.#unregisterReclaim = registerReclaim(backing, () => this.reclaim());
  }

  /** The current frame number: 0 until the first `beginFrame()`. */
  get frame(): number {
    return this.#frame;
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
    if (this.#destroyed) throw this.#destroyedError("beginFrame");
    const ring = this.#ring;
    const c = this.#counters;
    const u32 = this.#u32;
    // Close the frame that ends.
    let o = this.#arena * A_STRIDE;
    ring[o + A_CURRENT] = this.#chunk;
    ring[o + A_TOP] = this.#top;
    ring[o + A_COUNT] = c[LIVE_COUNT]! - c[FRAME_START_COUNT]!;
    ring[o + A_BYTES] = c[LIVE_BYTES]! - c[FRAME_START_BYTES]!;
    this.#growth.frameEnded(ring[o + A_BYTES]!);
    if (this.#chunk !== 0) u32[(this.#chunk + C_TOP) >>> 2] = this.#top;
    // Recycle the oldest arena.
    const next = this.#arena + 1 === this.arenas ? 0 : this.#arena + 1;
    o = next * A_STRIDE;
    const first = ring[o + A_FIRST]!;
    const last = ring[o + A_CURRENT]!;
    const fault = this.debug && first !== 0 ? this.#wipeArena(next) : undefined;
    if (last !== first) {
      this.#pool.giveBack(u32[(first + C_NEXT) >>> 2]!, last);
      u32[(first + C_NEXT) >>> 2] = 0;
    }
    notePeak(this.#counters);
    c[FREES] = c[FREES]! + ring[o + A_COUNT]!;
    c[LIVE_COUNT] = c[LIVE_COUNT]! - ring[o + A_COUNT]!;
    c[LIVE_BYTES] = c[LIVE_BYTES]! - ring[o + A_BYTES]!;
    // Begin the new frame in it.
    const frame = ++this.#frame;
    this.#frameTag = frame | 0;
    this.#arena = next;
    ring[o + A_FRAME] = frame;
    ring[o + A_CURRENT] = first;
    ring[o + A_COUNT] = 0;
    ring[o + A_BYTES] = 0;
    this.#chunk = first;
    this.#topPtr = 0;
    if (first !== 0) {
      this.#top = first + CHUNK_HEADER;
      this.#end = first + u32[(first + C_BYTES) >>> 2]!;
      u32[(first + C_OWNER) >>> 2] = this.#frameTag;
    } else {
      this.#top = 0;
      this.#end = 0;
    }
    c[FRAME_START_COUNT] = c[LIVE_COUNT]!;
    c[FRAME_START_BYTES] = c[LIVE_BYTES]!;
    if (fault !== undefined) throw fault;
    return frame;
  }

  // ---------------------------------------------------------------- Allocator

  /** Bumps a block off the current frame's arena: O(1); chains a chunk when the current one is full. */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    validateAllocation(this.#whoAllocate, size, align);
    const a = align > BLOCK_ALIGN ? align : BLOCK_ALIGN;
    const top = this.#top;
    const ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    if (ptr + size > this.#end) return this.#allocateSlow(size, a, align);
    if (this.debug) this.#verifyFree(this.#chunk, top, ((ptr + size + 7) & -8) >>> 0, "before handing it out again");
    this.#place(top, ptr, size);
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
    validatePointerShape(this.#whoDeallocate, ptr);
    const code = this.#classify(ptr);
    if (code !== LIVE) throw this.#pointerError(this.#whoDeallocate, ptr, code, true);
    if (this.debug) this.#u32[(ptr - BLOCK_HEADER) >>> 2] = (this.#foundSize | FREED_FLAG) >>> 0;
  }

  /**
   * The most recent block of the current frame grows or shrinks in place
   * while its chunk has room; any other block shrinks by keeping its size
   * (nothing is written) and grows by moving to a new block in the current
   * frame (the old one stays until its frame is recycled).
   */
  reallocate(ptr: Ptr, newSize: number, align: number = DEFAULT_ALIGN): Ptr {
    validateAllocation(this.#whoReallocate, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    validatePointerShape(this.#whoReallocate, ptr);
    const code = this.#classify(ptr);
    if (code !== LIVE) throw this.#pointerError(this.#whoReallocate, ptr, code, false);
    const size = this.#foundSize;
    const a = align > BLOCK_ALIGN ? align : BLOCK_ALIGN;
    if ((ptr & (a - 1)) === 0) {
      if (ptr === this.#topPtr) {
        if (ptr + newSize <= this.#end) {
          const top = this.#top;
          const newTop = ((ptr + newSize + 7) & -8) >>> 0;
          if (this.debug) {
            if (newTop > top) this.#verifyFree(this.#chunk, top, newTop, "before growing a block into it");
            else if (newTop < top) this.#u8.fill(FRAME_FREED_BYTE, newTop, top);
          }
          const u32 = this.#u32;
          const w = (ptr - BLOCK_HEADER) >>> 2;
          u32[w] = newSize;
          u32[w + 1] = this.#frameTag ^ stampHash(ptr, newSize, this.#key);
          this.#top = newTop;
          resizeLive(this.#counters, newSize - size);
          return ptr;
        }
      } else if (newSize <= size) {
        return ptr;
      }
    }
    const moved = this.allocate(newSize, align);
    this.#u8.copyWithin(moved, ptr, ptr + Math.min(size, newSize));
    if (this.debug) this.#u32[(ptr - BLOCK_HEADER) >>> 2] = (size | FREED_FLAG) >>> 0;
    return moved;
  }

  /** The size asked for (or last reallocated to) of a live block. */
  allocatedSize(ptr: Ptr): number {
    const who = `${this.name}.allocatedSize`;
    validatePointerShape(who, ptr);
    const code = this.#classify(ptr);
    if (code !== LIVE) throw this.#pointerError(who, ptr, code, false);
    return this.#foundSize;
  }

  /** True when `ptr` is a live block (of one of the last `arenas` frames; in debug mode, not deallocated). */
  owns(ptr: Ptr): boolean {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr === 0) return false;
    return this.#classify(ptr) === LIVE;
  }

  /**
   * liveBytes/liveCount count the sizes asked for of blocks whose frame has
   * not been recycled (deallocate changes neither); freeCount counts blocks
   * reclaimed by recycling.
   */
  stats(): AllocatorStats {
    return tempStats(this.#counters, this.#pool.reservedBytes);
  }

  /** Forgets the peak: peakLiveBytes restarts from the current liveBytes. */
  resetPeak(): void {
    resetPeak(this.#counters);
  }

  // ------------------------------------------------------------- frame checks

  /**
   * Throws unless `ptr` is a live block: InvalidPointerError naming the frame
   * a stale pointer came from and the current frame, or saying why else it
   * is not a block (not in any chunk, inside a block, freed in debug mode).
   */
  assertLive(ptr: Ptr): void {
    const who = `${this.name}.assertLive`;
    validatePointerShape(who, ptr);
    const code = this.#classify(ptr);
    if (code !== LIVE) throw this.#pointerError(who, ptr, code, false);
  }

  /** The frame a live block was allocated in; throws like {@link assertLive} otherwise. */
  frameOf(ptr: Ptr): number {
    const who = `${this.name}.frameOf`;
    validatePointerShape(who, ptr);
    const code = this.#classify(ptr);
    if (code !== LIVE) throw this.#pointerError(who, ptr, code, false);
    return this.#frame - this.#foundAge;
  }

  /**
   * Walks every arena's chain block by block and the spare list; throws
   * CorruptionError at the first broken invariant (a header whose stamp does
   * not decode to its arena's frame, a bad padding record or chain link,
   * counters that disagree with the blocks, chunk bytes that do not add up to
   * reservedBytes). In debug mode it also verifies that all free memory (past
   * each chunk's top, and every spare chunk) still holds
   * {@link FRAME_FREED_BYTE}: a stale write is reported with its address,
   * offset and the frame that owned the memory. O(blocks + chunks), plus
   * O(free bytes) in debug mode.
   */
  check(): void {
    const u32 = this.space.u32;
    const pool = this.#pool;
    const c = this.#counters;
    let held = 0;
    let chunks = 0;
    for (let j = 0; j < this.arenas; j++) {
      const o = j * A_STRIDE;
      const current = j === this.#arena;
      const first = this.#ring[o + A_FIRST]!;
      const last = current ? this.#chunk : this.#ring[o + A_CURRENT]!;
      const tag = current ? this.#frameTag : this.#ring[o + A_FRAME]! | 0;
      let count = 0;
      let bytes = 0;
      if (first === 0 && last !== 0) throw this.#corrupt(`arena ${j} has a current chunk ${hex(last)} but no first chunk`);
      for (let ch = first; ch !== 0; ch = u32[(ch + C_NEXT) >>> 2]!) {
        if (++chunks > pool.chunkCount) throw this.#corrupt(`arena ${j}'s chain loops`);
        if (u32[(ch + C_MAGIC) >>> 2] !== pool.magicWord) throw this.#corrupt(`chunk ${hex(ch)} of arena ${j} has lost its magic word`);
        const chunkBytes = u32[(ch + C_BYTES) >>> 2]!;
        held += chunkBytes;
        const isLast = ch === last;
        if (isLast !== (u32[(ch + C_NEXT) >>> 2] === 0)) throw this.#corrupt(`arena ${j}'s chain does not end at its current chunk ${hex(last)}`);
        const limit = isLast && current ? this.#top : u32[(ch + C_TOP) >>> 2]!;
        if (limit < ch + CHUNK_HEADER || limit > ch + chunkBytes) throw this.#corrupt(`chunk ${hex(ch)} has its top at ${hex(limit)}, outside the chunk`);
        if (isLast && current && this.#end !== ch + chunkBytes) throw this.#corrupt(`the bump end ${hex(this.#end)} is not the end of the current chunk`);
        let q = ch + CHUNK_HEADER;
        while (q < limit) {
          const w = q >>> 2;
          if (u32[w] === PAD_WORD) {
            const gap = u32[w + 1]!;
            if (gap < 8 || gap % 8 !== 0 || q + gap > limit) throw this.#corrupt(`bad padding record at ${hex(q)} (${gap} B)`);
            q += gap;
            continue;
          }
          const ptr = q + BLOCK_HEADER;
          const size = u32[w]! & SIZE_MASK;
          if (u32[w]! >= FREED_FLAG && !this.debug) throw this.#corrupt(`block ${hex(ptr)} has its freed bit set outside debug mode`);
          const f = (u32[w + 1]! ^ stampHash(ptr, size, this.#key)) | 0;
          if (f !== tag) throw this.#corrupt(`the header of block ${hex(ptr)} in arena ${j} was overwritten (it decodes to frame tag ${f >>> 0}, expected ${tag >>> 0})`);
          if (ptr + size > limit) throw this.#corrupt(`block ${hex(ptr)} (${size} B) runs past its chunk's top ${hex(limit)}`);
          count++;
          bytes += size;
          q = ((ptr + size + 7) & -8) >>> 0;
        }
        if (q !== limit) throw this.#corrupt(`the blocks of chunk ${hex(ch)} end at ${hex(q)}, its top is ${hex(limit)}`);
        if (this.debug) this.#checkFill(ch, limit, ch + chunkBytes, "found by check()");
        if (isLast) break;
      }
      const wantCount = current ? c[LIVE_COUNT]! - c[FRAME_START_COUNT]! : this.#ring[o + A_COUNT]!;
      const wantBytes = current ? c[LIVE_BYTES]! - c[FRAME_START_BYTES]! : this.#ring[o + A_BYTES]!;
      if (count !== wantCount || bytes !== wantBytes) {
        throw this.#corrupt(`arena ${j} holds ${count} blocks (${bytes} B), its counters say ${wantCount} (${wantBytes} B)`);
      }
    }
    for (let s = pool.spareHead; s !== 0; s = u32[(s + C_NEXT) >>> 2]!) {
      if (++chunks > pool.chunkCount) throw this.#corrupt(`the spare list loops`);
      if (u32[(s + C_MAGIC) >>> 2] !== pool.magicWord) throw this.#corrupt(`spare chunk ${hex(s)} has lost its magic word`);
      const chunkBytes = u32[(s + C_BYTES) >>> 2]!;
      held += chunkBytes;
      if (this.debug) this.#checkFill(s, s + CHUNK_HEADER, s + chunkBytes, "found by check() in a spare chunk");
    }
    if (held !== pool.reservedBytes) throw this.#corrupt(`chunks add up to ${held} B, reservedBytes says ${pool.reservedBytes}`);
  }

  /** Free space: the rest of the current chunk and every spare chunk. */
  storageReport(): StorageReport {
    const u32 = this.space.u32;
    const regions: number[] = [];
    if (this.#chunk !== 0) regions.push(this.#end - this.#top);
    for (let s = this.#pool.spareHead; s !== 0; s = u32[(s + C_NEXT) >>> 2]!) regions.push(u32[(s + C_BYTES) >>> 2]! - CHUNK_HEADER);
    return buildStorageReport(this.#pool.reservedBytes, this.#counters[LIVE_BYTES]!, regions, BLOCK_HEADER);
  }

  /**
   * Returns every spare chunk to the backing, and the chunks of every arena
   * that holds no block (a recycled frame's first chunk, kept for reuse, and
   * the current frame's while it has allocated nothing); returns the bytes
   * given back. Arenas holding blocks keep their chunks. In debug mode the
   * spares are checked first (a stale write found is thrown after trimming).
   */
  trim(): number {
    let fault: CorruptionError | undefined;
    if (this.debug) {
      const u32 = this.space.u32;
      for (let s = this.#pool.spareHead; s !== 0 && fault === undefined; s = u32[(s + C_NEXT) >>> 2]!) {
        fault = this.#findFillFault(s, s + CHUNK_HEADER, s + u32[(s + C_BYTES) >>> 2]!, "found by trim() in a spare chunk");
      }
    }
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
    if (this.#destroyed) return 0;
    let freed = this.#pool.trim();
    const ring = this.#ring;
    const c = this.#counters;
    for (let j = 0; j < this.arenas; j++) {
      const o = j * A_STRIDE;
      const first = ring[o + A_FIRST]!;
      if (first === 0) continue;
      const current = j === this.#arena;
      if (current ? c[LIVE_COUNT] !== c[FRAME_START_COUNT] : ring[o + A_COUNT] !== 0) continue;
      freed += this.#freeChain(first, current ? this.#chunk : ring[o + A_CURRENT]!);
      ring[o + A_FIRST] = 0;
      ring[o + A_CURRENT] = 0;
      ring[o + A_TOP] = 0;
      if (current) this.#chunk = this.#top = this.#end = this.#topPtr = 0;
    }
    return freed;
  }

  /** Returns the chunks from `first` through `last` (linked through their headers) to the backing. */
  #freeChain(first: number, last: number): number {
    let freed = 0;
    for (let ch = first; ch !== 0; ) {
      const next = ch === last ? 0 : this.#u32[(ch + C_NEXT) >>> 2]!;
      freed += this.#pool.free(ch);
      ch = next;
    }
    return freed;
  }

  /** Returns every chunk to the backing and stops listening to the space. The allocator is unusable afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#unregisterReclaim();
    const u32 = this.space.u32;
    this.#ring[this.#arena * A_STRIDE + A_CURRENT] = this.#chunk;
    for (let j = 0; j < this.arenas; j++) {
      let ch = this.#ring[j * A_STRIDE + A_FIRST]!;
      while (ch !== 0) {
        const next = u32[(ch + C_NEXT) >>> 2]!;
        this.#pool.free(ch);
        ch = next;
      }
      this.#ring.fill(0, j * A_STRIDE, (j + 1) * A_STRIDE);
    }
    this.#pool.trim();
    this.#unsubscribe();
    this.#chunk = this.#top = this.#end = this.#topPtr = 0;
    notePeak(this.#counters);
    const c = this.#counters;
    c[FREES] = c[FREES]! + c[LIVE_COUNT]!;
    c[LIVE_COUNT] = c[LIVE_BYTES] = c[FRAME_START_COUNT] = c[FRAME_START_BYTES] = 0;
  }

  /** Same as {@link destroy}, for `using`. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  // ---------------------------------------------------------------- internals

  #place(top: number, ptr: number, size: number): void {
    const u32 = this.#u32;
    const hdr = ptr - BLOCK_HEADER;
    if (hdr !== top) {
      u32[top >>> 2] = PAD_WORD;
      u32[(top >>> 2) + 1] = hdr - top;
    }
    const w = hdr >>> 2;
    u32[w] = size;
    u32[w + 1] = this.#frameTag ^ stampHash(ptr, size, this.#key);
    this.#top = ((ptr + size + 7) & -8) >>> 0;
    this.#topPtr = ptr;
    const c = this.#counters;
    c[LIVE_COUNT]!++;
    c[LIVE_BYTES] = c[LIVE_BYTES]! + size;
  }

  #allocateSlow(size: number, a: number, align: number): Ptr {
    if (this.#destroyed) throw this.#destroyedError("allocate");
    const need = CHUNK_HEADER + BLOCK_HEADER + (a - BLOCK_ALIGN) + size;
    const chunk = this.#pool.acquire(need, this.#whoAllocate, size, align);
    const top = chunk + CHUNK_HEADER;
    const ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    if (this.debug) {
      try {
        this.#verifyFree(chunk, top, ((ptr + size + 7) & -8) >>> 0, "before handing it out again");
      } catch (fault) {
        this.#pool.giveBack(chunk, chunk);
        throw fault;
      }
    }
    // Nothing below can throw: the arena only changes once the chunk is in hand.
    const u32 = this.#u32;
    if (this.#chunk !== 0) {
      u32[(this.#chunk + C_NEXT) >>> 2] = chunk;
      u32[(this.#chunk + C_TOP) >>> 2] = this.#top;
    } else {
      this.#ring[this.#arena * A_STRIDE + A_FIRST] = chunk;
    }
    u32[(chunk + C_OWNER) >>> 2] = this.#frameTag;
    this.#chunk = chunk;
    this.#end = chunk + u32[(chunk + C_BYTES) >>> 2]!;
    this.#place(top, ptr, size);
    const c = this.#counters;
    const bytes = c[LIVE_BYTES]! - c[FRAME_START_BYTES]!;
    if (bytes > this.#growth.limit) this.#growth.exceeded(this.name, this.#frame, bytes);
    return ptr;
  }

  /** LIVE, NOT_BLOCK, STALE or FREED for a well-formed pointer; sets #foundSize and #foundAge. */
  #classify(ptr: number): number {
    if ((ptr & 7) !== 0 || ptr < CHUNK_HEADER + BLOCK_HEADER || ptr > this.#u8.length || this.#destroyed) return NOT_BLOCK;
    const u32 = this.#u32;
    const w = (ptr - BLOCK_HEADER) >>> 2;
    const word = u32[w]!;
    const size = word & SIZE_MASK;
    if (word === PAD_WORD || ptr + size > this.#u8.length) return NOT_BLOCK;
    const age = (this.#frameTag - (u32[w + 1]! ^ stampHash(ptr, size, this.#key))) >>> 0;
    this.#foundSize = size;
    this.#foundAge = age;
    if (age < this.arenas) {
      if (word < FREED_FLAG) return LIVE;
      return this.debug ? FREED : NOT_BLOCK;
    }
    return age <= this.#frame ? STALE : NOT_BLOCK;
  }

  #pointerError(who: string, ptr: number, code: number, freeing: boolean): Error {
    if (this.#destroyed) return this.#destroyedError(who.slice(this.name.length + 1));
    const now = this.#frame;
    if (code === FREED) {
      const what = `${hex(ptr)} (${this.#foundSize} B, allocated in frame ${now - this.#foundAge}) was already deallocated`;
      return freeing
        ? new DoubleFreeError(`${who}: ${what}. Frame memory returns when its frame is recycled: deallocate it once, or not at all.`)
        : new InvalidPointerError(`${who}: ${what}; it is not a live block.`);
    }
    if (code === STALE) {
      const from = now - this.#foundAge;
      return new InvalidPointerError(
        `${who}: ${hex(ptr)} is a stale frame pointer: it was allocated in frame ${from} (${this.#foundSize} B), and frame memory stays valid ` +
          `for ${this.arenas} frame${this.arenas === 1 ? "" : "s"} (through frame ${from + this.arenas - 1}); this is frame ${now}.\n` +
          `  Copy data that must live longer into a longer-lived allocator, or raise the arena count.`,
      );
    }
    // Not a block: say where the pointer lies, if anywhere in our chunks (a cold walk over the chunks).
    const chunk = this.#locate(ptr);
    if (chunk === 0) return invalidPointer(who, ptr, `not in any of its chunks; this is frame ${now}`);
    const u32 = this.space.u32;
    const history = this.#history(chunk, ptr);
    if (this.#foundArena < 0) {
      return new InvalidPointerError(
        `${who}: ${hex(ptr)} is a stale frame pointer: it lies in a spare chunk (${hex(chunk)}) whose frame was recycled${history}; this is frame ${now}.`,
      );
    }
    const j = this.#foundArena;
    const owner = this.#ring[j * A_STRIDE + A_FRAME]!;
    const inUseEnd = j === this.#arena && chunk === this.#chunk ? this.#top : u32[(chunk + C_TOP) >>> 2]!;
    if (ptr >= inUseEnd) {
      return new InvalidPointerError(
        `${who}: ${hex(ptr)} is a stale frame pointer: it lies past the blocks frame ${owner} has allocated in chunk ${hex(chunk)} (memory recycled${history}); this is frame ${now}.`,
      );
    }
    return new InvalidPointerError(
      `${who}: ${hex(ptr)} was not handed out by this allocator (it lies inside frame ${owner}'s memory in chunk ${hex(chunk)}, +${ptr - chunk}, ` +
        `but is not the start of a live block: an interior pointer, or a stale one whose memory frame ${owner} reused${history}); this is frame ${now}.`,
    );
  }

  /** ", it last held frame K's blocks" when debug mode recorded who used this memory before. */
  #history(chunk: number, addr: number): string {
    if (!this.debug) return "";
    const u32 = this.space.u32;
    const freedTag = u32[(chunk + C_FREED_FRAME) >>> 2]!;
    if (freedTag === NO_FRAME) return ", it never held a block before";
    const freed = this.#frameFromTag(freedTag);
    return addr < u32[(chunk + C_FREED_TOP) >>> 2]!
      ? `; it belonged to frame ${freed}, recycled when frame ${freed + this.arenas} began`
      : `; it lay past the blocks of frame ${freed} (older memory, recycled earlier)`;
  }

  /** The chunk holding `addr` (arena chains, then spares), or 0; sets #foundArena (-1: spare). Cold: walks every chunk. */
  #locate(addr: number): number {
    const u32 = this.space.u32;
    for (let j = 0; j < this.arenas; j++) {
      const last = j === this.#arena ? this.#chunk : this.#ring[j * A_STRIDE + A_CURRENT]!;
      for (let ch = this.#ring[j * A_STRIDE + A_FIRST]!; ch !== 0; ch = u32[(ch + C_NEXT) >>> 2]!) {
        if (addr >= ch + CHUNK_HEADER && addr <= ch + u32[(ch + C_BYTES) >>> 2]!) {
          this.#foundArena = j;
          return ch;
        }
        if (ch === last) break;
      }
    }
    for (let s = this.#pool.spareHead; s !== 0; s = u32[(s + C_NEXT) >>> 2]!) {
      if (addr >= s + CHUNK_HEADER && addr <= s + u32[(s + C_BYTES) >>> 2]!) {
        this.#foundArena = -1;
        return s;
      }
    }
    return 0;
  }

  /** The most recent frame number whose low 32 bits are `tag`. */
  #frameFromTag(tag: number): number {
    return this.#frame - ((this.#frameTag - tag) >>> 0);
  }

  /** Debug: throws (after refilling the range, so the allocator keeps working) unless [from, to) holds the freed pattern. */
  #verifyFree(chunk: number, from: number, to: number, when: string): void {
    const u32 = this.#u32;
    for (let i = from >>> 2, end = to >>> 2; i < end; i++) {
      if (u32[i] !== FREED_WORD) {
        const fault = this.#findFillFault(chunk, from, to, when)!;
        this.#u8.fill(FRAME_FREED_BYTE, from, to);
        throw fault;
      }
    }
  }

  /** Debug: throws unless [from, to) of `chunk` holds the freed pattern (check() does not repair). */
  #checkFill(chunk: number, from: number, to: number, when: string): void {
    const fault = this.#findFillFault(chunk, from, to, when);
    if (fault !== undefined) throw fault;
  }

  /** The CorruptionError for the first byte in [from, to) that is not FRAME_FREED_BYTE, or undefined. */
  #findFillFault(chunk: number, from: number, to: number, when: string): CorruptionError | undefined {
    const u8 = this.space.u8;
    for (let addr = from; addr < to; addr++) {
      if (u8[addr] !== FRAME_FREED_BYTE) return this.#fillFault(chunk, addr, u8[addr]!, when);
    }
    return undefined;
  }

  #fillFault(chunk: number, addr: number, found: number, when: string): CorruptionError {
    const u32 = this.space.u32;
    const freedTag = u32[(chunk + C_FREED_FRAME) >>> 2]!;
    let owner: string;
    if (freedTag === NO_FRAME) {
      owner = "no block had used this memory since the chunk was leased";
    } else {
      const freed = this.#frameFromTag(freedTag);
      owner =
        addr < u32[(chunk + C_FREED_TOP) >>> 2]!
          ? `it belonged to frame ${freed}, whose memory was recycled when frame ${freed + this.arenas} began`
          : `it lay past the blocks of frame ${freed} (older frame memory, or a write past the end of a block)`;
    }
    return new CorruptionError(
      `${this.name}: freed frame memory at ${hex(addr)} was written after its frame ended (${when}): ` +
        `offset +${addr - chunk} in chunk ${hex(chunk)}, expected 0x${FRAME_FREED_BYTE.toString(16)}, found 0x${found.toString(16).padStart(2, "0")}; ` +
        `${owner}; this is frame ${this.#frame}.\n` +
        `  A pointer kept past its frame was written through: check it with assertLive(ptr) where it is used, ` +
        `or copy the data into a longer-lived allocator.`,
    );
  }

  /**
   * Debug, at recycling: checks the free tail of each chunk of arena `j`,
   * records which frame used how much of it, and fills the used part with
   * the freed pattern (the whole chunk when its tail was written, which
   * repairs it). Returns the first fault found, if any.
   */
  #wipeArena(j: number): CorruptionError | undefined {
    const u32 = this.space.u32;
    const u8 = this.space.u8;
    const endingTag = this.#ring[j * A_STRIDE + A_FRAME]! >>> 0;
    const last = this.#ring[j * A_STRIDE + A_CURRENT]!;
    let fault: CorruptionError | undefined;
    for (let ch = this.#ring[j * A_STRIDE + A_FIRST]!; ch !== 0; ch = u32[(ch + C_NEXT) >>> 2]!) {
      const end = ch + u32[(ch + C_BYTES) >>> 2]!;
      const used = u32[(ch + C_TOP) >>> 2]!;
      const tailFault = this.#findFillFault(ch, used, end, "found when its arena was recycled");
      fault ??= tailFault;
      u8.fill(FRAME_FREED_BYTE, ch + CHUNK_HEADER, tailFault === undefined ? used : end);
      u32[(ch + C_FREED_FRAME) >>> 2] = endingTag;
      u32[(ch + C_FREED_TOP) >>> 2] = used;
      u32[(ch + C_TOP) >>> 2] = ch + CHUNK_HEADER;
      if (ch === last) break;
    }
    return fault;
  }

  #destroyedError(op: string): DestroyedError {
    return destroyedError(`${this.name}.${op}`, "this FrameAllocator was destroyed", "create a new one.");
  }

  #corrupt(what: string): CorruptionError {
    return new CorruptionError(`${this.name}: ${what}. (frame ${this.#frame}, ${formatBytes(this.#pool.reservedBytes)} in ${this.#pool.chunkCount} chunks)`);
  }
}
