import { OutOfMemoryError, SpaceViews, formatCount } from "@memkit/core";
import { hashDelete, hashFind, hashInsert } from "./ptr-hash.js";
import { leaseState, noteStateBytes, type StateOwner } from "./state-lease.js";
import { D_QUEUE_BYTES, W_QUEUE, W_QUEUE_CAP, W_QUEUE_COUNT, W_QUEUE_HEAD, W_QUEUE_HELD } from "./wrapper-layout.js";

/*
 * The blocks a quarantine holds, oldest first: a ring in a block leased from
 * the backing (wrapper-layout.ts: W_QUEUE .. W_QUEUE_HELD and D_QUEUE_BYTES
 * describe it), followed by an index from pointer to ring entry
 * (ptr-hash.ts), so push, shift of the oldest and "is this pointer
 * quarantined?" are O(1) and create no JS objects.
 *
 *   block:  ring   W_QUEUE_CAP entries of 8 words
 *           index  2 x W_QUEUE_CAP slots of 2 words: ptr, ring entry
 *
 *   entry:  +0 Q_PTR        the block (the wrapper's and the backing's pointer)
 *           +1 Q_SIZE       bytes asked for
 *           +2 Q_HELD       bytes filled and checked (backing.allocatedSize)
 *           +3 Q_ORIGIN     0 unknown, 1 known (Q_SCOPE, Q_STACK), 2 known and names the user's block
 *           +4 Q_SCOPE      text id of the owning scope's path (wrapper-texts.ts)
 *           +5 Q_STACK      text id of the allocation stack (0: none)
 *           +6 Q_USER_PTR   with origin 2: the pointer the user held (a scope above puts a header in front)
 *           +7 Q_USER_SIZE  with origin 2: the size the user asked for
 *
 * The ring grows (twice the entries, re-indexed) on a cold path.
 */

export const Q_PTR = 0;
export const Q_SIZE = 1;
export const Q_HELD = 2;
export const Q_ORIGIN = 3;
export const Q_SCOPE = 4;
export const Q_STACK = 5;
export const Q_USER_PTR = 6;
export const Q_USER_SIZE = 7;
/** Words of one ring entry. */
export const QUEUE_ENTRY_WORDS = 8;
/** Index slot: ptr, ring entry. */
const INDEX_WORDS = 2;
const I_ENTRY = 1;

/** Entries of the first ring. */
const FIRST_CAP = 16;
/** Most ring entries (the quarantine holds at most 2^20 blocks, plus the one being pushed). */
export const MAX_QUEUE_CAP = 1 << 21;

/** Bytes of a queue block of `cap` entries. */
export function queueBytes(cap: number): number {
  return cap * (QUEUE_ENTRY_WORDS + 2 * INDEX_WORDS) * 4;
}

/** One handle's view of its quarantine's queue. */
export class QuarantineQueue {
  /** The handle's u32 view (refreshed by the handle). */
  u32: Uint32Array = SpaceViews.dead.u32;
  /** The handle's f64 view. */
  f64: Float64Array = SpaceViews.dead.f64;

  /**
   * @param w u32 index of the wrapper's control block
   * @param d f64 index of the wrapper's control block
   */
  constructor(
    readonly w: number,
    readonly d: number,
  ) {}

  /** Blocks held. */
  get count(): number {
    return this.u32[this.w + W_QUEUE_COUNT]!;
  }

  /** Sum of the held (filled) bytes of the blocks. */
  get bytes(): number {
    return this.f64[this.d + D_QUEUE_BYTES]!;
  }

  /** True when one more block fits without growing (false on a dead view). */
  hasRoom(): boolean {
    const u32 = this.u32;
    return u32[this.w + W_QUEUE_COUNT]! < u32[this.w + W_QUEUE_CAP]!;
  }

  /** Word index of the `i`-th oldest entry (0 = oldest). */
  entryAt(i: number): number {
    const u32 = this.u32;
    const w = this.w;
    const slot = (u32[w + W_QUEUE_HEAD]! + i) & (u32[w + W_QUEUE_CAP]! - 1);
    return (u32[w + W_QUEUE]! >>> 2) + slot * QUEUE_ENTRY_WORDS;
  }

  /** Word index of the entry of the quarantined block at `ptr`, or -1. */
  find(ptr: number): number {
    const u32 = this.u32;
    const w = this.w;
    const cap = u32[w + W_QUEUE_CAP]!;
    if (!(cap > 0)) return -1;
    const ring = u32[w + W_QUEUE]! >>> 2;
    const e = hashFind(u32, ring + cap * QUEUE_ENTRY_WORDS, cap * 2, INDEX_WORDS, ptr);
    return e < 0 ? -1 : ring + u32[e + I_ENTRY]! * QUEUE_ENTRY_WORDS;
  }

