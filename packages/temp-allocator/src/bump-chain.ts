import { CorruptionError, OutOfMemoryError, SpaceViews, alignUp, formatBytes, formatSize, hex, type AddressSpace, type Allocator, type ViewSet } from "@memkit/core";
import { CHUNK_HEADER, C_BYTES, C_FREED_FRAME, C_FREED_TOP, C_MAGIC, C_NEXT, C_OWNER, C_PREV, C_TOP, MAX_CHUNK_BYTES, SMALLEST_CHUNK_BYTES, NO_FRAME } from "./chunk.js";
import { PAD_WORD } from "./stamp.js";
import { W_CHUNK, W_CHUNKS, W_END, W_FIRST, W_META_BYTES, W_RESERVED, W_SPARES, W_TOP, W_TOP_PTR } from "./temp-layout.js";

/**
 * The machine both temp allocators run on: a chain of chunks leased from a
 * backing allocator, bumped through by a top pointer, with a spare list so a
 * steady state makes no backing calls. Its state is the chain words of the
 * owner's control block (temp-layout.ts) and the chunk headers (chunk.ts);
 * this object is one handle's view of them (the views, the backing, the
 * constants), so every handle on the allocator runs the same chain.
 *
 * What the owners add: the block header (8 B frame, 16 B scratch), how the
 * chain is reset (a frame arena recycled, the scratch stack unwound to a
 * mark) and what a block's liveness means. The bump itself (top, end, one
 * header write) stays inline in each owner's `allocate`; everything here is
 * a slow or cold path: leasing, chaining, giving back, walking, checking.
 *
 * Every walk over a list is bounded by the chunk count, and every chunk
 * reached through a link is checked before it is used, so damaged memory is
 * a CorruptionError, never a loop or a block handed out of bounds.
 */
export class BumpChain {
  readonly backing: Allocator;
  readonly space: AddressSpace;
  /** The owner's name, for messages. */
  readonly name: string;
  /** u32 index of the owner's control block. */
  readonly w: number;
  /** Bytes of a standard chunk, header included. */
  readonly chunkBytes: number;
  /** The magic word of this allocator's chunks (CHUNK_MAGIC ^ key). */
  readonly magicWord: number;
  /** Fill fresh chunks' payload with this byte; -1 leaves it. */
  readonly fillByte: number;
  u8: Uint8Array = SpaceViews.dead.u8;
  u32: Uint32Array = SpaceViews.dead.u32;

  constructor(backing: Allocator, controlPtr: number, name: string, chunkBytes: number, magicWord: number, fillByte: number) {
    this.backing = backing;
    this.space = backing.space;
    this.name = name;
    this.w = controlPtr >>> 2;
    this.chunkBytes = chunkBytes;
    this.magicWord = magicWord;
    this.fillByte = fillByte;
  }

  /** Re-reads the views (the owner calls it from its own refreshViews). */
  refresh(views: ViewSet): void {
    this.u8 = views.u8;
    this.u32 = views.u32;
  }

  /** Bytes of the chunks held (chains and spares). */
  get reservedBytes(): number {
    return this.u32[this.w + W_RESERVED]!;
  }

  /** Chunks held. */
  get chunkCount(): number {
    return this.u32[this.w + W_CHUNKS]!;
  }

  // ------------------------------------------------------------------ leasing

  /**
   * A chunk with at least `need` bytes (header included), its `next` cleared:
   * the spare head for a standard request, the first spare big enough for a
   * larger one, else a fresh chunk from the backing. Throws OutOfMemoryError
   * naming `who`, `size` and `align` when the backing has no memory, and
   * CorruptionError when the spare list is damaged; nothing changes then.
   */
  lease(need: number, who: string, size: number, align: number): number {
    const w = this.w;
    if (need <= this.chunkBytes) {
      // Every spare is at least a standard chunk, so the head fits.
      const head = this.u32[w + W_SPARES]!;
      if (head === 0) return this.#fresh(this.chunkBytes, who, size, align);
      this.expectChunk(head, "the spare list's head");
      if (this.u32[(head >>> 2) + C_BYTES]! < need) throw this.corrupt(`the spare chunk ${hex(head)} is smaller than a standard chunk`);
      const next = this.u32[(head >>> 2) + C_NEXT]!;
      if (next !== 0) this.expectChunk(next, "the second spare");
      this.u32[w + W_SPARES] = next;
      this.u32[(head >>> 2) + C_NEXT] = 0;
      return head;
    }
    const u32 = this.u32;
    let prev = 0;
    let steps = 0;
    for (let c = u32[w + W_SPARES]!; c !== 0; c = u32[(c >>> 2) + C_NEXT]!) {
      if (++steps > u32[w + W_CHUNKS]!) throw this.corrupt("the spare list loops");
      this.expectChunk(c, "a spare chunk");
      if (u32[(c >>> 2) + C_BYTES]! >= need) {
        const next = u32[(c >>> 2) + C_NEXT]!;
        if (prev === 0) u32[w + W_SPARES] = next;
        else u32[(prev >>> 2) + C_NEXT] = next;
        u32[(c >>> 2) + C_NEXT] = 0;
        return c;
      }
      prev = c;
    }
    return this.#fresh(need, who, size, align);
  }

