import { carve, insertFree, removeFree, writeFree } from "./bins.js";
import { freeBlock, type Leasing } from "./chunks.js";
import {
  CHUNK_HEADER,
  D_COMPACTS,
  D_MOVED_BYTES,
  D_MOVES,
  FREE,
  HEADER,
  MIN_BLOCK,
  SLOT_WORDS,
  S_PTR,
  W_CHUNKS,
  W_CHUNK_COUNT,
  W_CURSOR,
  W_CURSOR_CHUNK,
  W_SLOTS,
} from "./layout.js";

/** What one `compact()` call did. The allocator reuses one object: read it before the next call. */
export interface CompactResult {
  /** Payload bytes copied to lower addresses. */
  movedBytes: number;
  /** Blocks moved. */
  movedBlocks: number;
  /** Block headers looked at. */
  scannedBlocks: number;
  /** Blocks after a hole that stayed where they are: pinned, anchored (pointer blocks no container follows) or larger than the budget. */
  skippedBlocks: number;
  /** True when the call reached the end of the last chunk: the next call starts a new pass from the first chunk. */
  passDone: boolean;
}

/** Budget a block header costs to look at, so a call over many blocks and few holes is bounded too. */
export const SCAN_COST = 8;

/** An arena that can tell which blocks may move and tell their owners where they went. */
export interface Compacting extends Leasing {
  /** True when the live block of slot `slot` may move now (not pinned; anchored only with a holder). */
  movable(slot: number): boolean;
  /** Called after slot `slot`'s block moved to payload `ptr` (holders re-read their pointers). */
  moved(slot: number, ptr: number): void;
}

/**
 * Slides live blocks down over the hole before them, chunk by chunk from the
 * cursor the last call left, until `budget` (block bytes moved plus
 * {@link SCAN_COST} per header looked at) is spent or the pass reaches the
 * end. Each move leaves the heap consistent (the hole moves up past the
 * block and merges with free space after it), so the call can stop anywhere
 * and allocation, frees and pins may happen between calls.
 */
export function compactStep(r: Compacting, budget: number, out: CompactResult): void {
  out.movedBytes = 0;
  out.movedBlocks = 0;
  out.scannedBlocks = 0;
  out.skippedBlocks = 0;
  out.passDone = false;
  const w = r.w;
  r.f64[r.d + D_COMPACTS]!++;
  let work = 0;
  for (;;) {
    let u32 = r.u32;
    const ci = u32[w + W_CURSOR_CHUNK]!;
    if (ci >= u32[w + W_CHUNK_COUNT]!) {
      u32[w + W_CURSOR_CHUNK] = 0;
      u32[w + W_CURSOR] = 0;
      out.passDone = true;
      return;
    }
    let b = u32[w + W_CURSOR]!;
    if (b === 0) b = u32[(u32[w + W_CHUNKS]! >>> 2) + ci * 2]! + CHUNK_HEADER;
    for (;;) {
      const h = u32[b >>> 2]!;
      const size = h & ~7;
      if (size === 0) break;
      if (work >= budget) {
        u32[w + W_CURSOR] = b;
        return;
      }
      work += SCAN_COST;
      out.scannedBlocks++;
      if (!(h & FREE)) {
        b += size;
        continue;
      }
      // A hole; the block after it is live (free blocks never touch) or the sentinel.
      const n = b + size;
      const ns = u32[n >>> 2]! & ~7;
      if (ns === 0) {
        // The chunk's free tail: fill it from the next chunk, so data migrates to the first chunks and the last ones empty.
        work = fillTail(r, ci, b, size, budget, work, out);
        if (work < 0) {
          u32 = r.u32;
          u32[w + W_CURSOR] = b;
          return;
        }
        break;
      }
      const slot = u32[(n + 4) >>> 2]!;
      if (ns > budget || !r.movable(slot)) {
        out.skippedBlocks++;
        work += SCAN_COST;
        b = n + ns;
        continue;
      }
      if (work + ns > budget) {
        u32[w + W_CURSOR] = b;
        return;
      }
      slide(r, b, size, n, ns, slot);
      work += ns;
      out.movedBytes += ns - HEADER;
      out.movedBlocks++;
      r.f64[r.d + D_MOVED_BYTES]! += ns - HEADER;
      r.f64[r.d + D_MOVES]!++;
      r.moved(slot, b + HEADER);
      u32 = r.u32;
      b += ns;
    }
    u32[w + W_CURSOR_CHUNK] = ci + 1;
    u32[w + W_CURSOR] = 0;
  }
}

/**
 * Moves live blocks of chunk `ci + 1` into the free tail `t` (`ts` bytes) of
 * chunk `ci`, in their order, while they fit and the budget lasts. A block
 * moves only when it fills the tail exactly or leaves a block's worth (so it
 * keeps its size). Returns the work done so far, or -1 when the budget ran out
 * (the cursor then stays on the tail, and the next call carries on).
 */
function fillTail(r: Compacting, ci: number, t: number, ts: number, budget: number, work: number, out: CompactResult): number {
  const w = r.w;
  if (ci + 1 >= r.u32[w + W_CHUNK_COUNT]!) return work;
  const source = r.u32[(r.u32[w + W_CHUNKS]! >>> 2) + (ci + 1) * 2]!;
  let p = source + CHUNK_HEADER;
  for (;;) {
    const u32 = r.u32;
    const h = u32[p >>> 2]!;
    const size = h & ~7;
    if (size === 0) return work;
    if (work >= budget) return -1;
    work += SCAN_COST;
    out.scannedBlocks++;
    if (h & FREE) {
      p += size;
      continue;
    }
    const slot = u32[(p + 4) >>> 2]!;
    if (!(ts === size || ts - size >= MIN_BLOCK) || size > budget || !r.movable(slot)) {
      p += size;
      continue;
    }
    if (work + size > budget) return -1;
    removeFree(r, t, ts);
    carve(r, t, size, slot);
    r.space.bytes.copy(t + HEADER, p + HEADER, size - HEADER);
    u32[(u32[w + W_SLOTS]! >>> 2) + slot * SLOT_WORDS + S_PTR] = t + HEADER;
    work += size;
    out.movedBytes += size - HEADER;
    out.movedBlocks++;
    r.f64[r.d + D_MOVED_BYTES]! += size - HEADER;
    r.f64[r.d + D_MOVES]!++;
    const merged = freeBlock(r, p);
    r.moved(slot, t + HEADER);
    // The source chunk went back to the backing: the tail's work is done for this pass.
    if (merged === 0 || ts === size) return work;
    t += size;
    ts -= size;
    p = merged + (r.u32[merged >>> 2]! & ~7);
  }
}

/** Moves the live block at `n` (`ns` bytes, slot `slot`) down to the hole at `b` (`hs` bytes); the hole goes after it. */
function slide(r: Compacting, b: number, hs: number, n: number, ns: number, slot: number): void {
  const u32 = r.u32;
  removeFree(r, b, hs);
  r.space.bytes.copy(b + HEADER, n + HEADER, ns - HEADER);
  // The block before a hole is live, so PREV_FREE is 0.
  u32[b >>> 2] = ns;
  u32[(b + 4) >>> 2] = slot;
  const hole = b + ns;
  const after = n + ns;
  const ah = u32[after >>> 2]!;
  if (ah & FREE) {
    removeFree(r, after, ah & ~7);
    hs += ah & ~7;
  }
  writeFree(u32, hole, hs);
  insertFree(r, hole, hs);
  u32[(u32[r.w + W_SLOTS]! >>> 2) + slot * SLOT_WORDS + S_PTR] = b + HEADER;
}
