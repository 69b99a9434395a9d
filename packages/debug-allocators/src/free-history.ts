import { SpaceViews } from "@memkit/core";
import { hashDelete, hashFind, hashInsert } from "./ptr-hash.js";
import { HISTORY_ENTRY_WORDS, INDEX_SLOT_WORDS, W_HISTORY, W_HISTORY_NEXT } from "./wrapper-layout.js";

/*
 * The last `capacity` pointers a wrapper freed, so a second free of one reads
 * as a DoubleFreeError (with the first free's call stack when it was
 * captured) rather than as a pointer nobody knows. A wrapper cannot ask its
 * backing: the pointer it handed out is not the backing's pointer, and the
 * backing may already have handed the memory to someone else.
 *
 * It lives at the end of the control block (wrapper-layout.ts), sized at
 * creation: a ring of entries (ptr, size asked, stack id) and an index from
 * pointer to ring entry (ptr-hash.ts). Recording and forgetting are O(1)
 * and create no JS objects. When the ring wraps, the oldest entry is
 * dropped; when the backing hands a remembered address out again, the
 * wrapper forgets it (it is live, not freed). A stack id names a call stack
 * whose text this thread keeps (debug-texts.ts); 0 means none was captured.
 */

const H_PTR = 0;
const H_SIZE = 1;
const H_STACK = 2;
/** Index slot: +0 ptr, +1 ring entry. */
const I_ENTRY = 1;

/** One handle's view of its wrapper's free history. */
export class FreeHistory {
  /** The handle's u32 view (refreshed by the handle). */
  u32: Uint32Array = SpaceViews.dead.u32;
  /** Word index of ring entry 0. */
  readonly ring: number;
  /** Word index of index slot 0. */
  readonly index: number;

  /**
   * @param w u32 index of the control block
   * @param capacity ring entries (0: remembers nothing)
   * @param slots index slots (a power of two >= 2 x capacity, or 0)
   */
  constructor(
    readonly w: number,
    readonly capacity: number,
    readonly slots: number,
  ) {
    this.ring = w + W_HISTORY;
    this.index = this.ring + capacity * HISTORY_ENTRY_WORDS;
  }

  /** Remembers that `ptr` (of `size` bytes asked) was freed, with the free's stack id (0: none). */
  record(ptr: number, size: number, stack: number): void {
    const cap = this.capacity;
    if (cap === 0) return;
    const u32 = this.u32;
    const w = this.w;
    const entry = u32[w + W_HISTORY_NEXT]!;
    u32[w + W_HISTORY_NEXT] = entry + 1 >= cap ? 0 : entry + 1;
    const at = this.ring + entry * HISTORY_ENTRY_WORDS;
    const evicted = u32[at + H_PTR]!;
    if (evicted !== 0) {
      // Drop the evicted pointer's index only if it still points here (it may have been freed again since).
      const e = hashFind(u32, this.index, this.slots, INDEX_SLOT_WORDS, evicted);
      if (e >= 0 && u32[e + I_ENTRY] === entry) hashDelete(u32, this.index, this.slots, INDEX_SLOT_WORDS, e);
    }
    u32[at + H_PTR] = ptr;
    u32[at + H_SIZE] = size;
    u32[at + H_STACK] = stack;
    let e = hashFind(u32, this.index, this.slots, INDEX_SLOT_WORDS, ptr);
    if (e < 0) e = hashInsert(u32, this.index, this.slots, INDEX_SLOT_WORDS, ptr);
    if (e >= 0) u32[e + I_ENTRY] = entry;
  }

  /** The ring entry remembering `ptr`, or -1. */
  find(ptr: number): number {
    if (this.capacity === 0) return -1;
    const e = hashFind(this.u32, this.index, this.slots, INDEX_SLOT_WORDS, ptr);
    return e < 0 ? -1 : this.u32[e + I_ENTRY]!;
  }

  /** Size asked for of the block remembered in ring entry `entry`. */
  sizeAt(entry: number): number {
    return this.u32[this.ring + entry * HISTORY_ENTRY_WORDS + H_SIZE]!;
  }

  /** Stack id of the free remembered in ring entry `entry` (0: not captured). */
  stackAt(entry: number): number {
    return this.u32[this.ring + entry * HISTORY_ENTRY_WORDS + H_STACK]!;
  }

  /** Forgets `ptr` (it was handed out again). */
  forget(ptr: number): void {
    if (this.capacity === 0) return;
    const u32 = this.u32;
    const e = hashFind(u32, this.index, this.slots, INDEX_SLOT_WORDS, ptr);
    if (e < 0) return;
    const at = this.ring + u32[e + I_ENTRY]! * HISTORY_ENTRY_WORDS;
    hashDelete(u32, this.index, this.slots, INDEX_SLOT_WORDS, e);
    u32[at + H_PTR] = 0;
    u32[at + H_STACK] = 0;
  }

  /**
   * Describes the first inconsistency, or returns undefined: every index slot
   * names a ring entry that holds its pointer and is found from its home
   * slot; no more index slots than ring entries. Cold: check().
   */
  damage(): string | undefined {
    const u32 = this.u32;
    const cap = this.capacity;
    if (u32[this.w + W_HISTORY_NEXT]! >= Math.max(cap, 1)) return `its free history's next entry is ${u32[this.w + W_HISTORY_NEXT]} of ${cap}`;
    let used = 0;
    for (let i = 0; i < this.slots; i++) {
      const e = this.index + i * INDEX_SLOT_WORDS;
      const ptr = u32[e]!;
      if (ptr === 0) continue;
      used++;
      const entry = u32[e + I_ENTRY]!;
      if (entry >= cap || u32[this.ring + entry * HISTORY_ENTRY_WORDS + H_PTR] !== ptr) return `its free history's index names entry ${entry} for a pointer that entry does not hold`;
      if (hashFind(u32, this.index, this.slots, INDEX_SLOT_WORDS, ptr) !== e) return `its free history's index cannot find a pointer it holds`;
    }
    return used > cap ? `its free history's index holds ${used} pointers for ${cap} entries` : undefined;
  }
}
