import { markEntryPoints, type Attachment, MAX_SIZE, alignUp, type AddressSpace, type Allocator, type CorruptionError, type Ptr } from "@memkit/core";
import type { CanaryOptions } from "./api.js";
import { B_BASE, B_HELD, B_PTR, B_SIZE, BLOCK_WORDS } from "./block-table.js";
import { DEFAULT_FREE_HISTORY, DEFAULT_GUARD_BYTES, FENCE_BYTE } from "./constants.js";
import { DebugWrapper } from "./debug-wrapper.js";
import { intOption } from "./options.js";
import { openWrapper, paramsOf, wrapperSource, type WrapperAttachOptions } from "./wrapper-control.js";
import { CANARY_LAYOUT } from "./wrapper-layout.js";

const MAX_GUARD_BYTES = 65536;

/**
 * Guard bytes ({@link FENCE_BYTE}) before and after every block, verified on
 * free, on {@link check} (which walks every live block) and, with
 * `checkEvery: N`, every N operations. An overrun or underrun is reported as
 * a CorruptionError naming the block, the side, the offset and the byte
 * found.
 *
 * ```
 *  base (from the backing, aligned to `align`)
 *  |<-- front guard: guardBytes rounded up to align -->|<---- size ---->|<-- guardBytes -->|.. backing slack ..
 *  | fd fd fd fd fd fd fd fd fd fd fd fd fd fd fd fd  | caller's bytes  | fd fd fd ... fd  |   (not checked)
 *                                                      ptr (aligned)     ptr+size
 * ```
 *
 * The front guard is a multiple of the alignment so the caller's pointer keeps
 * it; the back guard starts at exactly `ptr + size`, so a 1-byte overrun
 * lands in it whatever the alignment. `allocatedSize` reports the size asked,
 * never the slack, so size-aware code stays inside the guards. Guards live
 * in linear memory next to the block; the table of live blocks lives in a
 * block of its own (wrapper-layout.ts), never in the guard, so a wild write
 * next to a block cannot break the bookkeeping. Detection happens when a
 * check runs, not at the moment of the write.
 */
export class CanaryAllocator extends DebugWrapper {
  /** Guard bytes on each side (the front one rounded up to the alignment). */
  readonly guardBytes: number;

  /**
   * A canary over `backing` — or, given an {@link Attachment} (see
   * {@link CanaryAllocator.attach}), a second handle on the canary whose
   * control block that is.
   */
  constructor(backing: Allocator, options?: CanaryOptions);
  constructor(attachment: Attachment, options: WrapperAttachOptions);
  constructor(source: Allocator | Attachment, options: CanaryOptions | WrapperAttachOptions = {}) {
    const src = wrapperSource(source, options, CANARY_LAYOUT, "canary", (o: CanaryOptions) => ({
      params: [intOption("CanaryAllocator", "guardBytes", o.guardBytes, DEFAULT_GUARD_BYTES, 1, MAX_GUARD_BYTES), 0, 0, 0],
      history: DEFAULT_FREE_HISTORY,
    }));
    super(src, "size");
    const [guard, b, c, d] = paramsOf(src);
    this.guardBytes = guard;
    this.ready(src, guard < 1 || guard > MAX_GUARD_BYTES || (b | c | d) !== 0 ? `guardBytes ${guard} out of range` : undefined);
  }

  /**
   * A second handle on the canary whose control block is at `controlPtr`
   * (`canary.controlPtr` of the creating side), over `options.backing` (a
   * handle on the allocator it was created over). A wrong pointer or a
   * damaged block is a CorruptionError naming what was found; damage to its
   * tables is found by the first check().
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: WrapperAttachOptions): CanaryAllocator {
    return new CanaryAllocator(openWrapper(space, controlPtr, CANARY_LAYOUT, "CanaryAllocator.attach"), options);
  }

  protected place(size: number, align: number): Ptr {
    const guard = this.guardBytes;
    const front = alignUp(guard, align);
    const total = front + size + guard;
    if (total > MAX_SIZE) throw this.tooLarge(size, align, total);
    const base = this.lease(size, align, total);
    const held = this.backing.allocatedSize(base);
    const ptr = base + front;
    this.record(ptr, base, size, held);
    const u8 = this.u8; // read after allocate: the backing may have grown the space
    u8.fill(FENCE_BYTE, base, ptr);
    u8.fill(FENCE_BYTE, ptr + size, ptr + size + guard);
    return ptr;
  }

  protected release(e: number, moving: boolean): void {
    const u32 = this.u32;
    const ptr = u32[e + B_PTR]!;
    const base = u32[e + B_BASE]!;
    const held = u32[e + B_HELD]!;
    const error = moving ? undefined : this.#verify(ptr, base, u32[e + B_SIZE]!);
    this.table.remove(e);
    this.unreserve(held);
    this.backing.deallocate(base);
    if (error !== undefined) throw error;
  }

  protected override beforeMove(e: number): void {
    const u32 = this.u32;
    const error = this.#verify(u32[e + B_PTR]!, u32[e + B_BASE]!, u32[e + B_SIZE]!);
    if (error !== undefined) throw error;
  }

  /** The front guard must fit between the block's base and its pointer, and the back guard inside what the backing holds. */
  override entryDamage(e: number): string | undefined {
    const u32 = this.u32;
    const ptr = u32[e + B_PTR]!;
    return ptr - u32[e + B_BASE]! < this.guardBytes || ptr + u32[e + B_SIZE]! + this.guardBytes > u32[e + B_BASE]! + u32[e + B_HELD]!
      ? "its guards do not fit in its backing block"
      : undefined;
  }

