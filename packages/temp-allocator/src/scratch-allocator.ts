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
  formatCount,
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
import { CHUNK_HEADER, C_BYTES, C_MAGIC, C_NEXT, C_OWNER, C_TOP, ChunkPool } from "./chunk-pool.js";
import { FREES, LIVE_BYTES, LIVE_COUNT, TEMP_COUNTERS, notePeak, resetPeak, resizeLive, tempStats } from "./temp-counters.js";
import { resolveChunkSize, resolveName, type ScratchAllocatorOptions } from "./options.js";
import { PAD_WORD, nextAllocatorKey, stampHash } from "./stamp.js";
import { buildStorageReport } from "./storage-report.js";
import { registerReclaim } from "./reclaim-hook.js";
import { scratchLeak } from "./scratch-leak.js";

/*
 * Block layout. Blocks are bumped upward through the chunks of the stack's
 * chain; each carries a 16-byte header right below the pointer handed out:
 *
 *   ptr-16  u32 size    bytes asked for (< 2^31)
 *   ptr-12  u32 index   the block's position in the stack (0 = bottom): the
 *                       live blocks are exactly #live[0 .. liveCount), so the
 *                       block below it, which deallocate(top) pops to, is
 *                       #live[index - 1]
 *   ptr-8   u32 depth   index of the block's chunk in the stack's chain
 *   ptr-4   u32 check   stampHash(ptr, size ^ index ^ depth mixes, key): a pointer
 *                       whose header does not match is not a block of this stack
 *
 * Liveness is decided by #live, never by the header alone: release(mark) is
 * O(1) and leaves the released blocks' headers in memory, where a later
 * block's padding or payload can cover them intact. A pointer is live only
 * when its header's index is below liveCount and #live[index] is that pointer.
 *
 * Block starts are 8-aligned (16 B header + 8-aligned top), so any align <= 8
 * costs no padding. A larger align leaves a gap (a multiple of 8) between the
 * old top and the header; the gap starts with a padding record
 * [PAD_WORD, gap bytes] so check() can walk every chunk block by block.
 *
 *   chunk            top (JS field)                          end (JS field)
 *   | hdr |[h|block]...[pad][h|block]|  free for bumping ...  |
 *
 * Only the bump state lives in JS fields (top, end, the top block, the
 * current chain depth), plus two small typed arrays: chunk bases by depth (so
 * a pointer's header leads to its chunk in O(1)) and the mark stack. The
 * chain itself is linked through the chunk headers.
 */
const BLOCK_HEADER = 16;
const BLOCK_ALIGN = 8;

/*
 * Marks are plain numbers: mark = seq * 2^10 + index.
 *   index (10 bits): the mark's slot in the mark stack (up to 1,024 nested marks)
 *   seq   (20 bits): a sequence number shared by every ScratchAllocator in this
 *                    JS realm, 1..2^20-1, so marks issued close together differ
 * 20 + 10 = 30 bits: every mark is a small integer (a V8 Smi), so passing one
 * around never allocates. release(mark) is valid only when slot `index` is
 * below the current depth and still holds this exact value, which refuses a
 * mark released twice, a mark dropped by releasing an earlier one or by
 * reset(), and a mark from another ScratchAllocator. (The sequence wraps
 * after about a million marks; a stale mark would have to be a multiple of
 * that many marks old, at the same depth, to be mistaken for a live one.)
 */
const MARK_INDEX_LIMIT = 1 << 10;
const MARK_SEQ_LIMIT = 1 << 20;
let markSequence = 0;

// Mark stack record (Float64Array, one stride per live mark).
const M_VALUE = 0;
const M_TOP = 1;
const M_TOP_PTR = 2;
const M_DEPTH = 3;
const M_LIVE_COUNT = 4;
const M_LIVE_BYTES = 5;
const M_STRIDE = 6;


// What a pointer turned out to be.
const LIVE = 0;
const NOT_BLOCK = 1;
const FREED = 2;

declare const scratchMarkBrand: unique symbol;
/**
 * A position in a {@link ScratchAllocator}'s stack, from `mark()`. A plain
 * number at run time (no allocation per mark); the brand keeps other numbers
 * from being passed by mistake.
 */
