import {
  Attachment,
  CONTROL_BLOCK_HEADER_WORDS,
  CorruptionError,
  InvalidArgumentError,
  OutOfMemoryError,
  SpaceHandle,
  describe,
  formatBytes,
  hasOriginTracking,
  hex,
  initControl,
  markEntryPoints,
  retireControl,
  sealControl,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type BlockOrigin,
  type Checkable,
  type ControlLayout,
  type OriginTracking,
  type Ptr,
  type ViewSet,
} from "@memkit/core";
import { capturesStacks, isCheckable, type DebugWrapOptions, type StackCapturing } from "./api.js";
import { CanaryAllocator } from "./canary-allocator.js";
import { FillAllocator } from "./fill-allocator.js";
import { QuarantineAllocator } from "./quarantine-allocator.js";
import { backingControl, expectBacking, ownedBlock, type WrapperAttachOptions } from "./wrapper-control.js";

const W_CANARY = CONTROL_BLOCK_HEADER_WORDS;
const W_FILL = W_CANARY + 1;
const W_QUARANTINE = W_CANARY + 2;
const W_BACKING = W_CANARY + 3;
/** The debug stack's control block. */
export const DEBUG_LAYOUT: ControlLayout = { kind: "DebugAllocator", magic: "DBUG", version: 1, fixedWords: 4 };
const DEBUG_CONTROL_BYTES = (W_BACKING + 1) * 4;

/** Options of {@link DebugAllocator.attach}. */
export type DebugAttachOptions = WrapperAttachOptions;

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
 *
 * The stack has a small control block of its own, leased from the backing:
 *
 *   +0..3  header ("DBUG", version, bytes, seal)
 *   +4     W_CANARY      the canary layer's controlPtr (0: left out)     fixed
 *   +5     W_FILL        the fill layer's controlPtr (0: left out)        fixed
 *   +6     W_QUARANTINE  the quarantine layer's controlPtr (0: left out)  fixed
 *   +7     W_BACKING     the backing's controlPtr (0: it has none)        fixed
 *
 * so `DebugAllocator.attach(space, controlPtr, { backing })` attaches every
 * layer, innermost first, each over the one below.
 */
export class DebugAllocator extends SpaceHandle implements Allocator, Checkable, OriginTracking, StackCapturing {
  /** `debug(<backing name>)` unless named. */
  readonly name: string;
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

  /**
   * The debug stack over `backing` — or, given an {@link Attachment} (see
   * {@link DebugAllocator.attach}), a second handle on the stack whose
   * control block that is (every layer attached again).
   */
  constructor(backing: Allocator, options?: DebugWrapOptions);
  constructor(attachment: Attachment, options: DebugAttachOptions);
  constructor(source: Allocator | Attachment, options: DebugWrapOptions | DebugAttachOptions = {}) {
    const layers = source instanceof Attachment ? attachLayers(source, options) : createLayers(source, options);
    super(layers.backing.space, layers.controlPtr);
    // Over a scope recording call stacks, the stacks start at the code that called this allocator.
    markEntryPoints(new.target);
    this.backing = layers.backing;
    this.name = layers.name;
    this.canary = layers.canary;
    this.fill = layers.fill;
    this.quarantine = layers.quarantine;
    this.top = layers.quarantine ?? layers.fill ?? layers.canary ?? layers.backing;
    this.#bottom = layers.canary ?? layers.fill ?? layers.quarantine ?? layers.backing;
    this.followViews();
  }

  /**
   * A second handle on the debug stack whose control block is at
   * `controlPtr` (`debug.controlPtr` of the creating side), over
   * `options.backing` (a handle on the allocator it was created over): each
   * layer is attached over the one below. A wrong pointer or a damaged
   * block is a CorruptionError naming what was found.
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: DebugAttachOptions): DebugAllocator {
    return new DebugAllocator(Attachment.open(space, controlPtr, DEBUG_LAYOUT, "DebugAllocator.attach", [DEBUG_CONTROL_BYTES, DEBUG_CONTROL_BYTES]), options);
  }

  refreshViews(_views: ViewSet): void {
    // No cached views: every call goes to the layers, which keep their own.
  }

  /** True when the outermost layer captures free stacks (or, with no layers, the backing captures stacks). */
  get capturesStacks(): boolean {
    return capturesStacks(this.top);
  }