  /** Puts the list `first` .. `last` (linked through `next`) on the spare list in O(1). */
  giveBack(first: number, last: number): void {
    const u32 = this.u32;
    u32[(last >>> 2) + C_NEXT] = u32[this.w + W_SPARES]!;
    u32[this.w + W_SPARES] = first;
  }

  /** Returns one chunk (on no list) to the backing; returns its bytes. */
  free(chunk: number): number {
    const u32 = this.u32;
    const bytes = u32[(chunk >>> 2) + C_BYTES]!;
    // A chunk given back must not look like ours if a stale pointer reaches it later.
    u32[(chunk >>> 2) + C_MAGIC] = 0;
    this.backing.deallocate(chunk);
    const after = this.u32;
    after[this.w + W_RESERVED] = after[this.w + W_RESERVED]! - bytes;
    after[this.w + W_CHUNKS] = after[this.w + W_CHUNKS]! - 1;
    return bytes;
  }

  /** Returns every spare chunk to the backing; returns the bytes given back. */
  trimSpares(): number {
    let freed = 0;
    let c = this.u32[this.w + W_SPARES]!;
    this.u32[this.w + W_SPARES] = 0;
    const limit = this.chunkCount;
    for (let steps = 0; c !== 0; steps++) {
      if (steps >= limit) throw this.corrupt("the spare list loops");
      this.expectChunk(c, "a spare chunk");
      const next = this.u32[(c >>> 2) + C_NEXT]!;
      freed += this.free(c);
      c = next;
    }
    return freed;
  }

  /** Returns the chunks `first` through `last` (linked through `next`) to the backing; returns their bytes. */
  freeList(first: number, last: number): number {
    let freed = 0;
    const limit = this.chunkCount;
    for (let c = first, steps = 0; c !== 0; steps++) {
      if (steps >= limit) throw this.corrupt(`the chain from ${hex(first)} loops`);
      this.expectChunk(c, "a chained chunk");
      const next = c === last ? 0 : this.u32[(c >>> 2) + C_NEXT]!;
      freed += this.free(c);
      c = next;
    }
    return freed;
  }

