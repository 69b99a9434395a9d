import { hex, type CorruptionError } from "@memkit/core";
import { CHUNK_HEADER, C_BYTES, C_OWNER, C_PREV } from "./chunk.js";
import type { ScratchAllocator } from "./scratch-allocator.js";
import { SCRATCH_BLOCK_HEADER as BLOCK_HEADER, blockCheck } from "./scratch-check.js";
import { W_DEPTH, W_LIVE_BASE } from "./scratch-layout.js";
import { countFreed } from "./temp-counters.js";
import { W_CHUNK, W_END, W_FIRST, W_LIVE_COUNT, W_TOP, W_TOP_PTR } from "./temp-layout.js";

/*
 * Moving the scratch stack's top down: popping the top block (deallocate)
 * and unwinding the chain to an earlier chunk (a pop or a mark released
 * across chunks). Every header and chunk followed is checked first, so a
 * damaged stack is a CorruptionError and nothing moves.
 */

/** Pops the top block (above the innermost mark) back to the block before it. */
export function popTop(s: ScratchAllocator): void {
  const u32 = s.u32;
  const w = s.w;
  const ptr = u32[w + W_TOP_PTR]!;
  const h = (ptr - BLOCK_HEADER) >>> 2;
  const size = u32[h]!;
  const index = u32[h + 1]!;
  if (u32[h + 3] !== blockCheck(ptr, size, index, s.key) || index + 1 !== u32[w + W_LIVE_COUNT]) throw headerCorrupt(s, ptr);
  let top: number;
  let prev = 0;
  if (index === 0) {
    top = u32[w + W_FIRST]! + CHUNK_HEADER;
  } else {
    prev = u32[u32[w + W_LIVE_BASE]! + index - 1]!;
    const ph = (prev - BLOCK_HEADER) >>> 2;
    const prevSize = u32[ph]!;
    if (u32[ph + 3] !== blockCheck(prev, prevSize, index - 1, s.key) || u32[ph + 1] !== index - 1) throw headerCorrupt(s, prev);
    top = ((prev + prevSize + 7) & -8) >>> 0;
  }
  countFreed(u32, s.f64, w, s.d, 1, size);
  u32[w + W_TOP_PTR] = prev;
  const current = u32[w + W_CHUNK]!;
  // The new top lies in the current chunk, or in one before it (the chunks after it were chained for the blocks popped).
  if (top <= current || top > u32[w + W_END]!) {
    const chunk = chunkHolding(s, top);
    unwindTo(s, chunk, u32[(chunk >>> 2) + C_OWNER]!);
  }
  u32[w + W_TOP] = top;
}

/** Makes `chunk` (at `depth`, below the current chunk) current; the chunks above it become spares. The caller sets the top. */
export function unwindTo(s: ScratchAllocator, chunk: number, depth: number): void {
  const u32 = s.u32;
  if (depth >= u32[s.w + W_DEPTH]!) throw s.chain.corrupt(`a mark or block lies at depth ${depth}, not below the current chunk's ${u32[s.w + W_DEPTH]}`);
  s.chain.expectChunk(chunk, "the chunk to unwind to");
  if (u32[(chunk >>> 2) + C_OWNER] !== depth) throw s.chain.corrupt(`chunk ${hex(chunk)} is not at depth ${depth} of the chain`);
  s.chain.unwindTo(chunk);
  u32[s.w + W_DEPTH] = depth;
}

/** The chunk before the current one whose room holds `top` (a block's end), through the prev links: a step per chunk given back. */
function chunkHolding(s: ScratchAllocator, top: number): number {
  const u32 = s.u32;
  let c = u32[s.w + W_CHUNK]!;
  for (let steps = u32[s.w + W_DEPTH]!; ; steps--) {
    if (steps === 0) throw s.chain.corrupt(`no chunk before the current one holds ${hex(top)}`);
    c = u32[(c >>> 2) + C_PREV]!;
    s.chain.expectChunk(c, "a chunk on the prev links");
    if (top > c && top <= c + u32[(c >>> 2) + C_BYTES]!) return c;
  }
}

function headerCorrupt(s: ScratchAllocator, ptr: number): CorruptionError {
  return s.chain.corrupt(
    `the header of block ${hex(ptr)} was overwritten (something wrote before the block's start, or past the end of the block below it); ` +
      `release a mark or reset() to drop it`,
  );
}
