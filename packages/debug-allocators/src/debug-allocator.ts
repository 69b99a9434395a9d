import type { AddressSpace, Allocator, AllocatorStats, BlockOrigin, Checkable, OriginTracking, Ptr } from "@memkit/core";
import { hasOriginTracking, markEntryPoints } from "@memkit/core";
import { capturesStacks, isCheckable, type DebugWrapOptions, type StackCapturing } from "./api.js";
import { CanaryAllocator } from "./canary-allocator.js";
import { FillAllocator } from "./fill-allocator.js";
import { QuarantineAllocator } from "./quarantine-allocator.js";

/**
 * The one-switch debug mode over any allocator: canary guards, fill patterns
 * and a quarantine, stacked
 *
 * ```
 *  caller -> quarantine -> fill -> canary -> backing
 * ```
 *
 * - **canary innermost**, next to the backing: its guards sit directly
 *   around the bytes every layer above hands out, and every layer above
 *   sees `allocatedSize` = the size asked, so no layer ever writes into a
 *   guard. `deallocate` checks the block's guards at once (before the
 *   quarantine takes it), and guards of quarantined blocks stay checked
 *   while they wait.
 * - **fill in the middle**: fresh blocks reach the caller filled (0xcd or
 *   seeded random), and freed blocks are filled with 0x66 before the canary
 *   checks them and the backing gets them back.
 * - **quarantine outermost**: a freed block is held (filled with 0x66)
 *   before any other layer lets go of it, so its address cannot be reused
 *   while a stale pointer may still write to it; and a double free is seen
 *   first by the layer that knows the block is quarantined and where it was
 *   first freed.
 *
 * `check()` walks every layer top to bottom (quarantined fills, guards) and
 * ends with the backing's own `check()` when it has one. Errors name the
 * layer that found them, e.g. `canary(root/ai): block 0x... (24 B, scope
 * root/ai) — guard byte after the block changed at +24 ...`.
 */
export class DebugAllocator implements Allocator, Checkable, OriginTracking, StackCapturing {
  /** `debug(<backing name>)` unless named. */
  readonly name: string;
  /** The backing's address space. */
  readonly space: AddressSpace;
  /** The allocator under the whole stack. */
  readonly backing: Allocator;
  /** Innermost layer (undefined when left out). */
  readonly canary: CanaryAllocator | undefined;
  /** Middle layer (undefined when left out). */
  readonly fill: FillAllocator | undefined;
  /** Outermost layer (undefined when left out). */
  readonly quarantine: QuarantineAllocator | undefined;
  /** The outermost layer: every call goes to it (the backing when every layer is left out). */
  readonly top: Allocator;
  readonly #bottom: Allocator;

  constructor(backing: Allocator, options: DebugWrapOptions = {}) {
    // Over a scope recording call stacks, the stacks start at the code that called this allocator.
    markEntryPoints(new.target);
    this.backing = backing;
    this.space = backing.space;
    this.name = options.name ?? `debug(${backing.name})`;
    // Only the outermost layer ever sees a double free (it refuses every pointer
    // that is not live before an inner layer is asked), so only it captures free
    // stacks by default: one capture per free, not one per layer.
    const stacks = options.captureStacks ?? capturesStacks(backing);
    const outermost = options.quarantine !== false ? "quarantine" : options.fill !== false ? "fill" : "canary";
    const layer = (name: string): { captureStacks: boolean } => ({ captureStacks: name === outermost && stacks });
    const checkEvery = { checkEvery: options.checkEvery };
    let top: Allocator = backing;
    let canary: CanaryAllocator | undefined;
    let fill: FillAllocator | undefined;
    let quarantine: QuarantineAllocator | undefined;
    try {
      if (options.canary !== false) top = canary = new CanaryAllocator(top, { ...layer("canary"), ...checkEvery, ...options.canary });
      if (options.fill !== false) top = fill = new FillAllocator(top, { ...layer("fill"), ...options.fill });
      if (options.quarantine !== false) top = quarantine = new QuarantineAllocator(top, { ...layer("quarantine"), ...checkEvery, ...options.quarantine });
    } catch (error) {
      canary?.destroy();
      fill?.destroy();
      throw error;
    }
    this.canary = canary;
    this.fill = fill;
    this.quarantine = quarantine;
    this.top = top;
    this.#bottom = canary ?? fill ?? quarantine ?? backing;
  }

