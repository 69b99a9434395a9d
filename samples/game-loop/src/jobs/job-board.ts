/*
 * The job board: how the main thread hands a frame's parallel phases to the
 * job workers without a message per frame. It is an Int32Array over a
 * SharedArrayBuffer (the sync words stay out of memkit's memory, so its
 * growth never moves them):
 *
 *   main                                      worker k (share k of S = workers + 1)
 *   write the phase's parameters
 *   pending = workers; phase = P; seq++  ──►  wakes on seq (Atomics.wait), reads P
 *   notify(seq)                               runs its index range [k*n/S, (k+1)*n/S)
 *   runs share 0 itself                       writes its results into its result row
 *   waits until pending == 0          ◄──     pending-- (the last one notifies)
 *   reads the result rows in share order
 *
 * Every hand-over goes through an Atomics operation (seq-cst), so what one
 * side wrote before it (parameters, results, the game's records in memkit's
 * shared memory) is visible to the other after it. A worker that throws
 * writes its message into the error buffer, sets `failed` and counts itself
 * done, so the main thread learns of it at the same join, synchronously.
 */

/** Board words (i32 indices). */
export const W_SEQ = 0; // bumped once per dispatched phase
export const W_PHASE = 1; // the phase to run (PHASE_*)
export const W_PENDING = 2; // workers still running it
export const W_FAILED = 3; // 0, or the failing worker's share index
export const W_ERROR_BYTES = 4; // UTF-8 bytes of the failure in the error buffer
export const W_FRAME = 5; // the main thread's play frame (for messages)
// The phase's parameters: the unit count and byte addresses of the records and per-frame arrays.
export const W_N = 8;
export const W_BODIES = 9; // physics bodies (record 0)
export const W_UNITS = 10; // gameplay units (record 0)
export const W_BRAINS = 11; // AI brains (record 0)
export const W_NEXT = 12; // spatial-hash chains: i32 per body, the next body in its cell (-1: none)
export const W_HEADS = 13; // spatial-hash heads: i32 per cell, its first body (-1: none)
export const W_FLOW = 14; // flow fields: i32 per team per cell, the next cell toward the enemy base
export const W_TARGETS = 15; // AI: i32 per unit, the dense index of its target (-1: none)
export const W_PLANS = 16; // AI: i32 per unit, a plan request (-1: none; see kernels.ts)
/** First result row; one row of RESULT_WORDS per share (share 0 is the main thread's). */
export const W_RESULTS = 32;
export const RESULT_WORDS = 4;
export const R_CONTACTS = 0; // u32 index of the share's contact list
export const R_CONTACT_COUNT = 1; // its length (values, two per pair)
export const R_SENSES = 2; // sensing passes in the share
export const R_PLANS = 3; // paths planned in the share

/** Phases. */
export const PHASE_EXIT = 1;
export const PHASE_CONTACTS = 2;
export const PHASE_AI_THINK = 3;
export const PHASE_AI_PLAN_STEER = 4;

/** Most workers (threads of the memory's table stay free for others). */
export const MAX_WORKERS = 16;
/** Bytes of the error buffer: a failing worker's message and stack, truncated. */
export const ERROR_BUFFER_BYTES = 16 << 10;

/** The phase's name, for messages. */
export function phaseName(phase: number): string {
  switch (phase) {
    case PHASE_EXIT:
      return "exit";
    case PHASE_CONTACTS:
      return "physics contacts";
    case PHASE_AI_THINK:
      return "AI think";
    case PHASE_AI_PLAN_STEER:
      return "AI plan and steer";
    default:
      return `phase ${phase}`;
  }
}

/** A new board for `workers` workers. */
export function createBoard(workers: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (W_RESULTS + RESULT_WORDS * (workers + 1))));
}

/** First index of share `share`'s range when `n` units are split `shares` ways. */
export function rangeStart(n: number, share: number, shares: number): number {
  return Math.floor((n * share) / shares);
}