  #fresh(request: number, who: string, size: number, align: number): number {
    const bytes = alignUp(request, 8);
    if (bytes > Math.min(MAX_CHUNK_BYTES, this.space.maximumBytes)) {
      throw new OutOfMemoryError(
        `${who}: cannot allocate ${formatSize(size)} (align ${align}): it needs a chunk of ${formatBytes(bytes)}, ` +
          `more than the address space can ever hold (${formatBytes(this.space.maximumBytes)} maximum).`,
      );
    }
    let chunk: number;
    try {
      chunk = this.backing.allocate(bytes, 8);
    } catch (cause) {
      if (!(cause instanceof OutOfMemoryError)) throw cause;
      throw new OutOfMemoryError(
        `${who}: cannot allocate ${formatSize(size)} (align ${align}): the backing allocator "${this.backing.name}" ` +
          `has no ${formatBytes(bytes)} chunk left (${this.name} already holds ${formatBytes(this.reservedBytes)} in ${this.chunkCount} chunks).\n` +
          `  Raise maximumBytes, trim() spare chunks, or release temp memory sooner.`,
        { cause },
      );
    }
    const got = Math.min(this.backing.allocatedSize(chunk), MAX_CHUNK_BYTES) & ~7;
    // The backing may have grown the space: read the views again.
    const u32 = this.u32;
    const c = chunk >>> 2;
    u32[c + C_NEXT] = 0;
    u32[c + C_BYTES] = got;
    u32[c + C_TOP] = chunk + CHUNK_HEADER;
    u32[c + C_OWNER] = 0;
    u32[c + C_FREED_FRAME] = NO_FRAME;
    u32[c + C_FREED_TOP] = chunk + CHUNK_HEADER;
    u32[c + C_MAGIC] = this.magicWord;
    u32[c + C_PREV] = 0;
    if (this.fillByte >= 0) this.u8.fill(this.fillByte, chunk + CHUNK_HEADER, chunk + got);
    u32[this.w + W_RESERVED] = u32[this.w + W_RESERVED]! + got;
    u32[this.w + W_CHUNKS] = u32[this.w + W_CHUNKS]! + 1;
    return chunk;
  }

  // ---------------------------------------------------------------- the chain

  /**
   * Makes `chunk` (fresh from {@link lease}) the current chunk, linked after
   * the current one (whose top it saves), or the first of an empty chain.
   * `owner` goes into its header (scratch: depth; frame: frame tag).
   */
  link(chunk: number, owner: number): void {
    const u32 = this.u32;
    const w = this.w;
    const current = u32[w + W_CHUNK]!;
    if (current !== 0) {
      u32[(current >>> 2) + C_NEXT] = chunk;
      u32[(current >>> 2) + C_TOP] = u32[w + W_TOP]!;
    } else {
      u32[w + W_FIRST] = chunk;
    }
    const c = chunk >>> 2;
    u32[c + C_PREV] = current;
    u32[c + C_OWNER] = owner;
    u32[w + W_CHUNK] = chunk;
    u32[w + W_TOP] = chunk + CHUNK_HEADER;
    u32[w + W_END] = chunk + u32[c + C_BYTES]!;
  }

  /**
   * Empties the chain in O(1): its first chunk stays (current, top at its
   * start, header owner `owner`), the rest go to the spare list. A frame
   * arena recycled, the scratch stack reset.
   */
  recycle(owner: number): void {
    const u32 = this.u32;
    const w = this.w;
    const first = u32[w + W_FIRST]!;
    u32[w + W_TOP_PTR] = 0;
    if (first === 0) {
      u32[w + W_CHUNK] = u32[w + W_TOP] = u32[w + W_END] = 0;
      return;
    }
    const last = u32[w + W_CHUNK]!;
    if (last !== first) {
      this.giveBack(u32[(first >>> 2) + C_NEXT]!, last);
      u32[(first >>> 2) + C_NEXT] = 0;
    }
    u32[(first >>> 2) + C_OWNER] = owner;
    u32[w + W_CHUNK] = first;
    u32[w + W_TOP] = first + CHUNK_HEADER;
    u32[w + W_END] = first + u32[(first >>> 2) + C_BYTES]!;
  }

  /** Makes `chunk` (on the chain, below the current one) current; the chunks after it go to the spare list. The caller sets the top. */
  unwindTo(chunk: number): void {
    const u32 = this.u32;
    const w = this.w;
    const next = u32[(chunk >>> 2) + C_NEXT]!;
    if (next !== 0) this.giveBack(next, u32[w + W_CHUNK]!);
    u32[(chunk >>> 2) + C_NEXT] = 0;
    u32[w + W_CHUNK] = chunk;
    u32[w + W_END] = chunk + u32[(chunk >>> 2) + C_BYTES]!;
  }

  /** Forgets the chain (its chunks were freed or handed elsewhere). */
  clear(): void {
    const u32 = this.u32;
    const w = this.w;
    u32[w + W_CHUNK] = u32[w + W_TOP] = u32[w + W_END] = u32[w + W_TOP_PTR] = u32[w + W_FIRST] = 0;
  }

  // ------------------------------------------------------------------- walking

  /**
   * Throws CorruptionError unless `chunk` looks like one of this allocator's
   * chunks: 8-aligned, inside the space, its magic word, a size that fits.
   * Where a link is followed, before it is used. `what` (a constant: no
   * string is built unless it throws) and `index` name it in the message.
   */
  expectChunk(chunk: number, what: string, index = -1): void {
    const u32 = this.u32;
    const limit = this.u8.length;
    if (chunk % 8 === 0 && chunk >= 8 && chunk + CHUNK_HEADER <= limit && u32[(chunk >>> 2) + C_MAGIC] === this.magicWord) {
      const bytes = u32[(chunk >>> 2) + C_BYTES]!;
      if (bytes % 8 === 0 && bytes >= SMALLEST_CHUNK_BYTES && bytes <= MAX_CHUNK_BYTES && chunk + bytes <= limit) return;
      throw this.corrupt(`${index >= 0 ? `chunk ${index} of ${what}` : what} at ${hex(chunk)} claims ${bytes} bytes, which do not fit`);
    }
    const named = index >= 0 ? `chunk ${index} of ${what}` : what;
    if (chunk % 8 !== 0 || chunk < 8 || chunk + CHUNK_HEADER > limit) throw this.corrupt(`${named} is ${hex(chunk)}, not a chunk address inside the ${limit}-byte space`);
    throw this.corrupt(`${named} at ${hex(chunk)} is not one of its chunks (its magic word was overwritten)`);
  }

  /**
   * Walks the chain `first` .. `last` through the `next` links, calling
   * `visit(chunk, index)` on each after {@link expectChunk}; throws when the
   * chain loops, ends early, or runs on past `last`.
   */
  walkChain(first: number, last: number, what: string, visit: (chunk: number, index: number) => void): void {
    if (first === 0) {
      if (last !== 0) throw this.corrupt(`${what} has a current chunk ${hex(last)} but no first chunk`);
      return;
    }
    const limit = this.chunkCount;
    for (let c = first, i = 0; ; i++) {
      if (i >= limit) throw this.corrupt(`${what} loops or holds more chunks than the ${limit} held`);
      this.expectChunk(c, what, i);
      visit(c, i);
      const next = this.u32[(c >>> 2) + C_NEXT]!;
      if (c === last) {
        if (next !== 0) throw this.corrupt(`${what} runs on past its current chunk ${hex(last)} (to ${hex(next)})`);
        return;
      }
      if (next === 0) throw this.corrupt(`${what} ends at ${hex(c)} before its current chunk ${hex(last)}`);
      c = next;
    }
  }

  /** Calls `visit` on every spare chunk (checked, bounded). */
  walkSpares(visit: (chunk: number) => void): void {
    const u32 = this.u32;
    const limit = this.chunkCount;
    let steps = 0;
    for (let c = u32[this.w + W_SPARES]!; c !== 0; c = u32[(c >>> 2) + C_NEXT]!) {
      if (++steps > limit) throw this.corrupt("the spare list loops");
      this.expectChunk(c, "a spare chunk");
      visit(c);
    }
  }

  /**
   * Walks the blocks of `chunk` below `limit`: padding records
   * [PAD_WORD, gap] are stepped over; for each block, `visit(ptr)` checks its
   * header (ptr = the record's start + `headerBytes`) and returns where the
   * block ends (8-aligned, past ptr). Throws unless the blocks end exactly at `limit`.
   */
  walkBlocks(chunk: number, limit: number, headerBytes: number, visit: (ptr: number) => number): void {
    const u32 = this.u32;
    let q = chunk + CHUNK_HEADER;
    while (q < limit) {
      if (u32[q >>> 2] === PAD_WORD) {
        const gap = u32[(q >>> 2) + 1]!;
        if (gap < 8 || gap % 8 !== 0 || q + gap > limit) throw this.corrupt(`bad padding record at ${hex(q)} (${gap} B)`);
        q += gap;
        continue;
      }
      const ptr = q + headerBytes;
      const end = visit(ptr);
      if (end > limit || end < ptr) throw this.corrupt(`block ${hex(ptr)} runs past its chunk's top ${hex(limit)}`);
      q = end;
    }
    if (q !== limit) throw this.corrupt(`the blocks of chunk ${hex(chunk)} end at ${hex(q)}, its top is ${hex(limit)}`);
  }

  /** The chunk of the spare list holding `addr`, or 0 (cold: for messages). */
  spareHolding(addr: number): number {
    let found = 0;
    try {
      this.walkSpares((c) => {
        if (found === 0 && addr >= c + CHUNK_HEADER && addr <= c + this.u32[(c >>> 2) + C_BYTES]!) found = c;
      });
    } catch {
      // A damaged list answers "not found"; check() reports the damage.
    }
    return found;
  }

  /** Free room: the rest of the current chunk and each spare chunk's payload. */
  freeRegions(): number[] {
    const u32 = this.u32;
    const w = this.w;
    const regions: number[] = [];
    if (u32[w + W_CHUNK] !== 0) regions.push(u32[w + W_END]! - u32[w + W_TOP]!);
    this.walkSpares((c) => regions.push(u32[(c >>> 2) + C_BYTES]! - CHUNK_HEADER));
    return regions;
  }

  /** A CorruptionError naming the allocator and what it holds. */
  corrupt(what: string): CorruptionError {
    const held = this.u32.length > this.w + W_META_BYTES ? ` (${formatBytes(this.reservedBytes)} in ${this.chunkCount} chunks)` : "";
    return new CorruptionError(`${this.name}: ${what}.${held}`);
  }
}
