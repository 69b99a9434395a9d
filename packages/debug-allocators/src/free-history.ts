import type { CapturedStack, Ptr } from "@memkit/core";
import { stackOf } from "./messages.js";
import { PtrTable } from "./ptr-table.js";

/**
 * The last `capacity` pointers a wrapper freed, so a second free of one reads
 * as a {@link DoubleFreeError} (with the first free's call stack when it was
 * captured) rather than as a pointer nobody knows. A wrapper cannot ask its
 * backing: the pointer it handed out is not the backing's pointer, and the
 * backing may already have handed the memory to someone else.
 *
 * A ring of typed-array columns plus a {@link PtrTable} from pointer to ring
 * slot; recording and forgetting are O(1) and create no JS objects (a captured
 * call site, when stacks are on, is the only allocation; its text is built
 * only when a message shows it). When the ring wraps, the
 * oldest entry is dropped; when the backing hands a remembered address out
 * again, the wrapper forgets it (it is live, not freed).
 */
export class FreeHistory {
  /** Entries kept; 0 remembers nothing. */
  readonly capacity: number;
  readonly #ptr: Int32Array;
  readonly #size: Uint32Array;
  readonly #sites: (CapturedStack | undefined)[];
  readonly #index: PtrTable;
  #next = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#ptr = new Int32Array(capacity);
    this.#size = new Uint32Array(capacity);
    this.#sites = new Array<CapturedStack | undefined>(capacity).fill(undefined);
    this.#index = new PtrTable(capacity * 2);
  }

  /** Remembers that `ptr` (of `size` bytes asked) was freed, with the free's call site when captured. */
  record(ptr: Ptr, size: number, site: CapturedStack | undefined): void {
    if (this.capacity === 0) return;
    const slot = this.#next;
    this.#next = slot + 1 === this.capacity ? 0 : slot + 1;
    const evicted = this.#ptr[slot]!;
    // Drop the evicted pointer's index only if it still points here (it may have been freed again since).
    if (evicted !== 0 && this.#index.get(evicted) === slot) this.#index.delete(evicted);
    this.#ptr[slot] = ptr;
    this.#size[slot] = size;
    this.#sites[slot] = site;
    this.#index.set(ptr, slot);
  }

  /** The slot remembering `ptr`, or -1. */
  find(ptr: Ptr): number {
    return this.capacity === 0 ? -1 : this.#index.get(ptr);
  }

  /** Size asked for of the block remembered in `slot`. */
  sizeAt(slot: number): number {
    return this.#size[slot]!;
  }

  /** Stack of the free remembered in `slot`, when captured (formatted now: cold path). */
  stackAt(slot: number): string | undefined {
    return stackOf(this.#sites[slot]);
  }

  /** Forgets `ptr` (it was handed out again). */
  forget(ptr: Ptr): void {
    if (this.capacity === 0) return;
    const slot = this.#index.get(ptr);
    if (slot < 0) return;
    this.#index.delete(ptr);
    this.#ptr[slot] = 0;
    this.#sites[slot] = undefined;
  }
}
