import type { Ptr } from "@memkit/core";

const EMPTY = 0; // pointer 0 is null, so it can mark an empty slot
const MIN_CAPACITY = 16;

/**
 * A hash table from pointer to a small non-negative integer, held in two
 * typed arrays so lookups, inserts and deletes create no JS objects (a `Map`
 * with pointer keys above 2^30 would box every key).
 *
 * Open addressing with linear probing; the home slot is Fibonacci hashing of
 * the pointer (the high bits of `ptr * 2^32/φ`), which spreads the 8- and
 * 16-aligned pointers allocators return, whose low bits are all zero. Deletion
 * shifts the following run back instead of leaving tombstones, so probe
 * lengths never degrade. The load factor stays at most 1/2; growth doubles
 * the arrays (amortised O(1), and never again once the peak is reached).
 */
export class PtrTable {
  #keys: Int32Array;
  #values: Int32Array;
  #mask: number;
  #shift: number;
  #size = 0;

  /** @param initialCapacity slots to start with (rounded up to a power of two, at least 16). */
  constructor(initialCapacity = MIN_CAPACITY) {
    let capacity = MIN_CAPACITY;
    while (capacity < initialCapacity) capacity *= 2;
    this.#keys = new Int32Array(capacity);
    this.#values = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#shift = 32 - Math.log2(capacity);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#size;
  }

  /** The value stored for `ptr`, or -1. `ptr` must be an integer 1..2^31-1. */
  get(ptr: Ptr): number {
    const keys = this.#keys;
    const mask = this.#mask;
    let i = Math.imul(ptr, 0x9e3779b1) >>> this.#shift;
    while (true) {
      const k = keys[i]!;
      if (k === ptr) return this.#values[i]!;
      if (k === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Stores `value` (0..2^31-1) for `ptr`, replacing any previous value. */
  set(ptr: Ptr, value: number): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const mask = this.#mask;
    let i = Math.imul(ptr, 0x9e3779b1) >>> this.#shift;
    while (true) {
      const k = keys[i]!;
      if (k === ptr) break;
      if (k === EMPTY) {
        keys[i] = ptr;
        this.#size++;
        break;
      }
      i = (i + 1) & mask;
    }
    this.#values[i] = value;
  }

  /** Removes `ptr`; returns false when it was not there. */
  delete(ptr: Ptr): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    const shift = this.#shift;
    let i = Math.imul(ptr, 0x9e3779b1) >>> shift;
    while (true) {
      const k = keys[i]!;
      if (k === ptr) break;
      if (k === EMPTY) return false;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: walk the run after the hole and move back every
    // key whose home slot is not cyclically between the hole and itself.
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const k = keys[j]!;
      if (k === EMPTY) break;
      const home = Math.imul(k, 0x9e3779b1) >>> shift;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        keys[i] = k;
        values[i] = values[j]!;
        i = j;
      }
    }
    keys[i] = EMPTY;
    this.#size--;
    return true;
  }

  /** Removes every key (keeps the capacity). */
  clear(): void {
    this.#keys.fill(EMPTY);
    this.#size = 0;
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldValues = this.#values;
    const capacity = oldKeys.length * 2;
    this.#keys = new Int32Array(capacity);
    this.#values = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#shift--;
    this.#size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k !== EMPTY) this.set(k, oldValues[i]!);
    }
  }
}
