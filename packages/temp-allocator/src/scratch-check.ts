import { CorruptionError, controlWord, hex } from "@memkit/core";
import { ChunkCensus } from "./chunk-census.js";
import { CHUNK_HEADER, C_BYTES, C_OWNER, C_PREV, C_TOP } from "./chunk.js";
import type { ScratchAllocator } from "./scratch-allocator.js";
import {
  MARK_INDEX_LIMIT,
  M_CHUNK,
  M_DEPTH,
  M_LIVE_BYTES,
  M_LIVE_COUNT,
  M_STRIDE,
  M_TOP,
  M_TOP_PTR,
  M_VALUE,
  SCRATCH_CONTROL_BYTES,
  SCRATCH_LAYOUT,
  W_DEPTH,
  W_FLOOR_PTR,
  W_LIVE_BASE,
  W_LIVE_CAP,
  W_MARK_CAP,
  W_MARK_COUNT,
  W_TABLES,
  W_TABLES_BYTES,
} from "./scratch-layout.js";
import { stampHash } from "./stamp.js";
import { W_CHUNK, W_CHUNKS, W_END, W_FIRST, W_LIVE_BYTES, W_LIVE_COUNT, W_TOP, W_TOP_PTR } from "./temp-layout.js";

/** Scratch block header: 16 bytes below the pointer (scratch-allocator.ts draws it). */
export const SCRATCH_BLOCK_HEADER = 16;

/** The check word of a scratch block header: its address, size and stack index, under the stack's key. */
export function blockCheck(ptr: number, size: number, index: number, key: number): number {
  return stampHash(ptr, size ^ Math.imul(index + 1, 0x9e3779b1), key) >>> 0;
}

/**
 * Attach: the stack's own words after the common ones (TempHandle's
 * verifyChainWords): the tables block must lie in the space, be a block of
 * the backing and hold what its capacities say; marks and live blocks must
 * fit them. The chain, the marks and the live table are walked by check().
 */
export function verifyScratchAttach(s: ScratchAllocator, bytes: number, who: string): void {
  const { controlPtr, space } = s;
  const u32 = s.u32;
  const w = s.w;
  const size = space.byteLength;
  const word = (at: number, min: number, max: number, field: string): number => controlWord(u32, controlPtr, at, min, max, SCRATCH_LAYOUT, field);
  if (bytes !== SCRATCH_CONTROL_BYTES) throw new CorruptionError(`${who}: the ScratchAllocator at ${hex(controlPtr)} claims ${bytes} bytes; its layout has ${SCRATCH_CONTROL_BYTES}.`);
  word(W_DEPTH, 0, Math.max(0, u32[w + W_CHUNKS]! - 1), "chunk depth");
  const tables = word(W_TABLES, 0, size - 8, "tables block");
  if (tables === 0) {
    for (const [at, field] of [[W_TABLES_BYTES, "tables bytes"], [W_MARK_CAP, "mark capacity"], [W_LIVE_CAP, "live capacity"], [W_LIVE_BASE, "live table"], [W_MARK_COUNT, "mark count"], [W_LIVE_COUNT, "live count (no tables)"]] as const) {
      word(at, 0, 0, field);
    }
  } else {
    if (tables % 8 !== 0) word(W_TABLES, 0, 0, "tables block (8-aligned)");
    const tablesBytes = word(W_TABLES_BYTES, 0, size - tables, "tables bytes");
    const markCap = word(W_MARK_CAP, 1, MARK_INDEX_LIMIT, "mark capacity");
    const liveCap = word(W_LIVE_CAP, 0, Math.floor((tablesBytes - markCap * M_STRIDE * 4) / 4), "live capacity");
    const base = (tables >>> 2) + markCap * M_STRIDE;
    word(W_LIVE_BASE, base, base, "live table");
    word(W_MARK_COUNT, 0, markCap, "mark count");
    word(W_LIVE_COUNT, 0, liveCap, "live count");
    if (!s.backing.owns(tables) || s.backing.allocatedSize(tables) < tablesBytes) {
      throw new CorruptionError(`${who}: the ScratchAllocator at ${hex(controlPtr)} keeps its tables at ${hex(tables)}, which is not a ${tablesBytes}-byte block of its backing "${s.backing.name}".`);
    }
  }
  word(W_FLOOR_PTR, 0, u32[w + W_TOP]!, "the innermost mark's block");
}