  /** Appends a block (room must be there) and returns its entry's word index; the caller writes the origin words. */
  push(ptr: number, size: number, held: number): number {
    const u32 = this.u32;
    const w = this.w;
    const cap = u32[w + W_QUEUE_CAP]!;
    const ring = u32[w + W_QUEUE]! >>> 2;
    const slot = (u32[w + W_QUEUE_HEAD]! + u32[w + W_QUEUE_COUNT]!) & (cap - 1);
    const e = ring + slot * QUEUE_ENTRY_WORDS;
    u32.fill(0, e, e + QUEUE_ENTRY_WORDS);
    u32[e + Q_PTR] = ptr;
    u32[e + Q_SIZE] = size;
    u32[e + Q_HELD] = held;
    const i = hashInsert(u32, ring + cap * QUEUE_ENTRY_WORDS, cap * 2, INDEX_WORDS, ptr);
    if (i >= 0) u32[i + I_ENTRY] = slot;
    u32[w + W_QUEUE_COUNT] = u32[w + W_QUEUE_COUNT]! + 1;
    this.f64[this.d + D_QUEUE_BYTES] = this.f64[this.d + D_QUEUE_BYTES]! + held;
    return e;
  }

  /** Removes the oldest block (the caller has read it through `entryAt(0)`). */
  shift(): void {
    const u32 = this.u32;
    const w = this.w;
    const cap = u32[w + W_QUEUE_CAP]!;
    const ring = u32[w + W_QUEUE]! >>> 2;
    const head = u32[w + W_QUEUE_HEAD]!;
    const e = ring + head * QUEUE_ENTRY_WORDS;
    const index = ring + cap * QUEUE_ENTRY_WORDS;
    const i = hashFind(u32, index, cap * 2, INDEX_WORDS, u32[e + Q_PTR]!);
    if (i >= 0) hashDelete(u32, index, cap * 2, INDEX_WORDS, i);
    this.f64[this.d + D_QUEUE_BYTES] = this.f64[this.d + D_QUEUE_BYTES]! - u32[e + Q_HELD]!;
    u32.fill(0, e, e + QUEUE_ENTRY_WORDS);
    u32[w + W_QUEUE_HEAD] = (head + 1) & (cap - 1);
    u32[w + W_QUEUE_COUNT] = u32[w + W_QUEUE_COUNT]! - 1;
  }
}

/**
 * Makes room for one more block: leases a ring twice the size (or the
 * first), moves the blocks into it oldest first, gives the old one back.
 * Looks again after the backing's call (code it ran may have grown the same
 * queue); a failed growth changes nothing. Cold path.
 */
export function growQueue(owner: StateOwner): void {
  for (;;) {
    const before = owner.u32;
    const w = owner.w;
    const old = before[w + W_QUEUE]!;
    const oldCap = before[w + W_QUEUE_CAP]!;
    const oldHeld = before[w + W_QUEUE_HELD]!;
    if (before[w + W_QUEUE_COUNT]! < oldCap) return;
    const cap = oldCap === 0 ? FIRST_CAP : oldCap * 2;
    if (cap > MAX_QUEUE_CAP) throw new OutOfMemoryError(`${owner.name}: ${formatCount(oldCap)} blocks are quarantined: its queue cannot grow further.`);
    const block = leaseState(owner, queueBytes(cap), "quarantine queue");
    const held = owner.backing.allocatedSize(block);
    const u32 = owner.u32; // the backing may have grown the space
    if (u32[w + W_QUEUE] !== old || u32[w + W_QUEUE_CAP] !== oldCap) {
      owner.backing.deallocate(block); // code the backing ran grew it meanwhile: look again
      continue;
    }
    const ring = block >>> 2;
    u32.fill(0, ring, ring + queueBytes(cap) / 4);
    const count = u32[w + W_QUEUE_COUNT]!;
    const head = u32[w + W_QUEUE_HEAD]!;
    const oldRing = old >>> 2;
    for (let i = 0; i < count; i++) {
      const from = oldRing + ((head + i) & (oldCap - 1)) * QUEUE_ENTRY_WORDS;
      const to = ring + i * QUEUE_ENTRY_WORDS;
      u32.copyWithin(to, from, from + QUEUE_ENTRY_WORDS);
      const s = hashInsert(u32, ring + cap * QUEUE_ENTRY_WORDS, cap * 2, INDEX_WORDS, u32[to + Q_PTR]!);
      if (s >= 0) u32[s + I_ENTRY] = i;
    }
    u32[w + W_QUEUE] = block;
    u32[w + W_QUEUE_CAP] = cap;
    u32[w + W_QUEUE_HEAD] = 0;
    u32[w + W_QUEUE_HELD] = held;
    noteStateBytes(owner, held - oldHeld);
    if (old !== 0) owner.backing.deallocate(old);
    return;
  }
}

/** Gives the queue block back (destroy, after a flush emptied it). */
export function freeQueue(owner: StateOwner): void {
  const u32 = owner.u32;
  const w = owner.w;
  const block = u32[w + W_QUEUE]!;
  if (block === 0) return;
  noteStateBytes(owner, -u32[w + W_QUEUE_HELD]!);
  u32[w + W_QUEUE] = u32[w + W_QUEUE_CAP] = u32[w + W_QUEUE_HELD] = u32[w + W_QUEUE_HEAD] = u32[w + W_QUEUE_COUNT] = 0;
  owner.backing.deallocate(block);
}
