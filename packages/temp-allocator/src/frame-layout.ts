import type { ControlLayout } from "@memkit/core";
import { TEMP_FIXED_WORDS, TEMP_STATE_END } from "./temp-layout.js";

/*
 * FrameAllocator's control block ("FRAM"): the words every temp allocator
 * starts with (temp-layout.ts: header, fixed words, the bump chain of the
 * current arena, the counters), then the frame and the ring of arenas.
 * W_ = u32 word offset, D_ = float64 slot offset, as in temp-layout.ts.
 *
 *  word
 *   0..23  temp-layout.ts (W_CONFIG holds arenas and the debug bit; D_FACTOR the growth factor)
 *   24     W_ARENA        the current arena: frame mod arenas
 *   25     W_FRAME_TAG    low 32 bits of the frame number (what block stamps carry)
 *   26..27 D_FRAME        (slot 13) the frame number: 0 until the first beginFrame()
 *   28     W_START_COUNT  W_LIVE_COUNT when the current frame began
 *   29     W_START_BYTES  W_LIVE_BYTES when it began
 *   30     W_FRAMES_SEEN  frames folded into the typical size (saturates at 2^32 - 1)
 *   31     (zero)
 *   32..33 D_TYPICAL      (slot 16) running typical frame bytes (frame-growth.ts)
 *   34..35 D_LIMIT        (slot 17) bytes the current frame may hold before the warning; Infinity once it fired
 *   36..   W_RING         one record per arena, R_STRIDE words:
 *            +0 R_FIRST   first chunk of the arena's chain (0: none)
 *            +1 R_LAST    its last chunk, where that frame's bump stopped
 *            +2 R_COUNT   blocks the arena's frame allocated
 *            +3 R_BYTES   their bytes
 *          The current arena's chain is in the chain words (W_FIRST, W_CHUNK, W_TOP);
 *          its record is written when its frame ends.
 *
 * Arena j holds frame `frame - ((W_ARENA - j) mod arenas)`: the ring needs no frame numbers.
 */
export const FRAME_LAYOUT: ControlLayout = { kind: "FrameAllocator", magic: "FRAM", version: 1, fixedWords: TEMP_FIXED_WORDS };

export const W_ARENA = TEMP_STATE_END;
export const W_FRAME_TAG = TEMP_STATE_END + 1;
export const D_FRAME = 13;
export const W_START_COUNT = 28;
export const W_START_BYTES = 29;
export const W_FRAMES_SEEN = 30;
export const D_TYPICAL = 16;
export const D_LIMIT = 17;
export const W_RING = 36;
export const R_FIRST = 0;
export const R_LAST = 1;
export const R_COUNT = 2;
export const R_BYTES = 3;
export const R_STRIDE = 4;

/** Most arenas a frame allocator may have. */
export const MAX_ARENAS = 64;

/** Bytes of the control block of a frame allocator with `arenas` arenas. */
export function frameControlBytes(arenas: number): number {
  return (W_RING + arenas * R_STRIDE) * 4;
}