  /** See {@link Allocator.allocate}: guarded, filled, then handed out. */
  allocate(size: number, align?: number): Ptr {
    if (!this.alive) throw this.endedError("allocate");
    return this.top.allocate(size, align);
  }
  /**
   * See {@link Allocator.deallocate}: the guards are checked now, then the block
   * is filled and quarantined (and its fill checked when it leaves). A broken
   * guard throws CorruptionError after the block was freed, like every layer.
   */
  deallocate(ptr: Ptr): void {
    if (!this.alive) throw this.endedError("deallocate");
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
    if (!this.alive) throw this.endedError("reallocate");
    if (this.top !== this.canary) {
      const damage = this.canary?.findGuardDamage(ptr);
      if (damage !== undefined) throw damage;
    }
    return this.top.reallocate(ptr, newSize, align);
  }

  /** Usable bytes of a live block (with the canary layer: exactly the size asked). */
  allocatedSize(ptr: Ptr): number {
    if (!this.alive) throw this.endedError("allocatedSize");
    return this.top.allocatedSize(ptr);
  }

  /** True for a live block of the stack (a quarantined block is not live). */
  owns(ptr: Ptr): boolean {
    return this.alive && this.top.owns(ptr);
  }

  /** The outermost layer's counters (sizes asked for); reservedBytes is what the whole stack holds from the backing (its state included). */
  stats(): AllocatorStats {
    this.assertAlive("stats");
    const stats = this.top.stats();
    stats.reservedBytes = this.#bottom.stats().reservedBytes + this.backing.allocatedSize(this.controlPtr);
    return stats;
  }

  /** Checks every layer (quarantined fills, then guards), then the backing's `check()` when it has one. */
  check(): void {
    this.assertAlive("check");
    if (isCheckable(this.top)) this.top.check();
  }

  /** Scope and allocation stack of a live block, from the backing through every layer. */
  originOf(ptr: Ptr): BlockOrigin | undefined {
    if (!this.alive) return undefined;
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
    this.assertAlive("flush");
    this.quarantine?.flush();
  }

  /** Ends this handle and its layers' handles; the stack and its blocks live on (attach again to use them). */
  detach(): void {
    if (!this.alive) return;
    this.quarantine?.detach();
    this.fill?.detach();
    this.canary?.detach();
    this.end("detached");
  }

  /**
   * Flushes the quarantine, then destroys every layer (outermost first: each
   * gives its state back to the one below) and gives the stack's control
   * block back. Live blocks stay with the backing. Idempotent.
   */
  destroy(): void {
    if (!this.alive) return;
    const { space, controlPtr, backing } = this;
    try {
      this.quarantine?.destroy();
    } finally {
      try {
        this.fill?.destroy();
      } finally {
        try {
          this.canary?.destroy();
        } finally {
          retireControl(space, controlPtr);
          this.end("destroyed");
          backing.deallocate(controlPtr);
        }
      }
    }
  }
}

/** What a DebugAllocator is built from. */
interface Layers {
  backing: Allocator;
  name: string;
  controlPtr: Ptr;
  canary: CanaryAllocator | undefined;
  fill: FillAllocator | undefined;
  quarantine: QuarantineAllocator | undefined;
}