export type ScratchMark = number & { readonly [scratchMarkBrand]: "ScratchMark" };

function blockCheck(ptr: number, size: number, index: number, depth: number, key: number): number {
  return stampHash(ptr, size ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(depth + 1, 0x27d4eb2f), key) >>> 0;
}

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
 * this stack's live blocks in O(1) (a stamped header plus the chunk and top
 * it must lie below); a foreign or interior pointer throws
 * InvalidPointerError, a block already popped or released throws
 * DoubleFreeError / InvalidPointerError. A pointer into memory that was
 * released and handed out again cannot be told from the new block there.
 *
 * Thread: a ScratchAllocator belongs to one thread. It keeps its bump pointer
 * in JS fields; give each worker its own.
 */
export class ScratchAllocator implements Allocator, Checkable, StorageReporting {
  readonly name: string;
  readonly space: AddressSpace;
  /** Where the chunks come from. */
  readonly backing: Allocator;
  /** Bytes of a standard chunk, header included. */
  readonly chunkSize: number;

  readonly #pool: ChunkPool;
  readonly #key: number;
  readonly #unsubscribe: () => void;
  readonly #unregisterReclaim: () => void;
  readonly #whoAllocate: string;
  readonly #whoDeallocate: string;
  readonly #whoReallocate: string;
  readonly #counters = new Float64Array(TEMP_COUNTERS);
  #u32: Uint32Array;
  #u8: Uint8Array;
  // Bump state: the next free byte and the end of the current chunk.
  #top = 0;
  #end = 0;
  // The most recent live block (0: none) and the one the innermost mark protects.
  #topPtr = 0;
  #floorPtr = 0;
  // Index of the current chunk in the chain (-1 before the first chunk).
  #depth = -1;
  #bases = new Int32Array(16);
  // The live blocks by stack position: #live[i] for i < liveCount (grows by doubling, never shrinks).
  #live = new Uint32Array(64);
  #marks = new Float64Array(16 * M_STRIDE);
  #markCount = 0;
  #destroyed = false;
  // Set by #classify.
  #foundSize = 0;

