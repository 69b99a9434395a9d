import { MAX_SIZE, alignUp, type Allocator, type CorruptionError, type Ptr } from "@memkit/core";
import type { CanaryOptions } from "./api.js";
import { DEFAULT_GUARD_BYTES, FENCE_BYTE } from "./constants.js";
import { DebugWrapper, RESERVED_BYTES } from "./debug-wrapper.js";
import { intOption } from "./options.js";

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
 * in linear memory next to the block; the registry of live blocks lives in
 * typed arrays (O(1) add/remove, dense walk), never in the guard, so a wild
 * write cannot break the bookkeeping. Detection happens when a check runs,
 * not at the moment of the write.
 */
export class CanaryAllocator extends DebugWrapper {
  /** Guard bytes on each side (the front one rounded up to the alignment). */
  readonly guardBytes: number;

  constructor(backing: Allocator, options: CanaryOptions = {}) {
    super("CanaryAllocator", "canary", backing, options);
    this.guardBytes = intOption("CanaryAllocator", "guardBytes", options.guardBytes, DEFAULT_GUARD_BYTES, 1, 65536);
  }

  protected place(size: number, align: number): Ptr {
    const guard = this.guardBytes;
    const front = alignUp(guard, align);
    const total = front + size + guard;
    if (total > MAX_SIZE) throw this.tooLarge(size, align, total);
    const base = this.lease(size, align, total);
    const held = this.backing.allocatedSize(base);
    const ptr = base + front;
    const u8 = this.u8; // read after allocate: the backing may have grown the space
    u8.fill(FENCE_BYTE, base, ptr);
    u8.fill(FENCE_BYTE, ptr + size, ptr + size + guard);
    this.blocks.add(ptr, base, size, size, held);
    this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! + held;
    return ptr;
  }

  protected release(index: number, moving: boolean): void {
    const b = this.blocks;
    const ptr = b.ptr[index]!;
    const base = b.base[index]!;
    const size = b.size[index]!;
    const held = b.held[index]!;
    const error = moving ? undefined : this.#verify(ptr, base, size);
    b.remove(index);
    this.counters[RESERVED_BYTES] = this.counters[RESERVED_BYTES]! - held;
    this.backing.deallocate(base);
    if (error !== undefined) throw error;
  }

  protected override beforeMove(index: number): void {
    const b = this.blocks;
    const error = this.#verify(b.ptr[index]!, b.base[index]!, b.size[index]!);
    if (error !== undefined) throw error;
  }

  /**
   * The error for a broken guard of the live block at `ptr`, or undefined when
   * both guards hold or `ptr` is not a live block here. Lets an outer layer
   * (debugWrap's quarantine) check guards at free time instead of at release.
   */
  findGuardDamage(ptr: Ptr): CorruptionError | undefined {
    const b = this.blocks;
    const index = typeof ptr === "number" && ptr !== 0 && ptr >>> 0 === ptr ? b.indexOf(ptr) : -1;
    return index < 0 ? undefined : this.#verify(ptr, b.base[index]!, b.size[index]!);
  }

  /**
   * Writes the guards of the live block at `ptr` again, after their damage
   * was reported (debugWrap reports it when the block is freed into its
   * quarantine, so the block waits there whole instead of failing every
   * later check). No-op for a pointer that is not a live block here.
   */
  restoreGuards(ptr: Ptr): void {
    const b = this.blocks;
    const index = typeof ptr === "number" && ptr !== 0 && ptr >>> 0 === ptr ? b.indexOf(ptr) : -1;
    if (index < 0) return;
    const end = ptr + b.size[index]!;
    this.u8.fill(FENCE_BYTE, b.base[index], ptr);
    this.u8.fill(FENCE_BYTE, end, end + this.guardBytes);
  }

  protected checkOwn(): void {
    const b = this.blocks;
    for (let i = 0; i < b.count; i++) {
      const error = this.#verify(b.ptr[i]!, b.base[i]!, b.size[i]!);
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
