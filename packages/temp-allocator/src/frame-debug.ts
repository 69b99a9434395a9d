import { CorruptionError, hex } from "@memkit/core";
import { CHUNK_HEADER, C_BYTES, C_FREED_FRAME, C_FREED_TOP, C_TOP, NO_FRAME } from "./chunk.js";
import type { FrameAllocator } from "./frame-allocator.js";
import { W_FRAME_TAG } from "./frame-layout.js";

/*
 * Debug mode of the frame allocator: recycled frame memory and fresh chunks
 * hold FRAME_FREED_BYTE, so a write through a pointer kept past its frame
 * shows as a different byte there. Checked where memory is handed out again
 * (allocate), where an arena is recycled (beginFrame), and everywhere free by
 * check(). Each chunk header remembers which frame last used it and how far
 * (C_FREED_FRAME, C_FREED_TOP), so the message can name the frame the
 * memory belonged to.
 */

/** Debug mode fills recycled frame memory with this byte ("dead"); a different byte there means a stale write. */
export const FRAME_FREED_BYTE = 0xdd;
const FREED_WORD = 0xdddd_dddd;

/** The most recent frame number whose low 32 bits are `tag`. */
export function frameFromTag(frame: FrameAllocator, tag: number): number {
  return frame.frame - ((frame.u32[frame.w + W_FRAME_TAG]! - tag) >>> 0);
}

/** Throws (after refilling [from, to), so the allocator keeps working) unless the range holds the freed pattern. */
export function verifyFree(frame: FrameAllocator, chunk: number, from: number, to: number, when: string): void {
  const u32 = frame.u32;
  for (let i = from >>> 2, end = to >>> 2; i < end; i++) {
    if (u32[i] !== FREED_WORD) {
      const fault = findFillFault(frame, chunk, from, to, when)!;
      frame.u8.fill(FRAME_FREED_BYTE, from, to);
      throw fault;
    }
  }
}

/** The CorruptionError for the first byte in [from, to) of `chunk` that is not FRAME_FREED_BYTE, or undefined. */
export function findFillFault(frame: FrameAllocator, chunk: number, from: number, to: number, when: string): CorruptionError | undefined {
  const u8 = frame.u8;
  for (let addr = from; addr < to; addr++) {
    if (u8[addr] !== FRAME_FREED_BYTE) return fillFault(frame, chunk, addr, u8[addr]!, when);
  }
  return undefined;
}

function fillFault(frame: FrameAllocator, chunk: number, addr: number, found: number, when: string): CorruptionError {
  const u32 = frame.u32;
  const freedTag = u32[(chunk >>> 2) + C_FREED_FRAME]!;
  let owner: string;
  if (freedTag === NO_FRAME) {
    owner = "no block had used this memory since the chunk was leased";
  } else {
    const freed = frameFromTag(frame, freedTag);
    owner =
      addr < u32[(chunk >>> 2) + C_FREED_TOP]!
        ? `it belonged to frame ${freed}, whose memory was recycled when frame ${freed + frame.arenas} began`
        : `it lay past the blocks of frame ${freed} (older frame memory, or a write past the end of a block)`;
  }
  return new CorruptionError(
    `${frame.name}: freed frame memory at ${hex(addr)} was written after its frame ended (${when}): ` +
      `offset +${addr - chunk} in chunk ${hex(chunk)}, expected 0x${FRAME_FREED_BYTE.toString(16)}, found 0x${found.toString(16).padStart(2, "0")}; ` +
      `${owner}; this is frame ${frame.frame}.\n` +
      `  A pointer kept past its frame was written through: check it with assertLive(ptr) where it is used, ` +
      `or copy the data into a longer-lived allocator.`,
  );
}

/** ", it last held frame K's blocks" when debug mode recorded who used this memory before; "" outside debug mode. */
export function history(frame: FrameAllocator, chunk: number, addr: number): string {
  if (!frame.debug) return "";
  const u32 = frame.u32;
  const freedTag = u32[(chunk >>> 2) + C_FREED_FRAME]!;
  if (freedTag === NO_FRAME) return ", it never held a block before";
  const freed = frameFromTag(frame, freedTag);
  return addr < u32[(chunk >>> 2) + C_FREED_TOP]!
    ? `; it belonged to frame ${freed}, recycled when frame ${freed + frame.arenas} began`
    : `; it lay past the blocks of frame ${freed} (older memory, recycled earlier)`;
}

/**
 * At recycling: checks the free tail of each chunk of the arena chain
 * `first` .. `last` (whose frame had tag `endingTag`), records which frame
 * used how much of it, and fills the used part with the freed pattern (the
 * whole chunk when its tail was written, which repairs it). Returns the
 * first fault found, if any. The chain was checked by the caller.
 */
export function wipeArena(frame: FrameAllocator, first: number, last: number, endingTag: number): CorruptionError | undefined {
  let fault: CorruptionError | undefined;
  frame.chain.walkChain(first, last, "the recycled arena", (ch) => {
    const u32 = frame.u32;
    const c = ch >>> 2;
    const end = ch + u32[c + C_BYTES]!;
    const used = Math.min(Math.max(u32[c + C_TOP]!, ch + CHUNK_HEADER), end);
    const tailFault = findFillFault(frame, ch, used, end, "found when its arena was recycled");
    fault ??= tailFault;
    frame.u8.fill(FRAME_FREED_BYTE, ch + CHUNK_HEADER, tailFault === undefined ? used : end);
    u32[c + C_FREED_FRAME] = endingTag;
    u32[c + C_FREED_TOP] = used;
    u32[c + C_TOP] = ch + CHUNK_HEADER;
  });
  return fault;
}

/** Checks the spare chunks still hold the pattern (trim() does, before giving them back). */
export function spareFault(frame: FrameAllocator): CorruptionError | undefined {
  let fault: CorruptionError | undefined;
  frame.chain.walkSpares((s) => {
    fault ??= findFillFault(frame, s, s + CHUNK_HEADER, s + frame.u32[(s >>> 2) + C_BYTES]!, "found by trim() in a spare chunk");
  });
  return fault;
}
