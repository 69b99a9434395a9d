import { InvalidArgumentError, MAX_SIZE, alignUp, describe, type Allocator, type CorruptionError, type Ptr } from "@memkit/core";
import type { EndOfPageMode, EndOfPageOptions } from "./api.js";
import { DEFAULT_END_GUARD_BYTES, END_GUARD_BYTE } from "./constants.js";
import { DebugWrapper, RESERVED_BYTES } from "./debug-wrapper.js";
import { intOption } from "./options.js";

/**
 * Every block in a span of its own, flush against one end of it, with the
 * rest of that end a guard zone ({@link END_GUARD_BYTE}). Overruns (mode
 * `"overrun"`) or underruns (mode `"underrun"`) of even one byte are caught
 * on free, on {@link check} and every `checkEvery` operations.
 *
 * JavaScript cannot protect pages, so unlike a native end-of-page allocator
 * the stray write is not stopped when it happens: it is found when the guard
 * zone is next checked.
 *
 * Mode "overrun" — the span is `backing.allocate(size + guardBytes, align)`
 * of `held = backing.allocatedSize(span)` bytes (a page allocator rounds it up
 * to whole pages):
 * ```
 *  span                                      ptr              ptr+size      span+held
 *  |<------- lead (unused, not checked) ----->|<---- size ---->|<-- guard zone -->|
 *                                                               d0 d0 d0 ... d0 d0
 *                                             ptr = span + alignDown(held - guardBytes - size, align)
 * ```
 * "Flush" means the block starts at the highest `align`-aligned address that
 * leaves at least `guardBytes` after it. When `size` is not a multiple of
 * `align` that leaves a gap (< align bytes) between the block's end and the
 * last `guardBytes`: the gap is part of the guard zone and checked the same,
 * so the zone always starts at exactly `ptr + size`.
 *
 * Mode "underrun" — the mirror: `backing.allocate(front + size, align)` with
 * `front = guardBytes` rounded up to `align`:
 * ```
 *  span                       ptr              ptr+size                 span+held
 *  |<----- guard zone ------->|<---- size ---->|<-- tail (unused, not checked) -->|
 *   d0 d0 d0 ... d0 d0 d0 d0
 * ```
 *
 * Each block owns its span, so a wild write past the guard zone lands in
 * another span's unused lead, not in another block's data.
 */
export class EndOfPageAllocator extends DebugWrapper {
  /** Which side of each block is guarded. */
  readonly mode: EndOfPageMode;
  /** Minimum bytes of guard zone. */
  readonly guardBytes: number;
  readonly #overrun: boolean;

  constructor(backing: Allocator, options: EndOfPageOptions = {}) {
    super("EndOfPageAllocator", "endOfPage", backing, options);
    const mode = options.mode ?? "overrun";
    if (mode !== "overrun" && mode !== "underrun") {
      throw new InvalidArgumentError(`EndOfPageAllocator: option mode must be "overrun" or "underrun", received ${describe(mode)}.`);
    }
    this.mode = mode;
    this.#overrun = mode === "overrun";
    this.guardBytes = intOption("EndOfPageAllocator", "guardBytes", options.guardBytes, DEFAULT_END_GUARD_BYTES, 1, 1 << 20);
  }

  protected place(size: number, align: number): Ptr {
    const guard = this.guardBytes;
    const front = this.#overrun ? 0 : alignUp(guard, align);
    const total = this.#overrun ? size + guard : front + size;
    if (total > MAX_SIZE) throw this.tooLarge(size, align, total);
    const span = this.lease(size, align, total);
    const held = this.backing.allocatedSize(span);
    let ptr: number;
    if (this.#overrun) {
      const room = held - guard - size; // >= 0; the span is align-aligned, so rounding room down keeps ptr aligned
      ptr = span + room - (room % align);
      this.u8.fill(END_GUARD_BYTE, ptr + size, span + held);
    } else {
      ptr = span + front;
      this.u8.fill(END_GUARD_BYTE, span, ptr);
    }
    this.blocks.add(ptr, span, size, size, held);
    this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! + held;
    return ptr;
  }

  protected release(index: number, moving: boolean): void {
    const b = this.blocks;
    const span = b.base[index]!;
    const held = b.held[index]!;
    const error = moving ? undefined : this.#verify(index);
    b.remove(index);
    this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! - held;
    this.backing.deallocate(span);
    if (error !== undefined) throw error;
  }

  protected override beforeMove(index: number): void {
    const error = this.#verify(index);
    if (error !== undefined) throw error;
  }

  protected checkOwn(): void {
    for (let i = 0; i < this.blocks.count; i++) {
      const error = this.#verify(i);
      if (error !== undefined) throw error;
    }
  }

  /** Undefined when the guard zone holds; else the error for its broken byte nearest the block. */
  #verify(index: number): CorruptionError | undefined {
    const b = this.blocks;
    const ptr = b.ptr[index]!;
    const span = b.base[index]!;
    const size = b.size[index]!;
    const u8 = this.u8;
    const pattern = END_GUARD_BYTE; // a local: hot loop
    let bad = -1;
    if (this.#overrun) {
      const end = span + b.held[index]!;
      for (let a = ptr + size; a < end; a++) {
        if (u8[a] !== pattern) {
          bad = a;
          break;
        }
      }
    } else {
      for (let a = ptr - 1; a >= span; a--) {
        if (u8[a] !== pattern) {
          bad = a;
          break;
        }
      }
    }
    if (bad < 0) return undefined;
    const from = this.#overrun ? ptr + size : span;
    const to = this.#overrun ? span + b.held[index]! : ptr;
    let changed = 0;
    for (let a = from; a < to; a++) if (u8[a] !== pattern) changed++;
    const side = this.#overrun ? "after" : "before";
    return this.corruption(
      ptr,
      size,
      span,
      `guard zone byte ${side} the block changed`,
      bad - ptr,
      END_GUARD_BYTE,
      u8[bad]!,
      `, ${changed} of ${to - from} guard zone bytes differ`,
      this.#overrun
        ? "Something wrote past the end of the block (an overrun): check the sizes, strides and loop bounds of code writing to it."
        : "Something wrote before the start of the block (an underrun): check negative offsets and index arithmetic of code writing to it.",
    );
  }
}
