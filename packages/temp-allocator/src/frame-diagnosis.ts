import { DoubleFreeError, InvalidPointerError, hex, invalidPointer } from "@memkit/core";
import { CHUNK_HEADER, C_BYTES, C_TOP } from "./chunk.js";
import type { FrameAllocator } from "./frame-allocator.js";
import { history } from "./frame-debug.js";
import { R_FIRST, R_LAST, R_STRIDE, W_ARENA, W_RING } from "./frame-layout.js";
import { W_CHUNK, W_FIRST, W_TOP } from "./temp-layout.js";

/*
 * Why a pointer is not a live frame block, in words: the frames of a stale
 * pointer, or where a foreign or interior one lies. Cold: only errors get here.
 */

/** What a pointer turned out to be (FrameAllocator's classify; LIVE, 0, is temp-handle.ts'). */
export const NOT_BLOCK = 1;
export const STALE = 2;
export const FREED = 3;

/** The frame arena `j` holds now. */
export function frameOfArena(frame: FrameAllocator, j: number): number {
  const current = frame.u32[frame.w + W_ARENA]!;
  return frame.frame - ((current - j + frame.arenas) % frame.arenas);
}

/**
 * The error for `ptr` (classified as `code`, with the `size` and `age` its
 * header decoded to) in call `who`: DoubleFreeError for a second free in
 * debug mode, InvalidPointerError naming the frames otherwise.
 */
export function framePointerError(frame: FrameAllocator, who: string, ptr: number, code: number, freeing: boolean, size: number, age: number): Error {
  const now = frame.frame;
  if (code === FREED) {
    const what = `${hex(ptr)} (${size} B, allocated in frame ${now - age}) was already deallocated`;
    return freeing
      ? new DoubleFreeError(`${who}: ${what}. Frame memory returns when its frame is recycled: deallocate it once, or not at all.`)
      : new InvalidPointerError(`${who}: ${what}; it is not a live block.`);
  }
  if (code === STALE) {
    const from = now - age;
    const arenas = frame.arenas;
    return new InvalidPointerError(
      `${who}: ${hex(ptr)} is a stale frame pointer: it was allocated in frame ${from} (${size} B), and frame memory stays valid ` +
        `for ${arenas} frame${arenas === 1 ? "" : "s"} (through frame ${from + arenas - 1}); this is frame ${now}.\n` +
        `  Copy data that must live longer into a longer-lived allocator, or raise the arena count.`,
    );
  }
  // Not a block: say where the pointer lies, if anywhere in our chunks (a cold walk over the chunks).
  const [chunk, arena] = locate(frame, ptr);
  if (chunk === 0) return invalidPointer(who, ptr, `not in any of its chunks; this is frame ${now}`);
  const past = history(frame, chunk, ptr);
  if (arena < 0) {
    return new InvalidPointerError(`${who}: ${hex(ptr)} is a stale frame pointer: it lies in a spare chunk (${hex(chunk)}) whose frame was recycled${past}; this is frame ${now}.`);
  }
  const owner = frameOfArena(frame, arena);
  const u32 = frame.u32;
  const inUseEnd = chunk === u32[frame.w + W_CHUNK]! ? u32[frame.w + W_TOP]! : u32[(chunk >>> 2) + C_TOP]!;
  if (ptr >= inUseEnd) {
    return new InvalidPointerError(
      `${who}: ${hex(ptr)} is a stale frame pointer: it lies past the blocks frame ${owner} has allocated in chunk ${hex(chunk)} (memory recycled${past}); this is frame ${now}.`,
    );
  }
  return new InvalidPointerError(
    `${who}: ${hex(ptr)} was not handed out by this allocator (it lies inside frame ${owner}'s memory in chunk ${hex(chunk)}, +${ptr - chunk}, ` +
      `but is not the start of a live block: an interior pointer, or a stale one whose memory frame ${owner} reused${past}); this is frame ${now}.`,
  );
}

/** The chunk holding `addr` and its arena (-1: a spare), or [0, -1]. Walks every chunk; a damaged list answers "not found". */
function locate(frame: FrameAllocator, addr: number): [number, number] {
  const u32 = frame.u32;
  const w = frame.w;
  const current = u32[w + W_ARENA]!;
  const inside = (c: number): boolean => addr >= c + CHUNK_HEADER && addr <= c + u32[(c >>> 2) + C_BYTES]!;
  for (let j = 0; j < frame.arenas; j++) {
    const r = w + W_RING + j * R_STRIDE;
    const first = j === current ? u32[w + W_FIRST]! : u32[r + R_FIRST]!;
    const last = j === current ? u32[w + W_CHUNK]! : u32[r + R_LAST]!;
    let found = 0;
    try {
      frame.chain.walkChain(first, last, `arena ${j}`, (c) => {
        if (found === 0 && inside(c)) found = c;
      });
    } catch {
      // check() reports the damage; here it only means "not found in this arena".
    }
    if (found !== 0) return [found, j];
  }
  const spare = frame.chain.spareHolding(addr);
  return [spare, -1];
}
