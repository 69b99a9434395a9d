import type { FrameAllocator } from "@memkit/temp-allocator";
import type { SpaceViews } from "@memkit/containers";

/**
 * A list of u32 values in per-frame memory. The wrapper object is long-lived
 * (made once per subsystem); each frame `begin()` takes a fresh block from the
 * frame allocator, and the block simply vanishes when its frame is recycled,
 * so a frame's lists cost one bump each and are never freed.
 *
 * ```
 * memory.frame arena (this frame): ... | hdr | v0 | v1 | ... | v[capacity-1] | ...
 *                                             ^ ptr, base = ptr >>> 2
 * ```
 *
 * Only valid between `begin()` and the end of the frame. `push` grows through
 * `frame.reallocate` (in place when the list is the frame's newest block).
 * `get`/`set` are unchecked: callers index below `length`.
 */
export class FrameList {
  /** The block in frame memory (0 before the first `begin()`). */
  ptr = 0;
  /** u32 index of element 0. */
  base = 0;
  /** Elements in use. */
  length = 0;
  /** Elements that fit before the next growth. */
  capacity = 0;
  readonly #frame: FrameAllocator;
  readonly #views: SpaceViews;

  constructor(frame: FrameAllocator, views: SpaceViews) {
    this.#frame = frame;
    this.#views = views;
  }

  /** Starts this frame's list with room for `capacity` values (at least 16). */
  begin(capacity: number): void {
    const cap = capacity < 16 ? 16 : capacity;
    this.ptr = this.#frame.allocate(cap * 4, 8);
    this.base = this.ptr >>> 2;
    this.length = 0;
    this.capacity = cap;
  }

  /** Appends `value` (as u32). */
  push(value: number): void {
    if (this.length === this.capacity) this.#grow();
    this.#views.u32[this.base + this.length] = value;
    this.length++;
  }

  /** Value `index` (unchecked). */
  get(index: number): number {
    return this.#views.u32[this.base + index]!;
  }

  /** Writes value `index` (unchecked). */
  set(index: number, value: number): void {
    this.#views.u32[this.base + index] = value;
  }

  #grow(): void {
    const capacity = this.capacity * 2;
    this.ptr = this.#frame.reallocate(this.ptr, capacity * 4, 8);
    this.base = this.ptr >>> 2;
    this.capacity = capacity;
  }
}
