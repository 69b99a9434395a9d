import { CorruptionError, controlWord, hex } from "@memkit/core";
import { ChunkCensus } from "./chunk-census.js";
import { CHUNK_HEADER, C_BYTES, C_OWNER, C_TOP } from "./chunk.js";
import type { FrameAllocator } from "./frame-allocator.js";
import { findFillFault } from "./frame-debug.js";
import { D_FRAME, D_LIMIT, D_TYPICAL, FRAME_LAYOUT, MAX_ARENAS, R_BYTES, R_COUNT, R_FIRST, R_LAST, R_STRIDE, W_ARENA, W_FRAME_TAG, W_RING, W_START_BYTES, W_START_COUNT, frameControlBytes } from "./frame-layout.js";
import { stampHash } from "./stamp.js";
import { D_FACTOR, W_CHUNK, W_END, W_FIRST, W_LIVE_BYTES, W_LIVE_COUNT, W_TOP, W_TOP_PTR } from "./temp-layout.js";

/** Frame block header: 8 bytes below the pointer (frame-allocator.ts draws it). */
export const FRAME_BLOCK_HEADER = 8;
/** Bit 31 of a frame block's size word: deallocated (debug mode). */
export const FREED_FLAG = 0x8000_0000;
/** Bits 0..30 of a frame block's size word: the size asked for. */
export const SIZE_MASK = 0x7fff_ffff;

/**
 * Attach: the frame's own words after the common ones (TempHandle's
 * verifyChainWords). A frame number, tag and arena that disagree, a ring
 * record outside the space or counting more than is live, growth state that
 * is not a number: CorruptionError here. The chains themselves are walked by check().
 */
export function verifyFrameAttach(frame: FrameAllocator, bytes: number, who: string): void {
  const { arenas, controlPtr } = frame;
  const u32 = frame.u32;
  const f64 = frame.f64;
  const w = frame.w;
  const d = frame.d;
  if (arenas < 1 || arenas > MAX_ARENAS || bytes !== frameControlBytes(arenas) || !(f64[d + D_FACTOR]! > 1)) {
    throw new CorruptionError(`${who}: the FrameAllocator at ${hex(controlPtr)} records ${arenas} arenas in ${bytes} bytes (growth factor ${f64[d + D_FACTOR]}): no frame allocator has that layout.`);
  }
  const number = f64[d + D_FRAME]!;
  if (!Number.isSafeInteger(number) || number < 0) throw new CorruptionError(`${who}: the FrameAllocator at ${hex(controlPtr)} records frame ${number}: the block is damaged.`);
  const word = (at: number, min: number, max: number, field: string): number => controlWord(u32, controlPtr, at, min, max, FRAME_LAYOUT, field);
  const tag = number >>> 0;
  word(W_FRAME_TAG, tag, tag, `frame tag (frame ${number})`);
  const arena = number % arenas;
  word(W_ARENA, arena, arena, `current arena (frame ${number} of ${arenas} arenas)`);
  const live = u32[w + W_LIVE_COUNT]!;
  const liveBytes = u32[w + W_LIVE_BYTES]!;
  word(W_START_COUNT, 0, live, "live count at frame start");
  word(W_START_BYTES, 0, liveBytes, "live bytes at frame start");
  for (let j = 0; j < arenas; j++) {
    if (j === arena) continue;
    const r = W_RING + j * R_STRIDE;
    const first = u32[w + r + R_FIRST]!;
    if (first === 0) {
      word(r + R_LAST, 0, 0, `arena ${j}'s last chunk`);
      word(r + R_COUNT, 0, 0, `arena ${j}'s block count`);
    } else {
      frame.chain.expectChunk(first, `arena ${j}'s first chunk`);
      frame.chain.expectChunk(u32[w + r + R_LAST]!, `arena ${j}'s last chunk`);
      word(r + R_COUNT, 0, live, `arena ${j}'s block count`);
    }
    word(r + R_BYTES, 0, liveBytes, `arena ${j}'s bytes`);
  }
  const typical = f64[d + D_TYPICAL]!;
  const limit = f64[d + D_LIMIT]!;
  if (!(typical >= 0 && typical < Number.POSITIVE_INFINITY) || !(limit >= 0)) {
    throw new CorruptionError(`${who}: the FrameAllocator at ${hex(controlPtr)} has growth state ${typical} / ${limit}: the block is damaged.`);
  }
}

/**
 * Walks every arena's chain block by block and the spare list (frame-allocator.ts documents what it finds).
 */
