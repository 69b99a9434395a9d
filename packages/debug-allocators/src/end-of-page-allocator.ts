import { markEntryPoints, type Attachment, InvalidArgumentError, MAX_SIZE, alignUp, describe, type AddressSpace, type Allocator, type CorruptionError, type Ptr } from "@memkit/core";
import type { EndOfPageMode, EndOfPageOptions } from "./api.js";
import { B_BASE, B_HELD, B_PTR, B_SIZE, BLOCK_WORDS } from "./block-table.js";
import { DEFAULT_END_GUARD_BYTES, DEFAULT_FREE_HISTORY, END_GUARD_BYTE } from "./constants.js";
import { DebugWrapper } from "./debug-wrapper.js";
import { intOption } from "./options.js";
import { openWrapper, paramsOf, wrapperSource, type WrapperAttachOptions } from "./wrapper-control.js";
import { END_OF_PAGE_LAYOUT } from "./wrapper-layout.js";

const MAX_GUARD_BYTES = 1 << 20;

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

  /**
   * An end-of-page wrapper over `backing` — or, given an {@link Attachment}
   * (see {@link EndOfPageAllocator.attach}), a second handle on the one whose
   * control block that is.
   */
  constructor(backing: Allocator, options?: EndOfPageOptions);
  constructor(attachment: Attachment, options: WrapperAttachOptions);
  constructor(source: Allocator | Attachment, options: EndOfPageOptions | WrapperAttachOptions = {}) {
    const src = wrapperSource(source, options, END_OF_PAGE_LAYOUT, "endOfPage", (o: EndOfPageOptions) => {
      const mode = o.mode ?? "overrun";
      if (mode !== "overrun" && mode !== "underrun") {
        throw new InvalidArgumentError(`EndOfPageAllocator: option mode must be "overrun" or "underrun", received ${describe(mode)}.`);
      }
      const guard = intOption("EndOfPageAllocator", "guardBytes", o.guardBytes, DEFAULT_END_GUARD_BYTES, 1, MAX_GUARD_BYTES);
      return { params: [mode === "overrun" ? 0 : 1, guard, 0, 0], history: DEFAULT_FREE_HISTORY };
    });
    super(src, "size");
    const [mode, guard, c, d] = paramsOf(src);
    this.mode = mode === 0 ? "overrun" : "underrun";
    this.#overrun = mode === 0;
    this.guardBytes = guard;
    this.ready(src, mode > 1 || guard < 1 || guard > MAX_GUARD_BYTES || (c | d) !== 0 ? `mode ${mode} or guardBytes ${guard} out of range` : undefined);
  }

  /**
   * A second handle on the end-of-page wrapper whose control block is at
   * `controlPtr`, over `options.backing` (a handle on the allocator it was
   * created over). Damage is a CorruptionError here or at the first check().
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: WrapperAttachOptions): EndOfPageAllocator {
    return new EndOfPageAllocator(openWrapper(space, controlPtr, END_OF_PAGE_LAYOUT, "EndOfPageAllocator.attach"), options);
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
    } else {
      ptr = span + front;
    }
    this.record(ptr, span, size, held);
    // Filled after record: growing the table may have grown the space.
    if (this.#overrun) this.u8.fill(END_GUARD_BYTE, ptr + size, span + held);
    else this.u8.fill(END_GUARD_BYTE, span, ptr);
    return ptr;
  }

  protected release(e: number, moving: boolean): void {
    const span = this.u32[e + B_BASE]!;
    const held = this.u32[e + B_HELD]!;
    const error = moving ? undefined : this.#verify(e);
    this.table.remove(e);
    this.unreserve(held);
    this.backing.deallocate(span);
    if (error !== undefined) throw error;
  }

  protected override beforeMove(e: number): void {
    const error = this.#verify(e);
    if (error !== undefined) throw error;
  }

  /** The guard zone must fit in the span. */
  override entryDamage(e: number): string | undefined {
    const u32 = this.u32;
    const ptr = u32[e + B_PTR]!;
    const zone = this.#overrun ? u32[e + B_BASE]! + u32[e + B_HELD]! - ptr - u32[e + B_SIZE]! : ptr - u32[e + B_BASE]!;
    return zone < this.guardBytes ? `its guard zone (${zone} B) is smaller than ${this.guardBytes} B` : undefined;
  }

  protected checkOwn(): void {
    const u32 = this.u32;
    const first = this.table.first;
    const slots = this.table.slots;
    for (let i = 0; i < slots; i++) {
      const e = first + i * BLOCK_WORDS;
      if (u32[e + B_PTR] === 0) continue;
      const error = this.#verify(e);
      if (error !== undefined) throw error;
    }
  }

  /** Undefined when the guard zone holds; else the error for its broken byte nearest the block. */
  #verify(e: number): CorruptionError | undefined {
    const u32 = this.u32;
    const ptr = u32[e + B_PTR]!;
    const span = u32[e + B_BASE]!;
    const size = u32[e + B_SIZE]!;
    const held = u32[e + B_HELD]!;
    const u8 = this.u8;
    const pattern = END_GUARD_BYTE; // a local: hot loop
    let bad = -1;
    if (this.#overrun) {
      const end = span + held;
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
    const to = this.#overrun ? span + held : ptr;
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

// Marked at load, not only per construction: the first one's control block is leased before its constructor runs.
markEntryPoints(EndOfPageAllocator);
