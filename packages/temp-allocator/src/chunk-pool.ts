import { OutOfMemoryError, alignUp, formatBytes, formatSize, magic, type AddressSpace, type Allocator } from "@memkit/core";

/**
 * Chunks: the big blocks a temp allocator leases from its backing allocator
 * and bumps blocks out of. Every chunk starts with a 32-byte header, so the
 * lists that hold chunks are linked through the chunks themselves:
 *
 * ```
 *  chunk                                                       chunk + bytes
 *  +--------------------------------+------------------------------------+
 *  | header (32 B)                  | blocks, bumped upward ->    | free |
 *  +--------------------------------+------------------------------------+
 *   +0  u32 next        next chunk on the list holding this one (an arena's
 *                       chain, the scratch stack's chain, or the spare list); 0 ends it
 *   +4  u32 bytes       chunk size, header included (the backing's usable size)
 *   +8  u32 top         where the used bytes end, saved when the bump pointer moved on
 *   +12 u32 owner       scratch: depth in the stack's chain; frame: the frame using it
 *   +16 u32 freedFrame  frame debug mode: the frame whose blocks were last wiped here
 *   +20 u32 freedTop    ... and how far that frame had filled the chunk
 *   +24 u32 magic       CHUNK_MAGIC ^ the allocator's key: check() knows its own chunks
 *   +28 u32 (zero)
 * ```
 */
export const CHUNK_HEADER = 32;
/** Byte offsets of the chunk header fields. */
export const C_NEXT = 0;
export const C_BYTES = 4;
export const C_TOP = 8;
export const C_OWNER = 12;
export const C_FREED_FRAME = 16;
export const C_FREED_TOP = 20;
export const C_MAGIC = 24;
/** `freedFrame` of a chunk whose memory never held a block. */
export const NO_FRAME = 0xffff_ffff;
/** "TMPC": marks a temp-allocator chunk (xor the allocator's key). */
export const CHUNK_MAGIC: number = magic("TMPC");
/** Largest chunk: keeps every address and block size below 2^31. */
export const MAX_CHUNK_BYTES = 0x7fff_fff8;

/** Options for {@link ChunkPool}. */
export interface ChunkPoolOptions {
  /** Bytes of a standard chunk (a multiple of 8). */
  chunkSize: number;
  /** The owning allocator's key. */
  key: number;
  /** The owning allocator's name, for messages. */
  name: string;
  /** Fill the payload of every chunk taken from the backing with this byte; -1: leave it. */
  fillByte: number;
}

/**
 * Leases chunks from a backing allocator and keeps the ones handed back on a
 * spare list (linked through the chunks), so steady-state use makes no
 * backing calls. Standard requests take the spare head in O(1); a request
 * larger than a standard chunk takes the first spare big enough (the spare
 * list is short: it only holds chunks some earlier peak needed) or a
 * dedicated chunk of exactly its size.
 *
 * One thread owns a pool, like the allocator that owns it.
 */
export class ChunkPool {
  readonly backing: Allocator;
  readonly space: AddressSpace;
  readonly chunkSize: number;
  /** The magic word written into this pool's chunks. */
  readonly magicWord: number;
  readonly #name: string;
  readonly #fillByte: number;
  #spareHead = 0;
  #reserved = 0;
  #chunks = 0;

  constructor(backing: Allocator, options: ChunkPoolOptions) {
    this.backing = backing;
    this.space = backing.space;
    this.chunkSize = options.chunkSize;
    this.magicWord = (CHUNK_MAGIC ^ options.key) >>> 0;
    this.#name = options.name;
    this.#fillByte = options.fillByte;
  }

  /** Bytes held from the backing (chunks in use and spare). */
  get reservedBytes(): number {
    return this.#reserved;
  }

  /** Chunks held from the backing. */
  get chunkCount(): number {
    return this.#chunks;
  }

  /** First spare chunk (0 when none); the list continues through each chunk's `next`. */
  get spareHead(): number {
    return this.#spareHead;
  }

  /**
   * A chunk with at least `need` bytes (header included), its `next` cleared.
   * Throws OutOfMemoryError naming `who`, `size` and `align` when the backing
   * has no memory; nothing changes then.
   */
  acquire(need: number, who: string, size: number, align: number): number {
    const u32 = this.space.u32;
    if (need <= this.chunkSize) {
      // Every spare is at least a standard chunk, so the head fits.
      const head = this.#spareHead;
      if (head !== 0) {
        this.#spareHead = u32[(head + C_NEXT) >>> 2]!;
        u32[(head + C_NEXT) >>> 2] = 0;
        return head;
      }
      return this.#fresh(this.chunkSize, who, size, align);
    }
    let prev = 0;
    for (let c = this.#spareHead; c !== 0; c = u32[(c + C_NEXT) >>> 2]!) {
      if (u32[(c + C_BYTES) >>> 2]! >= need) {
        const next = u32[(c + C_NEXT) >>> 2]!;
        if (prev === 0) this.#spareHead = next;
        else u32[(prev + C_NEXT) >>> 2] = next;
        u32[(c + C_NEXT) >>> 2] = 0;
        return c;
      }
      prev = c;
    }
    return this.#fresh(need, who, size, align);
  }

  /** Puts the list `first` .. `last` (linked through `next`) on the spare list in O(1). */
  giveBack(first: number, last: number): void {
    const u32 = this.space.u32;
    u32[(last + C_NEXT) >>> 2] = this.#spareHead;
    this.#spareHead = first;
  }

  /** Returns every spare chunk to the backing; returns the bytes given back. */
  trim(): number {
    let freed = 0;
    let c = this.#spareHead;
    this.#spareHead = 0;
    while (c !== 0) {
      const u32 = this.space.u32;
      const next = u32[(c + C_NEXT) >>> 2]!;
      freed += this.free(c);
      c = next;
    }
    return freed;
  }

  /** Returns one chunk (not on the spare list) to the backing; returns its bytes. */
  free(chunk: number): number {
    const u32 = this.space.u32;
    const bytes = u32[(chunk + C_BYTES) >>> 2]!;
    // A chunk given back must not look like ours if a stale pointer reaches it later.
    u32[(chunk + C_MAGIC) >>> 2] = 0;
    this.backing.deallocate(chunk);
    this.#reserved -= bytes;
    this.#chunks--;
    return bytes;
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
          `has no ${formatBytes(bytes)} chunk left (${this.#name} already holds ${formatBytes(this.#reserved)} in ${this.#chunks} chunks).\n` +
          `  Raise maximumBytes, trim() spare chunks, or release temp memory sooner.`,
        { cause },
      );
    }
    const got = Math.min(this.backing.allocatedSize(chunk), MAX_CHUNK_BYTES) & ~7;
    const u32 = this.space.u32;
    const w = chunk >>> 2;
    u32[w + (C_NEXT >>> 2)] = 0;
    u32[w + (C_BYTES >>> 2)] = got;
    u32[w + (C_TOP >>> 2)] = chunk + CHUNK_HEADER;
    u32[w + (C_OWNER >>> 2)] = 0;
    u32[w + (C_FREED_FRAME >>> 2)] = NO_FRAME;
    u32[w + (C_FREED_TOP >>> 2)] = chunk + CHUNK_HEADER;
    u32[w + (C_MAGIC >>> 2)] = this.magicWord;
    u32[w + 7] = 0;
    if (this.#fillByte >= 0) this.space.u8.fill(this.#fillByte, chunk + CHUNK_HEADER, chunk + got);
    this.#reserved += got;
    this.#chunks++;
    return chunk;
  }
}