export function checkFrame(frame: FrameAllocator): void {
  const { chain, arenas, debug, key } = frame;
  const u32 = frame.u32;
  const w = frame.w;
  const number = frame.f64[frame.d + D_FRAME]!;
  const tag = u32[w + W_FRAME_TAG]!;
  const arena = u32[w + W_ARENA]!;
  if (!Number.isSafeInteger(number) || number < 0 || tag !== number >>> 0 || arena !== number % arenas) {
    throw chain.corrupt(`its frame number ${number}, frame tag ${tag} and current arena ${arena} disagree`);
  }
  const live = u32[w + W_LIVE_COUNT]!;
  const liveBytes = u32[w + W_LIVE_BYTES]!;
  if (u32[w + W_START_COUNT]! > live || u32[w + W_START_BYTES]! > liveBytes) throw chain.corrupt("the counts at frame start exceed the live counts");
  const census = new ChunkCensus(chain, [[frame.controlPtr, frame.controlPtr + frameControlBytes(arenas), "the control block"]]);
  let total = 0;
  let totalBytes = 0;
  let lastBlock = 0;
  for (let j = 0; j < arenas; j++) {
    const current = j === arena;
    const r = w + W_RING + j * R_STRIDE;
    const first = current ? u32[w + W_FIRST]! : u32[r + R_FIRST]!;
    const last = current ? u32[w + W_CHUNK]! : u32[r + R_LAST]!;
    const arenaTag = (tag - ((arena - j + arenas) % arenas)) | 0;
    let count = 0;
    let bytes = 0;
    chain.walkChain(first, last, `arena ${j}'s chain`, (ch) => {
      census.add(ch, `a chunk of arena ${j}`);
      const c = ch >>> 2;
      if ((u32[c + C_OWNER]! | 0) !== arenaTag) throw chain.corrupt(`chunk ${hex(ch)} of arena ${j} says it holds frame tag ${u32[c + C_OWNER]}, expected ${arenaTag >>> 0}`);
      const chunkEnd = ch + u32[c + C_BYTES]!;
      const inUse = current && ch === last;
      const limit = inUse ? u32[w + W_TOP]! : u32[c + C_TOP]!;
      if (limit < ch + CHUNK_HEADER || limit > chunkEnd || limit % 8 !== 0) throw chain.corrupt(`chunk ${hex(ch)} has its top at ${hex(limit)}, outside the chunk`);
      if (inUse && u32[w + W_END] !== chunkEnd) throw chain.corrupt(`the bump end ${hex(u32[w + W_END]!)} is not the end of the current chunk ${hex(ch)}`);
      chain.walkBlocks(ch, limit, FRAME_BLOCK_HEADER, (ptr) => {
        const h = (ptr - FRAME_BLOCK_HEADER) >>> 2;
        const sizeWord = u32[h]!;
        const size = sizeWord & SIZE_MASK;
        if (sizeWord >= FREED_FLAG && !debug) throw chain.corrupt(`block ${hex(ptr)} has its freed bit set outside debug mode`);
        const f = (u32[h + 1]! ^ stampHash(ptr, size, key)) | 0;
        if (f !== arenaTag) throw chain.corrupt(`the header of block ${hex(ptr)} in arena ${j} was overwritten (it decodes to frame tag ${f >>> 0}, expected ${arenaTag >>> 0})`);
        count++;
        bytes += size;
        if (inUse) lastBlock = ptr;
        return ((ptr + size + 7) & -8) >>> 0;
      });
      if (debug) throwFault(findFillFault(frame, ch, limit, chunkEnd, "found by check()"));
    });
    const wantCount = current ? live - u32[w + W_START_COUNT]! : u32[r + R_COUNT]!;
    const wantBytes = current ? liveBytes - u32[w + W_START_BYTES]! : u32[r + R_BYTES]!;
    if (count !== wantCount || bytes !== wantBytes) throw chain.corrupt(`arena ${j} holds ${count} blocks (${bytes} B), its counters say ${wantCount} (${wantBytes} B)`);
    total += count;
    totalBytes += bytes;
  }
  if (total !== live || totalBytes !== liveBytes) throw chain.corrupt(`the arenas hold ${total} blocks (${totalBytes} B), the counters say ${live} (${liveBytes} B)`);
  const topPtr = u32[w + W_TOP_PTR]!;
  if (topPtr !== 0 && topPtr !== lastBlock) throw chain.corrupt(`the most recent block is recorded as ${hex(topPtr)}, but the current chunk's last block is ${hex(lastBlock)}`);
  chain.walkSpares((s) => {
    census.add(s, "a spare chunk");
    if (debug) throwFault(findFillFault(frame, s, s + CHUNK_HEADER, s + u32[(s >>> 2) + C_BYTES]!, "found by check() in a spare chunk"));
  });
  census.finish();
}

function throwFault(fault: CorruptionError | undefined): void {
  if (fault !== undefined) throw fault;
}