/** Builds the layers over `backing` and the stack's control block recording them. */
function createLayers(source: Allocator, options: DebugWrapOptions): Layers {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`DebugAllocator: options must be an object, received ${describe(options)}.`);
  const backing = expectBacking("DebugAllocator", source);
  // Only the outermost layer ever sees a double free (it refuses every pointer
  // that is not live before an inner layer is asked), so only it captures free
  // stacks by default: one capture per free, not one per layer.
  const stacks = options.captureStacks ?? capturesStacks(backing);
  const outermost = options.quarantine !== false ? "quarantine" : options.fill !== false ? "fill" : "canary";
  const layer = (name: string): { captureStacks: boolean } => ({ captureStacks: name === outermost && stacks });
  const checkEvery = { checkEvery: options.checkEvery };
  let controlPtr: Ptr;
  try {
    controlPtr = backing.allocate(DEBUG_CONTROL_BYTES, 8);
  } catch (cause) {
    if (!(cause instanceof OutOfMemoryError)) throw cause;
    throw new OutOfMemoryError(`DebugAllocator: the backing "${backing.name}" has no ${formatBytes(DEBUG_CONTROL_BYTES)} left for the control block.`, { cause });
  }
  let top: Allocator = backing;
  let canary: CanaryAllocator | undefined;
  let fill: FillAllocator | undefined;
  let quarantine: QuarantineAllocator | undefined;
  try {
    if (options.canary !== false) top = canary = new CanaryAllocator(top, { ...layer("canary"), ...checkEvery, ...options.canary });
    if (options.fill !== false) top = fill = new FillAllocator(top, { ...layer("fill"), ...options.fill });
    if (options.quarantine !== false) quarantine = new QuarantineAllocator(top, { ...layer("quarantine"), ...checkEvery, ...options.quarantine });
  } catch (error) {
    fill?.destroy();
    canary?.destroy();
    backing.deallocate(controlPtr);
    throw error;
  }
  const space = backing.space;
  initControl(space, controlPtr, DEBUG_LAYOUT, DEBUG_CONTROL_BYTES);
  const u32 = space.u32;
  const w = controlPtr >>> 2;
  u32[w + W_CANARY] = canary?.controlPtr ?? 0;
  u32[w + W_FILL] = fill?.controlPtr ?? 0;
  u32[w + W_QUARANTINE] = quarantine?.controlPtr ?? 0;
  u32[w + W_BACKING] = backingControl(backing);
  sealControl(space, controlPtr, DEBUG_LAYOUT);
  return { backing, name: options.name ?? `debug(${backing.name})`, controlPtr, canary, fill, quarantine };
}

/** Attaches every layer recorded in the stack's control block, innermost first, over `options.backing`. */
function attachLayers(at: Attachment, options: unknown): Layers {
  const { space, controlPtr, who } = at;
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`${who}: options must be an object with the backing ({ backing }), received ${describe(options)}.`);
  const o = options as Partial<DebugAttachOptions>;
  const backing = expectBacking(who, o.backing, space);
  const u32 = space.u32;
  const w = controlPtr >>> 2;
  const recorded = u32[w + W_BACKING]!;
  const given = backingControl(backing);
  if (recorded !== given) {
    throw new InvalidArgumentError(
      `${who}: the debug stack at ${hex(controlPtr)} was created over the allocator whose control block is at ${hex(recorded)}; ` +
        `the backing passed ("${backing.name}") is ${given === 0 ? "one without a control block" : `the one at ${hex(given)}`}. Pass a handle on the allocator it was created over.`,
    );
  }
  if (!ownedBlock(backing, controlPtr, 0)) throw new CorruptionError(`${who}: the debug stack's control block at ${hex(controlPtr)} is not a block of its backing "${backing.name}".`);
  const ended: { detach(): void }[] = [];
  try {
    const c = u32[w + W_CANARY]!;
    const f = u32[w + W_FILL]!;
    const q = u32[w + W_QUARANTINE]!;
    const canary = c === 0 ? undefined : CanaryAllocator.attach(space, c, { backing });
    if (canary !== undefined) ended.push(canary);
    const fill = f === 0 ? undefined : FillAllocator.attach(space, f, { backing: canary ?? backing });
    if (fill !== undefined) ended.push(fill);
    const quarantine = q === 0 ? undefined : QuarantineAllocator.attach(space, q, { backing: fill ?? canary ?? backing });
    return { backing, name: o.name ?? `debug(${backing.name})`, controlPtr, canary, fill, quarantine };
  } catch (error) {
    for (const layer of ended) layer.detach();
    throw error;
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

// Marked at load: the layers' control blocks are leased before the constructor runs, under debugWrap.
markEntryPoints(DebugAllocator, debugWrap);