  /**
   * The error for a broken guard of the live block at `ptr`, or undefined when
   * both guards hold or `ptr` is not a live block here. Lets an outer layer
   * (debugWrap's quarantine) check guards at free time instead of at release.
   */
  findGuardDamage(ptr: Ptr): CorruptionError | undefined {
    const e = typeof ptr === "number" && ptr !== 0 && ptr >>> 0 === ptr ? this.table.find(ptr) : -1;
    return e < 0 ? undefined : this.#verify(ptr, this.u32[e + B_BASE]!, this.u32[e + B_SIZE]!);
  }

  /**
   * Writes the guards of the live block at `ptr` again, after their damage
   * was reported (debugWrap reports it when the block is freed into its
   * quarantine, so the block waits there whole instead of failing every
   * later check). No-op for a pointer that is not a live block here.
   */
  restoreGuards(ptr: Ptr): void {
    const e = typeof ptr === "number" && ptr !== 0 && ptr >>> 0 === ptr ? this.table.find(ptr) : -1;
    if (e < 0) return;
    const end = ptr + this.u32[e + B_SIZE]!;
    this.u8.fill(FENCE_BYTE, this.u32[e + B_BASE], ptr);
    this.u8.fill(FENCE_BYTE, end, end + this.guardBytes);
  }

  protected checkOwn(): void {
    const u32 = this.u32;
    const first = this.table.first;
    const slots = this.table.slots;
    for (let i = 0; i < slots; i++) {
      const e = first + i * BLOCK_WORDS;
      if (u32[e + B_PTR] === 0) continue;
      const error = this.#verify(u32[e + B_PTR]!, u32[e + B_BASE]!, u32[e + B_SIZE]!);
      if (error !== undefined) throw error;
    }
  }

  /** Undefined when both guards hold; else the error for the broken byte nearest the block. */
  #verify(ptr: Ptr, base: Ptr, size: number): CorruptionError | undefined {
    const u8 = this.u8;
    const fence = FENCE_BYTE; // a local: hot loop
    const end = ptr + size;
    const guardEnd = end + this.guardBytes;
    let bad = -1;
    for (let a = end; a < guardEnd; a++) {
      if (u8[a] !== fence) {
        bad = a;
        break;
      }
    }
    if (bad < 0) {
      for (let a = ptr - 1; a >= base; a--) {
        if (u8[a] !== fence) {
          bad = a;
          break;
        }
      }
      if (bad < 0) return undefined;
    }
    return this.#guardError(ptr, base, size, bad);
  }

  #guardError(ptr: Ptr, base: Ptr, size: number, bad: number): CorruptionError {
    const u8 = this.u8;
    const after = bad >= ptr;
    const from = after ? ptr + size : base;
    const to = after ? ptr + size + this.guardBytes : ptr;
    let changed = 0;
    for (let a = from; a < to; a++) if (u8[a] !== FENCE_BYTE) changed++;
    const side = after ? "after" : "before";
    return this.corruption(
      ptr,
      size,
      base,
      `guard byte ${side} the block changed`,
      bad - ptr,
      FENCE_BYTE,
      u8[bad]!,
      `, ${changed} of ${to - from} guard bytes ${side} it differ`,
      after
        ? "Something wrote past the end of the block (an overrun): check the sizes, strides and loop bounds of code writing to it."
        : "Something wrote before the start of the block (an underrun): check negative offsets and index arithmetic of code writing to it.",
    );
  }
}

// Marked at load, not only per construction: the first one's control block is leased before its constructor runs.
markEntryPoints(CanaryAllocator);
