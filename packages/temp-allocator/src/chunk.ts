import { magic } from "@memkit/core";

/*
 * Chunks: the big blocks a temp allocator leases from its backing allocator
 * and bumps blocks out of. Every chunk starts with a 32-byte header, so the
 * lists that hold chunks (a chain, the spare list) are linked through the
 * chunks themselves:
 *
 *  chunk                                                       chunk + bytes
 *  +--------------------------------+------------------------------------+
 *  | header (32 B)                  | blocks, bumped upward ->    | free |
 *  +--------------------------------+------------------------------------+
 *   +0  u32 next        next chunk on the list holding this one (a frame arena's
 *                       chain, the scratch stack's chain, or the spare list); 0 ends it
 *   +4  u32 bytes       chunk size, header included (the backing's usable size, rounded down to 8)
 *   +8  u32 top         where the used bytes end, saved when the bump pointer moved on
 *   +12 u32 owner       scratch: depth in the stack's chain; frame: low 32 bits of the frame using it
 *   +16 u32 freedFrame  frame debug mode: the frame whose blocks were last wiped here
 *   +20 u32 freedTop    ... and how far that frame had filled the chunk
 *   +24 u32 magic       CHUNK_MAGIC ^ the allocator's key: check() knows its own chunks
 *   +28 u32 prev        the chunk before this one on its chain (0 for the first)
 */
export const CHUNK_HEADER = 32;
/** u32 word offsets of the chunk header fields. */
export const C_NEXT = 0;
export const C_BYTES = 1;
export const C_TOP = 2;
export const C_OWNER = 3;
export const C_FREED_FRAME = 4;
export const C_FREED_TOP = 5;
export const C_MAGIC = 6;
export const C_PREV = 7;
/** `freedFrame` of a chunk whose memory never held a block. */
export const NO_FRAME = 0xffff_ffff;
/** "TMPC": marks a temp-allocator chunk (xor the allocator's key). */
export const CHUNK_MAGIC: number = magic("TMPC");
/** Largest chunk: keeps every address and block size below 2^31. */
export const MAX_CHUNK_BYTES = 0x7fff_fff8;
/** Smallest chunk a header can describe: the header and one 8-byte block header. */
export const SMALLEST_CHUNK_BYTES = CHUNK_HEADER + 16;
