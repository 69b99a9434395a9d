import type { ControlLayout } from "@memkit/core";
import { TEMP_FIXED_WORDS, TEMP_STATE_END } from "./temp-layout.js";

/*
 * ScratchAllocator's control block ("SCRT"): the words every temp allocator
 * starts with (temp-layout.ts: header, fixed words, the bump chain, the
 * counters), then the stack's own. W_ = u32 word offset.
 *
 *  word
 *   0..23  temp-layout.ts
 *   24     W_DEPTH        depth of the current chunk in the chain (0 = the first)
 *   25     W_FLOOR_PTR    the block the innermost mark protects from popping (its top block; 0 none)
 *   26     W_MARK_COUNT   live marks
 *   27     W_TABLES       the tables block leased from the backing (0: none yet), below
 *   28     W_TABLES_BYTES its usable bytes
 *   29     W_MARK_CAP     mark records it holds
 *   30     W_LIVE_CAP     live-table entries it holds
 *   31     W_LIVE_BASE    u32 index of live[0] (W_TABLES / 4 + W_MARK_CAP * M_STRIDE): the hot path's one read
 *
 * Tables block (grown by doubling on a cold path, given back by trim() when
 * the stack is empty and by destroy()):
 *
 *   tables                        + markCap * 32                  + liveCap * 4
 *   | mark records (M_STRIDE words) | live[i]: pointer of live block i |
 *
 *   mark record: +0 M_VALUE      the mark as handed out (seq * 2^10 + index)
 *                +1 M_TOP        W_TOP when it was taken
 *                +2 M_TOP_PTR    W_TOP_PTR
 *                +3 M_CHUNK      W_CHUNK (0: no chunk leased then)
 *                +4 M_DEPTH      W_DEPTH
 *                +5 M_LIVE_COUNT W_LIVE_COUNT
 *                +6 M_LIVE_BYTES W_LIVE_BYTES
 *                +7 (zero)
 *
 * The live table is what decides liveness: release(mark) is O(1) and leaves
 * the released blocks' headers in memory, where a later block's padding or
 * payload can cover them intact; a pointer is live only when its header's
 * index i is below W_LIVE_COUNT and live[i] is that pointer.
 */
export const SCRATCH_LAYOUT: ControlLayout = { kind: "ScratchAllocator", magic: "SCRT", version: 1, fixedWords: TEMP_FIXED_WORDS };

export const W_DEPTH = TEMP_STATE_END;
export const W_FLOOR_PTR = TEMP_STATE_END + 1;
export const W_MARK_COUNT = TEMP_STATE_END + 2;
export const W_TABLES = TEMP_STATE_END + 3;
export const W_TABLES_BYTES = TEMP_STATE_END + 4;
export const W_MARK_CAP = TEMP_STATE_END + 5;
export const W_LIVE_CAP = TEMP_STATE_END + 6;
export const W_LIVE_BASE = TEMP_STATE_END + 7;
/** Bytes of a scratch control block. */
export const SCRATCH_CONTROL_BYTES = (TEMP_STATE_END + 8) * 4;

export const M_VALUE = 0;
export const M_TOP = 1;
export const M_TOP_PTR = 2;
export const M_CHUNK = 3;
export const M_DEPTH = 4;
export const M_LIVE_COUNT = 5;
export const M_LIVE_BYTES = 6;
export const M_STRIDE = 8;

/*
 * Marks are plain numbers: mark = seq * 2^10 + index.
 *   index (10 bits): the mark's slot in the mark stack (up to 1,024 nested marks)
 *   seq   (20 bits): a sequence number shared by every ScratchAllocator in this
 *                    JS realm, 1..2^20-1, so marks issued close together differ
 * 20 + 10 = 30 bits: every mark is a small integer (a V8 Smi), so passing one
 * around never allocates. release(mark) is valid only when slot `index` is
 * below the current depth and still holds this exact value, which refuses a
 * mark released twice, a mark dropped by releasing an earlier one or by
 * reset(), and a mark from another ScratchAllocator. (The sequence wraps
 * after about a million marks; a stale mark would have to be a multiple of
 * that many marks old, at the same depth, to be mistaken for a live one.)
 */
export const MARK_INDEX_LIMIT = 1 << 10;
export const MARK_SEQ_LIMIT = 1 << 20;
