import { CorruptionError, OutOfMemoryError, SpaceViews, formatCount, hex } from "@memkit/core";
import { hashDelete, hashFind, hashInsert } from "./ptr-hash.js";
import { leaseState, noteStateBytes, type StateOwner } from "./state-lease.js";
import { W_TABLE, W_TABLE_COUNT, W_TABLE_HELD, W_TABLE_SLOTS } from "./wrapper-layout.js";

/*
 * The live blocks of one wrapper: a hash table from pointer to block, the
 * blocks stored in the slots themselves, in a block leased from the backing
 * (wrapper-layout.ts: W_TABLE .. W_TABLE_HELD describe it).
 *
 *   slot (4 words): +0 B_PTR   pointer handed to the caller (the key; 0: empty)
 *                   +1 B_BASE  pointer the wrapper got from its backing (ptr minus any front guard)
 *                   +2 B_SIZE  bytes the caller asked for
 *                   +3 B_HELD  bytes the block holds from the backing (backing.allocatedSize(base))
 *
 * Find, add and remove are O(1) (ptr-hash.ts); the load stays at most 1/2,
 * and a full table grows by reallocation (twice the slots, rehashed) on a
 * cold path. An entry is named by the word index of its slot, which an add
 * or a remove may move: look a block up again after either.
 */

export const B_PTR = 0;
export const B_BASE = 1;
export const B_SIZE = 2;
export const B_HELD = 3;
/** Words of one slot. */
export const BLOCK_WORDS = 4;

/** Slots of the first table (1 KiB). */
const FIRST_SLOTS = 64;
/** Most slots a table may have (1 GiB of table: a runaway). */
export const MAX_TABLE_SLOTS = 1 << 26;

/** One handle's view of its wrapper's live-block table. */
export class BlockTable {
  /** The handle's u32 view (refreshed by the handle). */
  u32: Uint32Array = SpaceViews.dead.u32;

  /** @param w u32 index of the wrapper's control block */
  constructor(readonly w: number) {}

  /** Live blocks. */
  get count(): number {
    return this.u32[this.w + W_TABLE_COUNT]!;
  }

  /** Word index of the first slot (0 when no table yet). */
  get first(): number {
    return this.u32[this.w + W_TABLE]! >>> 2;
  }

  /** Slots of the table. */
  get slots(): number {
    return this.u32[this.w + W_TABLE_SLOTS]!;
  }

  /** True when one more block fits without growing (false on a dead view). */
  hasRoom(): boolean {
    const u32 = this.u32;
    return u32[this.w + W_TABLE_COUNT]! < u32[this.w + W_TABLE_SLOTS]! >>> 1;
  }

  /** Word index of the live block at `ptr` (> 0), or -1. */
  find(ptr: number): number {
    const u32 = this.u32;
    const w = this.w;
    return hashFind(u32, u32[w + W_TABLE]! >>> 2, u32[w + W_TABLE_SLOTS]!, BLOCK_WORDS, ptr);
  }

  /** Records a block (room must be there, `ptr` not live) and returns its word index. */
  add(ptr: number, base: number, size: number, held: number): number {
    const u32 = this.u32;
    const w = this.w;
    const e = hashInsert(u32, u32[w + W_TABLE]! >>> 2, u32[w + W_TABLE_SLOTS]!, BLOCK_WORDS, ptr);
    if (e < 0) throw new CorruptionError(`debug wrapper at ${hex(w << 2)}: its table of live blocks has no empty slot left (it is damaged).`);
    u32[e + B_BASE] = base;
    u32[e + B_SIZE] = size;
    u32[e + B_HELD] = held;
    u32[w + W_TABLE_COUNT] = u32[w + W_TABLE_COUNT]! + 1;
    return e;
  }

  /** Forgets the block at word `e`. */
  remove(e: number): void {
    const u32 = this.u32;
    const w = this.w;
    hashDelete(u32, u32[w + W_TABLE]! >>> 2, u32[w + W_TABLE_SLOTS]!, BLOCK_WORDS, e);
    u32[w + W_TABLE_COUNT] = u32[w + W_TABLE_COUNT]! - 1;
  }
}

/**
 * Makes room for one more block: leases a table twice the size (or the
 * first), rehashes the blocks into it, gives the old one back. Looks again
 * after the backing's call (code it ran may have grown the same table:
 * a hook that allocates through the wrapper), so it is safe at any depth of
 * re-entry; a failed growth changes nothing. Cold path.
 */
export function growBlockTable(owner: StateOwner): void {
  for (;;) {
    const before = owner.u32;
    const w = owner.w;
    const old = before[w + W_TABLE]!;
    const oldSlots = before[w + W_TABLE_SLOTS]!;
    const oldHeld = before[w + W_TABLE_HELD]!;
    if (before[w + W_TABLE_COUNT]! < oldSlots >>> 1) return;
    const slots = oldSlots === 0 ? FIRST_SLOTS : oldSlots * 2;
    if (slots > MAX_TABLE_SLOTS) {
      throw new OutOfMemoryError(`${owner.name}: ${formatCount(before[w + W_TABLE_COUNT]!)} blocks are live: its table of live blocks cannot grow further.`);
    }
    const bytes = slots * BLOCK_WORDS * 4;
    const table = leaseState(owner, bytes, "table of live blocks");
    const held = owner.backing.allocatedSize(table);
    const u32 = owner.u32; // the backing may have grown the space
    if (u32[w + W_TABLE] !== old || u32[w + W_TABLE_SLOTS] !== oldSlots) {
      owner.backing.deallocate(table); // code the backing ran grew it meanwhile: look again
      continue;
    }
    const tw = table >>> 2;
    u32.fill(0, tw, tw + slots * BLOCK_WORDS);
    const ow = old >>> 2;
    for (let i = 0; i < oldSlots; i++) {
      const e = ow + i * BLOCK_WORDS;
      const k = u32[e]!;
      if (k === 0) continue;
      const n = hashInsert(u32, tw, slots, BLOCK_WORDS, k);
      u32.copyWithin(n + 1, e + 1, e + BLOCK_WORDS);
    }
    u32[w + W_TABLE] = table;
    u32[w + W_TABLE_SLOTS] = slots;
    u32[w + W_TABLE_HELD] = held;
    noteStateBytes(owner, held - oldHeld);
    if (old !== 0) owner.backing.deallocate(old);
    return;
  }
}

/** Gives the table back (destroy). */
export function freeBlockTable(owner: StateOwner): void {
  const u32 = owner.u32;
  const w = owner.w;
  const table = u32[w + W_TABLE]!;
  if (table === 0) return;
  noteStateBytes(owner, -u32[w + W_TABLE_HELD]!);
  u32[w + W_TABLE] = u32[w + W_TABLE_SLOTS] = u32[w + W_TABLE_HELD] = u32[w + W_TABLE_COUNT] = 0;
  owner.backing.deallocate(table);
}