/** What the walk learned about each live block, by stack index: what a mark taken above it must record. */
interface BlockFacts {
  ptr: number[];
  /** W_TOP just past the block. */
  end: number[];
  chunk: number[];
  depth: number[];
  /** W_LIVE_BYTES counting blocks 0 .. i. */
  bytes: number[];
}

/** Walks the chain, the live table, the marks and the spare list (scratch-allocator.ts documents what it finds). */
export function checkScratch(s: ScratchAllocator): void {
  const { chain, key } = s;
  const u32 = s.u32;
  const w = s.w;
  const tables = u32[w + W_TABLES]!;
  const own: [number, number, string][] = [[s.controlPtr, s.controlPtr + SCRATCH_CONTROL_BYTES, "the control block"]];
  if (tables !== 0) own.push([tables, tables + u32[w + W_TABLES_BYTES]!, "the tables block"]);
  const census = new ChunkCensus(chain, own);
  const liveCount = u32[w + W_LIVE_COUNT]!;
  const base = u32[w + W_LIVE_BASE]!;
  if (tables === 0 ? liveCount !== 0 || u32[w + W_MARK_COUNT] !== 0 : liveCount > u32[w + W_LIVE_CAP]! || u32[w + W_MARK_COUNT]! > u32[w + W_MARK_CAP]!) {
    throw chain.corrupt(`it counts ${liveCount} live blocks and ${u32[w + W_MARK_COUNT]} marks, more than its tables hold`);
  }
  if (tables !== 0 && (!s.backing.owns(tables) || s.backing.allocatedSize(tables) < u32[w + W_TABLES_BYTES]!)) {
    throw chain.corrupt(`its tables at ${hex(tables)} are not a block of the backing "${s.backing.name}" as large as recorded`);
  }
  const first = u32[w + W_FIRST]!;
  const current = u32[w + W_CHUNK]!;
  const facts: BlockFacts = { ptr: [], end: [], chunk: [], depth: [], bytes: [] };
  let bytes = 0;
  let chunks = 0;
  let previous = 0;
  chain.walkChain(first, current, "the stack's chain", (ch, depth) => {
    census.add(ch, `chunk ${depth} of the stack`);
    chunks++;
    const c = ch >>> 2;
    if (u32[c + C_OWNER] !== depth) throw chain.corrupt(`chunk ${depth} at ${hex(ch)} says it is at depth ${u32[c + C_OWNER]}`);
    if (u32[c + C_PREV] !== previous) throw chain.corrupt(`chunk ${depth} at ${hex(ch)} links back to ${hex(u32[c + C_PREV]!)}, expected ${hex(previous)}`);
    previous = ch;
    const chunkEnd = ch + u32[c + C_BYTES]!;
    const limit = ch === current ? u32[w + W_TOP]! : u32[c + C_TOP]!;
    if (limit < ch + CHUNK_HEADER || limit > chunkEnd || limit % 8 !== 0) throw chain.corrupt(`chunk ${depth} at ${hex(ch)} has its top at ${hex(limit)}, outside the chunk`);
    if (ch === current && u32[w + W_END] !== chunkEnd) throw chain.corrupt(`the bump end ${hex(u32[w + W_END]!)} is not the end of the current chunk`);
    chain.walkBlocks(ch, limit, SCRATCH_BLOCK_HEADER, (ptr) => {
      const h = (ptr - SCRATCH_BLOCK_HEADER) >>> 2;
      const size = u32[h]!;
      const index = facts.ptr.length;
      if (u32[h + 3] !== blockCheck(ptr, size, u32[h + 1]!, key)) throw chain.corrupt(`the header of block ${hex(ptr)} was overwritten (found size ${size}, check ${hex(u32[h + 3]!)})`);
      if (index >= liveCount || u32[h + 1] !== index || u32[base + index] !== ptr) {
        throw chain.corrupt(`block ${hex(ptr)} says it is block ${u32[h + 1]} of the stack; it is block ${index} of ${liveCount}, which the live table records at ${hex(index < liveCount ? u32[base + index]! : 0)}`);
      }
      const end = ((ptr + size + 7) & -8) >>> 0;
      bytes += size;
      facts.ptr.push(ptr);
      facts.end.push(end);
      facts.chunk.push(ch);
      facts.depth.push(depth);
      facts.bytes.push(bytes);
      return end;
    });
  });
  const count = facts.ptr.length;
  if (count !== liveCount || bytes !== u32[w + W_LIVE_BYTES]) throw chain.corrupt(`the chunks hold ${count} blocks (${bytes} B), the counters say ${liveCount} (${u32[w + W_LIVE_BYTES]} B)`);
  if (u32[w + W_DEPTH] !== Math.max(0, chunks - 1)) throw chain.corrupt(`the current chunk is recorded at depth ${u32[w + W_DEPTH]}, but the chain holds ${chunks} chunks`);
  const topPtr = count > 0 ? facts.ptr[count - 1]! : 0;
  if (u32[w + W_TOP_PTR] !== topPtr) throw chain.corrupt(`the last block is ${hex(topPtr)}, the stack's top block is ${hex(u32[w + W_TOP_PTR]!)}`);
  if (current !== 0) {
    const top = count > 0 ? facts.end[count - 1]! : first + CHUNK_HEADER;
    if (u32[w + W_TOP] !== top || (count > 0 && facts.chunk[count - 1] !== current)) throw chain.corrupt(`the top ${hex(u32[w + W_TOP]!)} is not just past the top block (${hex(top)})`);
  }
  checkMarks(s, facts, first);
  chain.walkSpares((c) => census.add(c, "a spare chunk"));
  census.finish();
}