  constructor(backing: Allocator, options: ScratchAllocatorOptions = {}) {
    this.name = resolveName("ScratchAllocator", options.name, "scratch");
    this.chunkSize = resolveChunkSize(`ScratchAllocator "${this.name}"`, options.chunkSize);
    this.backing = backing;
    this.space = backing.space;
    this.#key = nextAllocatorKey();
    this.#pool = new ChunkPool(backing, { chunkSize: this.chunkSize, key: this.#key, name: this.name, fillByte: -1 });
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

  // ---------------------------------------------------------------- Allocator

  /** Bumps a block off the top of the stack: O(1); chains a chunk when the current one is full. */
  allocate(size: number, align: number = DEFAULT_ALIGN): Ptr {
    validateAllocation(this.#whoAllocate, size, align);
    const a = align > BLOCK_ALIGN ? align : BLOCK_ALIGN;
    const top = this.#top;
    const ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    if (ptr + size > this.#end) return this.#allocateSlow(size, a, align);
    this.#place(top, ptr, size);
    return ptr;
  }

  /**
   * Pops the most recent block; any other live block is a no-op (it is freed
   * by the next `release`/`reset` that covers it). 0 is a no-op. Throws
   * InvalidPointerError for a pointer that is not a block of this stack and
   * DoubleFreeError for one already popped or released.
   */
  deallocate(ptr: Ptr): void {
    if (ptr === this.#topPtr) {
      if (ptr !== this.#floorPtr) this.#pop();
      return;
    }
    if (ptr === 0) return;
    validatePointerShape(this.#whoDeallocate, ptr);
    const code = this.#classify(ptr);
    if (code !== LIVE) throw this.#pointerError(this.#whoDeallocate, ptr, code, true);
  }

  /**
   * The most recent block grows or shrinks in place while its chunk has room;
   * any other block shrinks by keeping its size (nothing is written), and
   * grows by moving to a new block on top (the old one stays until released).
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
      if (ptr === this.#topPtr && ptr !== this.#floorPtr) {
        if (ptr + newSize <= this.#end) {
          const u32 = this.#u32;
          const w = (ptr - BLOCK_HEADER) >>> 2;
          u32[w] = newSize;
          u32[w + 3] = blockCheck(ptr, newSize, u32[w + 1]!, u32[w + 2]!, this.#key);
          this.#top = ((ptr + newSize + 7) & -8) >>> 0;
          resizeLive(this.#counters, newSize - size);
          return ptr;
        }
      } else if (newSize <= size) {
        return ptr;
      }
    }
    const moved = this.allocate(newSize, align);
    this.#u8.copyWithin(moved, ptr, ptr + Math.min(size, newSize));
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

  /** True when `ptr` is a live block of this stack. */
  owns(ptr: Ptr): boolean {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr === 0) return false;
    return this.#classify(ptr) === LIVE;
  }

  /**
   * liveBytes/liveCount count the sizes asked for of blocks not yet popped,
   * released or reset (a no-op deallocate leaves its block counted);
   * freeCount counts blocks popped, released or reset.
   */
  stats(): AllocatorStats {
    return tempStats(this.#counters, this.#pool.reservedBytes);
  }

  /** Forgets the peak: peakLiveBytes restarts from the current liveBytes. */
  resetPeak(): void {
    resetPeak(this.#counters);
  }

  // -------------------------------------------------------------------- marks

  /** Remembers the current top. O(1), allocation-free: the mark is a number (see the bit budget above). */
  mark(): ScratchMark {
    if (this.#destroyed) throw this.#destroyedError("mark");
    const index = this.#markCount;
    if (index >= MARK_INDEX_LIMIT) {
      throw new InvalidArgumentError(
        `${this.name}.mark: ${formatCount(MARK_INDEX_LIMIT)} marks are live at once; release the marks you no longer need (or reset()).`,
      );
    }
    if ((index + 1) * M_STRIDE > this.#marks.length) {
      const grown = new Float64Array(this.#marks.length * 2);
      grown.set(this.#marks);
      this.#marks = grown;
    }
    markSequence = markSequence + 1 < MARK_SEQ_LIMIT ? markSequence + 1 : 1;
    const value = markSequence * MARK_INDEX_LIMIT + index;
    const m = this.#marks;
    const o = index * M_STRIDE;
    const c = this.#counters;
    m[o + M_VALUE] = value;
    m[o + M_TOP] = this.#top;
    m[o + M_TOP_PTR] = this.#topPtr;
    m[o + M_DEPTH] = this.#depth;
    m[o + M_LIVE_COUNT] = c[LIVE_COUNT]!;
    m[o + M_LIVE_BYTES] = c[LIVE_BYTES]!;
    this.#markCount = index + 1;
    this.#floorPtr = this.#topPtr;
    return value as ScratchMark;
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
    if (this.#destroyed) throw this.#destroyedError("release");
    const index = m % MARK_INDEX_LIMIT;
    const marks = this.#marks;
    const o = index * M_STRIDE;
    if (index >= this.#markCount || marks[o + M_VALUE] !== m) throw this.#staleMark(m, index);
    const depth = marks[o + M_DEPTH]!;
    if (this.#depth >= 0) {
      const target = depth < 0 ? 0 : depth;
      if (target < this.#depth) this.#unwindTo(target);
      this.#top = depth < 0 ? this.#bases[0]! + CHUNK_HEADER : marks[o + M_TOP]!;
    }
    this.#topPtr = marks[o + M_TOP_PTR]!;
    notePeak(this.#counters);
    const c = this.#counters;
    c[FREES] = c[FREES]! + c[LIVE_COUNT]! - marks[o + M_LIVE_COUNT]!;
    c[LIVE_COUNT] = marks[o + M_LIVE_COUNT]!;
    c[LIVE_BYTES] = marks[o + M_LIVE_BYTES]!;
    this.#markCount = index;
    this.#floorPtr = index > 0 ? marks[o - M_STRIDE + M_TOP_PTR]! : 0;
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
    if (this.#destroyed) throw this.#destroyedError("reset");
    if (this.#depth >= 0) {
      if (this.#depth > 0) this.#unwindTo(0);
      this.#top = this.#bases[0]! + CHUNK_HEADER;
    }
    notePeak(this.#counters);
    const c = this.#counters;
    c[FREES] = c[FREES]! + c[LIVE_COUNT]!;
    c[LIVE_COUNT] = 0;
    c[LIVE_BYTES] = 0;
    this.#topPtr = 0;
    this.#floorPtr = 0;
    this.#markCount = 0;
  }

  /** Live marks (nesting depth). */
  get markDepth(): number {
    return this.#markCount;
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
    const c = this.#counters;
    const count = c[LIVE_COUNT]!;
    if (this.#markCount === 0 && count === 0) return;
    throw scratchLeak(this.name, this.#markCount, this.#live.subarray(0, count), this.space.u32, BLOCK_HEADER);
  }

  /**
   * Returns every spare chunk to the backing, and the first chunk too when
   * the stack is empty (no block live, no mark held); returns the bytes given
   * back. Chunks that hold live blocks or a mark's position stay.
   */
  trim(): number {
    if (this.#destroyed) return 0;
    let freed = this.#pool.trim();
    if (this.#depth >= 0 && this.#markCount === 0 && this.#counters[LIVE_COUNT] === 0) {
      for (let d = this.#depth; d >= 0; d--) freed += this.#pool.free(this.#bases[d]!);
      this.#depth = -1;
      this.#top = this.#end = this.#topPtr = this.#floorPtr = 0;
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

  /** Returns every chunk to the backing and stops listening to the space. The stack is unusable afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#unregisterReclaim();
    for (let d = this.#depth; d >= 0; d--) this.#pool.free(this.#bases[d]!);
    this.#pool.trim();
    this.#unsubscribe();
    this.#depth = -1;
    this.#top = this.#end = this.#topPtr = this.#floorPtr = 0;
    this.#markCount = 0;
    notePeak(this.#counters);
    const c = this.#counters;
    c[FREES] = c[FREES]! + c[LIVE_COUNT]!;
    c[LIVE_COUNT] = c[LIVE_BYTES] = 0;
  }

  /** Same as {@link destroy}, for `using`. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  // ------------------------------------------------------------ introspection

  /**
   * Walks every chunk of the chain block by block and the spare list; throws
   * CorruptionError at the first broken invariant: a header whose check,
   * depth or back link is wrong, a padding record out of place, counters that
   * disagree with the blocks, a mark outside the stack, or chunk bytes that do
   * not add up to reservedBytes. O(blocks + chunks).
   */
  check(): void {
    const u32 = this.space.u32;
    const pool = this.#pool;
    const live = this.#live;
    let prev = 0;
    let count = 0;
    let bytes = 0;
    let held = 0;
    for (let d = 0; d <= this.#depth; d++) {
      const base = this.#bases[d]!;
      const chunkBytes = u32[(base + C_BYTES) >>> 2]!;
      if (u32[(base + C_MAGIC) >>> 2] !== pool.magicWord) throw this.#corrupt(`chunk ${d} at ${hex(base)} has lost its magic word`);
      if (u32[(base + C_OWNER) >>> 2] !== d) throw this.#corrupt(`chunk ${d} at ${hex(base)} says it is at depth ${u32[(base + C_OWNER) >>> 2]}`);
      const next = u32[(base + C_NEXT) >>> 2]!;
      const wantNext = d < this.#depth ? this.#bases[d + 1]! : 0;
      if (next !== wantNext) throw this.#corrupt(`chunk ${d} at ${hex(base)} links to ${hex(next)}, expected ${hex(wantNext)}`);
      const limit = d === this.#depth ? this.#top : u32[(base + C_TOP) >>> 2]!;
      if (limit < base + CHUNK_HEADER || limit > base + chunkBytes) {
        throw this.#corrupt(`chunk ${d} at ${hex(base)} (${chunkBytes} B) has its top at ${hex(limit)}, outside the chunk`);
      }
      if (d === this.#depth && this.#end !== base + chunkBytes) throw this.#corrupt(`the bump end ${hex(this.#end)} is not the end of the current chunk`);
      held += chunkBytes;
      let q = base + CHUNK_HEADER;
      while (q < limit) {
        const w = q >>> 2;
        if (u32[w] === PAD_WORD) {
          const gap = u32[w + 1]!;
          if (gap < 8 || gap % 8 !== 0 || q + gap > limit) throw this.#corrupt(`bad padding record at ${hex(q)} (${gap} B)`);
          q += gap;
          continue;
        }
        const ptr = q + BLOCK_HEADER;
        const size = u32[w]!;
        if (u32[w + 3] !== blockCheck(ptr, size, u32[w + 1]!, u32[w + 2]!, this.#key)) {
          throw this.#corrupt(`the header of block ${hex(ptr)} was overwritten (found size ${size}, check ${hex(u32[w + 3]!)})`);
        }
        if (u32[w + 2] !== d) throw this.#corrupt(`block ${hex(ptr)} lies in chunk ${d} but its header says chunk ${u32[w + 2]}`);
        if (u32[w + 1] !== count || live[count] !== ptr) {
          throw this.#corrupt(`block ${hex(ptr)} after ${hex(prev)} says it is block ${u32[w + 1]} of the stack; it is block ${count}, which the stack records at ${hex(live[count] ?? 0)}`);
        }
        if (ptr + size > limit) throw this.#corrupt(`block ${hex(ptr)} (${size} B) runs past the top ${hex(limit)}`);
        prev = ptr;
        count++;
        bytes += size;
        q = ((ptr + size + 7) & -8) >>> 0;
      }
      if (q !== limit) throw this.#corrupt(`the blocks of chunk ${d} end at ${hex(q)}, its top is ${hex(limit)}`);
    }
    if (prev !== this.#topPtr) throw this.#corrupt(`the last block is ${hex(prev)}, the stack's top block is ${hex(this.#topPtr)}`);
    const c = this.#counters;
    if (count !== c[LIVE_COUNT] || bytes !== c[LIVE_BYTES]) {
      throw this.#corrupt(`the chunks hold ${count} blocks (${bytes} B), the counters say ${c[LIVE_COUNT]} (${c[LIVE_BYTES]} B)`);
    }
    const marks = this.#marks;
    for (let i = 0; i < this.#markCount; i++) {
      const o = i * M_STRIDE;
      if (marks[o + M_VALUE]! % MARK_INDEX_LIMIT !== i) throw this.#corrupt(`mark slot ${i} holds a mark for slot ${marks[o + M_VALUE]! % MARK_INDEX_LIMIT}`);
      if (marks[o + M_DEPTH]! > this.#depth) throw this.#corrupt(`mark ${i} lies in chunk ${marks[o + M_DEPTH]}, above the chain's ${this.#depth}`);
      if (marks[o + M_LIVE_COUNT]! > c[LIVE_COUNT]) throw this.#corrupt(`mark ${i} counts ${marks[o + M_LIVE_COUNT]} live blocks, more than ${c[LIVE_COUNT]}`);
    }
    const floor = this.#markCount > 0 ? marks[(this.#markCount - 1) * M_STRIDE + M_TOP_PTR]! : 0;
    if (floor !== this.#floorPtr) throw this.#corrupt(`the innermost mark protects ${hex(floor)}, the stack remembers ${hex(this.#floorPtr)}`);
    let spares = 0;
    for (let s = pool.spareHead; s !== 0; s = u32[(s + C_NEXT) >>> 2]!) {
      if (u32[(s + C_MAGIC) >>> 2] !== pool.magicWord) throw this.#corrupt(`spare chunk ${hex(s)} has lost its magic word`);
      held += u32[(s + C_BYTES) >>> 2]!;
      if (++spares > pool.chunkCount) throw this.#corrupt(`the spare list loops`);
    }
    if (held !== pool.reservedBytes) throw this.#corrupt(`chunks add up to ${held} B, reservedBytes says ${pool.reservedBytes}`);
  }

  /** Free space: the rest of the current chunk and every spare chunk. */
  storageReport(): StorageReport {
    const u32 = this.space.u32;
    const regions: number[] = [];
    if (this.#depth >= 0) regions.push(this.#end - this.#top);
    for (let s = this.#pool.spareHead; s !== 0; s = u32[(s + C_NEXT) >>> 2]!) regions.push(u32[(s + C_BYTES) >>> 2]! - CHUNK_HEADER);
    return buildStorageReport(this.#pool.reservedBytes, this.#counters[LIVE_BYTES]!, regions, BLOCK_HEADER);
  }

  // ---------------------------------------------------------------- internals

  #place(top: number, ptr: number, size: number): void {
    const u32 = this.#u32;
    const hdr = ptr - BLOCK_HEADER;
    if (hdr !== top) {
      u32[top >>> 2] = PAD_WORD;
      u32[(top >>> 2) + 1] = hdr - top;
    }
    const c = this.#counters;
    const index = c[LIVE_COUNT]!;
    if (index === this.#live.length) this.#growLive();
    this.#live[index] = ptr;
    const depth = this.#depth;
    const w = hdr >>> 2;
    u32[w] = size;
    u32[w + 1] = index;
    u32[w + 2] = depth;
    u32[w + 3] = blockCheck(ptr, size, index, depth, this.#key);
    this.#top = ((ptr + size + 7) & -8) >>> 0;
    this.#topPtr = ptr;
    c[LIVE_COUNT] = index + 1;
    c[LIVE_BYTES] = c[LIVE_BYTES]! + size;
  }

  /** Doubles the live-block table (amortised: at most log2(peak live blocks) times). */
  #growLive(): void {
    const grown = new Uint32Array(this.#live.length * 2);
    grown.set(this.#live);
    this.#live = grown;
  }

  #allocateSlow(size: number, a: number, align: number): Ptr {
    if (this.#destroyed) throw this.#destroyedError("allocate");
    const need = CHUNK_HEADER + BLOCK_HEADER + (a - BLOCK_ALIGN) + size;
    const chunk = this.#pool.acquire(need, this.#whoAllocate, size, align);
    // Nothing below can throw: the stack only changes once the chunk is in hand.
    const depth = this.#depth + 1;
    if (depth === this.#bases.length) {
      const grown = new Int32Array(this.#bases.length * 2);
      grown.set(this.#bases);
      this.#bases = grown;
    }
    const u32 = this.#u32;
    if (depth > 0) {
      const current = this.#bases[depth - 1]!;
      u32[(current + C_NEXT) >>> 2] = chunk;
      u32[(current + C_TOP) >>> 2] = this.#top;
    }
    u32[(chunk + C_OWNER) >>> 2] = depth;
    this.#bases[depth] = chunk;
    this.#depth = depth;
    const top = chunk + CHUNK_HEADER;
    this.#end = chunk + u32[(chunk + C_BYTES) >>> 2]!;
    const ptr = ((top + BLOCK_HEADER + a - 1) & -a) >>> 0;
    this.#place(top, ptr, size);
    return ptr;
  }

  /** Pops the top block (above the innermost mark) back to the block before it. */
  #pop(): void {
    const u32 = this.#u32;
    const ptr = this.#topPtr;
    const w = (ptr - BLOCK_HEADER) >>> 2;
    const size = u32[w]!;
    const index = u32[w + 1]!;
    if (u32[w + 3] !== blockCheck(ptr, size, index, u32[w + 2]!, this.#key) || u32[w + 2] !== this.#depth || index + 1 !== this.#counters[LIVE_COUNT]) {
      throw this.#headerCorrupt(ptr);
    }
    let depth = 0;
    let top: number;
    let prev = 0;
    if (index === 0) {
      top = this.#bases[0]! + CHUNK_HEADER;
    } else {
      prev = this.#live[index - 1]!;
      const pw = (prev - BLOCK_HEADER) >>> 2;
      const prevSize = u32[pw]!;
      depth = u32[pw + 2]!;
      if (u32[pw + 3] !== blockCheck(prev, prevSize, index - 1, depth, this.#key) || u32[pw + 1] !== index - 1 || depth > this.#depth) throw this.#headerCorrupt(prev);
      top = ((prev + prevSize + 7) & -8) >>> 0;
    }
    notePeak(this.#counters);
    const c = this.#counters;
    c[LIVE_COUNT]!--;
    c[LIVE_BYTES] = c[LIVE_BYTES]! - size;
    c[FREES]!++;
    this.#topPtr = prev;
    this.#top = top;
    if (depth !== this.#depth) this.#unwindTo(depth);
  }

  /** Makes chunk `depth` current; the chunks above it go to the spare list. */
  #unwindTo(depth: number): void {
    const bases = this.#bases;
    this.#pool.giveBack(bases[depth + 1]!, bases[this.#depth]!);
    const u32 = this.#u32;
    const base = bases[depth]!;
    u32[(base + C_NEXT) >>> 2] = 0;
    this.#depth = depth;
    this.#end = base + u32[(base + C_BYTES) >>> 2]!;
  }

  /** LIVE, NOT_BLOCK or FREED for a well-formed pointer; sets #foundSize. */
  #classify(ptr: number): number {
    if ((ptr & 7) !== 0 || ptr < CHUNK_HEADER + BLOCK_HEADER || ptr > this.#u8.length) return NOT_BLOCK;
    const u32 = this.#u32;
    const w = (ptr - BLOCK_HEADER) >>> 2;
    const size = u32[w]!;
    const depth = u32[w + 2]!;
    const index = u32[w + 1]!;
    if (u32[w + 3] !== blockCheck(ptr, size, index, depth, this.#key)) return NOT_BLOCK;
    this.#foundSize = size;
    // A header this stack wrote for a block at ptr. It may be a released block's, left behind (release is O(1))
    // and still intact under a later block's padding or payload: the live table decides.
    return index < this.#counters[LIVE_COUNT]! && this.#live[index] === ptr ? LIVE : FREED;
  }

  #pointerError(who: string, ptr: number, code: number, freeing: boolean): Error {
    if (this.#destroyed) return this.#destroyedError(who.slice(this.name.length + 1));
    if (code === FREED) {
      const what = `${hex(ptr)} (${this.#foundSize} B) was already freed: popped by deallocate, or dropped by release(mark) / reset()`;
      return freeing ? new DoubleFreeError(`${who}: ${what}.`) : new InvalidPointerError(`${who}: ${what}; it is not a live block.`);
    }
    return invalidPointer(who, ptr, `not the start of a live block in any of its chunks: a foreign, interior or stray pointer`);
  }

  #destroyedError(op: string): DestroyedError {
    return destroyedError(`${this.name}.${op}`, "this ScratchAllocator was destroyed", "create a new one.");
  }

  #staleMark(mark: number, index: number): InvalidArgumentError {
    const seq = Math.floor(mark / MARK_INDEX_LIMIT);
    const why =
      index >= this.#markCount
        ? `only ${this.#markCount} mark${this.#markCount === 1 ? " is" : "s are"} live`
        : `slot ${index} now holds a newer mark`;
    return new InvalidArgumentError(
      `${this.name}.release: mark ${mark} (#${seq} at depth ${index}) is not live here (${why}).\n` +
        `  It was released already, dropped when an earlier mark was released or the stack was reset, or it belongs to another ScratchAllocator.\n` +
        `  Marks nest: release the newest first, and each mark once.`,
    );
  }

  #headerCorrupt(ptr: number): CorruptionError {
    return this.#corrupt(
      `the header of block ${hex(ptr)} was overwritten (something wrote before the block's start, or past the end of the block below it); ` +
        `release a mark or reset() to drop it`,
    );
  }

  #corrupt(what: string): CorruptionError {
    return new CorruptionError(`${this.name}: ${what}. (${formatBytes(this.#pool.reservedBytes)} in ${this.#pool.chunkCount} chunks)`);
  }
}
