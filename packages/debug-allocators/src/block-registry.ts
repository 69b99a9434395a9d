import type { Ptr } from "@memkit/core";
import { PtrTable } from "./ptr-table.js";

const INITIAL_CAPACITY = 64;

/**
 * The live blocks of one wrapper: O(1) add, find and remove, and a dense walk
 * for `check()`, with no JS object per block.
 *
 * Columns are typed arrays indexed by a dense block index (0..count-1);
 * removal moves the last block into the hole, so the walk never skips. A
 * {@link PtrTable} maps each block's pointer to its index. Indexes are
 * therefore unstable across `add`/`remove`: look a block up again after
 * either. The column arrays are replaced when they grow, so read them
 * after the call that may have grown them (`add`).
 *
 * ```
 * index:  0        1        2       ...  count-1
 * ptr     user pointer handed to the caller (the key)
 * base    pointer the wrapper got from its backing (ptr minus any front guard)
 * size    bytes the caller asked for
 * usable  bytes the caller may use (what allocatedSize answers)
 * held    bytes the wrapper holds from its backing (backing.allocatedSize(base))
 * ```
 */
export class BlockRegistry {
  /** User pointer of each block. */
  ptr: Int32Array;
  /** Backing pointer of each block. */
  base: Int32Array;
  /** Size asked for. */
  size: Uint32Array;
  /** Usable size reported to the caller. */
  usable: Uint32Array;
  /** Bytes held from the backing. */
  held: Uint32Array;
  #count = 0;
  readonly #index = new PtrTable(INITIAL_CAPACITY * 2);

  constructor() {
    this.ptr = new Int32Array(INITIAL_CAPACITY);
    this.base = new Int32Array(INITIAL_CAPACITY);
    this.size = new Uint32Array(INITIAL_CAPACITY);
    this.usable = new Uint32Array(INITIAL_CAPACITY);
    this.held = new Uint32Array(INITIAL_CAPACITY);
  }

  /** Number of live blocks. */
  get count(): number {
    return this.#count;
  }

  /** Records a block and returns its index. `ptr` must not be live already. */
  add(ptr: Ptr, base: Ptr, size: number, usable: number, held: number): number {
    const i = this.#count;
    if (i === this.ptr.length) this.#grow();
    this.ptr[i] = ptr;
    this.base[i] = base;
    this.size[i] = size;
    this.usable[i] = usable;
    this.held[i] = held;
    this.#index.set(ptr, i);
    this.#count = i + 1;
    return i;
  }

  /** Index of the live block starting at `ptr`, or -1. */
  indexOf(ptr: Ptr): number {
    return this.#index.get(ptr);
  }

  /** Forgets the block at `index`; the last block takes its index. */
  remove(index: number): void {
    const last = this.#count - 1;
    this.#index.delete(this.ptr[index]!);
    if (index !== last) {
      const moved = this.ptr[last]!;
      this.ptr[index] = moved;
      this.base[index] = this.base[last]!;
      this.size[index] = this.size[last]!;
      this.usable[index] = this.usable[last]!;
      this.held[index] = this.held[last]!;
      this.#index.set(moved, index);
    }
    this.#count = last;
  }

  #grow(): void {
    const capacity = this.ptr.length * 2;
    this.ptr = copyInto(new Int32Array(capacity), this.ptr);
    this.base = copyInto(new Int32Array(capacity), this.base);
    this.size = copyInto(new Uint32Array(capacity), this.size);
    this.usable = copyInto(new Uint32Array(capacity), this.usable);
    this.held = copyInto(new Uint32Array(capacity), this.held);
  }
}

function copyInto<T extends Int32Array | Uint32Array>(target: T, source: T): T {
  target.set(source);
  return target;
}