/** Each mark records exactly the stack as it was below it: the blocks it lies above, their bytes, the top, chunk and depth. */
function checkMarks(s: ScratchAllocator, facts: BlockFacts, first: number): void {
  const chain = s.chain;
  const u32 = s.u32;
  const w = s.w;
  const marks = u32[w + W_MARK_COUNT]!;
  let below = 0;
  let floor = 0;
  for (let i = 0; i < marks; i++) {
    const r = (u32[w + W_TABLES]! >>> 2) + i * M_STRIDE;
    const lc = u32[r + M_LIVE_COUNT]!;
    if (u32[r + M_VALUE]! % MARK_INDEX_LIMIT !== i) throw chain.corrupt(`mark slot ${i} holds a mark for slot ${u32[r + M_VALUE]! % MARK_INDEX_LIMIT}`);
    if (lc < below || lc > facts.ptr.length) throw chain.corrupt(`mark ${i} lies above ${lc} blocks; the marks below it lie above ${below}, the stack holds ${facts.ptr.length}`);
    below = lc;
    const chunk = u32[r + M_CHUNK]!;
    let want: [number, number, number, number, number];
    if (lc > 0) want = [facts.ptr[lc - 1]!, facts.end[lc - 1]!, facts.chunk[lc - 1]!, facts.depth[lc - 1]!, facts.bytes[lc - 1]!];
    else if (chunk === 0) want = [0, 0, 0, 0, 0];
    else want = [0, first + CHUNK_HEADER, first, 0, 0];
    const found = [u32[r + M_TOP_PTR]!, u32[r + M_TOP]!, chunk, u32[r + M_DEPTH]!, u32[r + M_LIVE_BYTES]!];
    if (found.some((v, k) => v !== want[k])) {
      throw chain.corrupt(`mark ${i} records top block ${hex(found[0]!)}, top ${hex(found[1]!)}, chunk ${hex(found[2]!)} at depth ${found[3]}, ${found[4]} B; the stack below it says ${hex(want[0])}, ${hex(want[1])}, ${hex(want[2])} at depth ${want[3]}, ${want[4]} B`);
    }
    floor = found[0]!;
  }
  if (u32[w + W_FLOOR_PTR] !== floor) throw chain.corrupt(`the innermost mark protects ${hex(floor)}, the stack remembers ${hex(u32[w + W_FLOOR_PTR]!)}`);
}
