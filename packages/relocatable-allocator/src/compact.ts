import { insertFree, removeFree, writeFree } from "./bins.js";
import type { Leasing } from "./chunks.js";
import {
  CHUNK_HEADER,
  D_COMPACTS,
  D_MOVED_BYTES,
  D_MOVES,
  FREE,
  HEADER,
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
      if (ns === 0) break;
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

/** Moves the live block at `n` (`ns` bytes, slot `slot`) down to the hole at `b` (`hs` bytes); the hole goes after it. */
function slide(r: Compacting, b: number, hs: number, n: number, ns: number, slot: number): void {
  const u32 = r.u32;
  removeFree(r, b, hs);
  r.u8.copyWithin(b + HEADER, n + HEADER, n + ns);
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