  /** True when the outermost layer captures free stacks (or, with no layers, the backing captures stacks). */
  get capturesStacks(): boolean {
    return capturesStacks(this.top);
  }

  /** See {@link Allocator.allocate}: guarded, filled, then handed out. */
  allocate(size: number, align?: number): Ptr {
    return this.top.allocate(size, align);
  }

  /**
   * See {@link Allocator.deallocate}: the guards are checked now, then the block
   * is filled and quarantined (and its fill checked when it leaves). A broken
   * guard throws CorruptionError after the block was freed, like every layer.
   */
  deallocate(ptr: Ptr): void {
    const damage = this.quarantine !== undefined ? this.canary?.findGuardDamage(ptr) : undefined;
    this.top.deallocate(ptr);
    if (damage !== undefined) {
      // Reported once, here: the block waits in quarantine with its guards whole again.
      this.canary?.restoreGuards(ptr);
      throw damage;
    }
  }

  /**
   * See {@link Allocator.reallocate}: always moves; the old block goes to
   * quarantine. Its guards are checked first: a broken one throws
   * CorruptionError and nothing changes.
   */
  reallocate(ptr: Ptr, newSize: number, align?: number): Ptr {
    if (this.top !== this.canary) {
      const damage = this.canary?.findGuardDamage(ptr);
      if (damage !== undefined) throw damage;
    }
    return this.top.reallocate(ptr, newSize, align);
  }

  /** Usable bytes of a live block (with the canary layer: exactly the size asked). */
  allocatedSize(ptr: Ptr): number {
    return this.top.allocatedSize(ptr);
  }

  /** True for a live block of the stack (a quarantined block is not live). */
  owns(ptr: Ptr): boolean {
    return this.top.owns(ptr);
  }

  /** The outermost layer's counters (sizes asked for); reservedBytes is what the whole stack holds from the backing. */
  stats(): AllocatorStats {
    const stats = this.top.stats();
    stats.reservedBytes = this.#bottom.stats().reservedBytes;
    return stats;
  }

  /** Checks every layer (quarantined fills, then guards), then the backing's `check()` when it has one. */
  check(): void {
    if (isCheckable(this.top)) this.top.check();
  }

  /** Scope and allocation stack of a live block, from the backing through every layer. */
  originOf(ptr: Ptr): BlockOrigin | undefined {
    return hasOriginTracking(this.top) ? this.top.originOf(ptr) : undefined;
  }

  /**
   * Where every layer asks for a block's origin when the backing cannot
   * answer: the trace scope over this stack, when the stack sits *under* the
   * scopes (`new TraceAllocator(debugWrap(heap))`). See
   * {@link DebugWrapper.setOriginSource}.
   */
  setOriginSource(source: OriginTracking | undefined): void {
    this.canary?.setOriginSource(source);
    this.fill?.setOriginSource(source);
    this.quarantine?.setOriginSource(source);
  }

  /** Releases every quarantined block to the backing (checking each). */
  flush(): void {
    this.quarantine?.flush();
  }

  /** Flushes the quarantine, then detaches every layer from the space. Live blocks stay with the backing. */
  destroy(): void {
    try {
      this.quarantine?.destroy();
    } finally {
      this.fill?.destroy();
      this.canary?.destroy();
    }
  }
}

/**
 * Wraps `backing` in the debug stack `quarantine(fill(canary(backing)))`
 * (see {@link DebugAllocator} for why in that order). Pass a layer's options
 * to tune it, or `false` to leave it out.
 *
 * ```ts
 * const heap = debugWrap(memory.scope("ai"), { captureStacks: true });
 * ```
 */
export function debugWrap(backing: Allocator, options: DebugWrapOptions = {}): DebugAllocator {
  return new DebugAllocator(backing, options);
}
