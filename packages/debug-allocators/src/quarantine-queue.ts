import type { BlockOrigin, Ptr } from "@memkit/core";
import { PtrTable } from "./ptr-table.js";

const INITIAL_CAPACITY = 64;

/**
 * The blocks a quarantine holds, oldest first: a growable ring of typed-array
 * columns plus a {@link PtrTable} from pointer to ring slot, so push, pop of
 * the oldest and "is this pointer quarantined?" are O(1) and create no JS
 * objects (growth doubles the arrays, amortised).
 */
export class QuarantineQueue {
  #ptr = new Int32Array(INITIAL_CAPACITY);
  #size = new Uint32Array(INITIAL_CAPACITY);
  #held = new Uint32Array(INITIAL_CAPACITY);
  /** Where each block came from, asked when it was freed (undefined when nobody could say). */
  #origins: (BlockOrigin | undefined)[] = new Array<BlockOrigin | undefined>(INITIAL_CAPACITY).fill(undefined);
  #head = 0;
  #count = 0;
  #bytes = 0;
  readonly #index = new PtrTable(INITIAL_CAPACITY * 2);

  /** Blocks held. */
  get count(): number {
    return this.#count;
  }

  /** Sum of the held (filled) bytes of the blocks. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends a block: `size` asked for, `held` bytes filled and checked, its origin when known. */
  push(ptr: Ptr, size: number, held: number, origin: BlockOrigin | undefined): void {
    if (this.#count === this.#ptr.length) this.#grow();
    const slot = (this.#head + this.#count) & (this.#ptr.length - 1);
    this.#ptr[slot] = ptr;
    this.#size[slot] = size;
    this.#held[slot] = held;
    this.#origins[slot] = origin;
    this.#index.set(ptr, slot);
    this.#count++;
    this.#bytes += held;
  }

  /** Ring slot of the `i`-th oldest block (0 = oldest). */
  slotAt(i: number): number {
    return (this.#head + i) & (this.#ptr.length - 1);
  }

  /** Ring slot of the quarantined block at `ptr`, or -1. */
  find(ptr: Ptr): number {
    return this.#index.get(ptr);
  }

  /** Pointer of the block in `slot`. */
  ptrAt(slot: number): Ptr {
    return this.#ptr[slot]!;
  }

  /** Size asked for of the block in `slot`. */
  sizeAt(slot: number): number {
    return this.#size[slot]!;
  }

  /** Held bytes of the block in `slot`. */
  heldAt(slot: number): number {
    return this.#held[slot]!;
  }

  /** Origin of the block in `slot`, as known when it was freed. */
  originAt(slot: number): BlockOrigin | undefined {
    return this.#origins[slot];
  }

  /** Removes the oldest block (the caller has read it through `slotAt(0)`). */
  shift(): void {
    const slot = this.#head;
    this.#origins[slot] = undefined;
    this.#index.delete(this.#ptr[slot]!);
    this.#bytes -= this.#held[slot]!;
    this.#head = (slot + 1) & (this.#ptr.length - 1);
    this.#count--;
  }

  #grow(): void {
    const capacity = this.#ptr.length * 2;
    const ptr = new Int32Array(capacity);
    const size = new Uint32Array(capacity);
    const held = new Uint32Array(capacity);
    const origins = new Array<BlockOrigin | undefined>(capacity).fill(undefined);
    for (let i = 0; i < this.#count; i++) {
      const from = this.slotAt(i);
      ptr[i] = this.#ptr[from]!;
      size[i] = this.#size[from]!;
      held[i] = this.#held[from]!;
      origins[i] = this.#origins[from];
      this.#index.set(ptr[i]!, i);
    }
    this.#ptr = ptr;
    this.#size = size;
    this.#held = held;
    this.#origins = origins;
    this.#head = 0;
  }
}
