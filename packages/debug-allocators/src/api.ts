import type { Checkable } from "@memkit/core";

/** Options every debug wrapper takes. */
export interface DebugWrapperOptions {
  /** Name used in messages and reports. @defaultValue `<kind>(<backing name>)`, e.g. `canary(root/ai)` */
  name?: string;
  /**
   * Capture the call stack of every free (`new Error().stack`), so a double
   * free or a write after free names where the block was first freed. Costs
   * a stack capture per free.
   * @defaultValue true when the backing captures stacks ({@link StackCapturing}), else false
   */
  captureStacks?: boolean;
  /**
   * Recently freed pointers remembered, so a second free of one throws
   * DoubleFreeError instead of InvalidPointerError. 0..1,048,576.
   * @defaultValue {@link DEFAULT_FREE_HISTORY} (1024)
   */
  freeHistory?: number;
  /**
   * Walk this wrapper's blocks (its own part of `check()`, not the backing's)
   * every N calls to allocate/deallocate/reallocate. 0 never.
   * @defaultValue 0
   */
  checkEvery?: number;
}

/** Options for {@link CanaryAllocator}. */
export interface CanaryOptions extends DebugWrapperOptions {
  /** Guard bytes before and after each block, 1..65536 (the one before grows to a multiple of the alignment). @defaultValue 16 */
  guardBytes?: number;
}

/** Which side of an end-of-page block the guard zone is on. */
export type EndOfPageMode = "overrun" | "underrun";

/** Options for {@link EndOfPageAllocator}. */
export interface EndOfPageOptions extends DebugWrapperOptions {
  /** `"overrun"`: block flush against the end of its span, guard zone after it; `"underrun"`: flush against the start, guard zone before it. @defaultValue "overrun" */
  mode?: EndOfPageMode;
  /** Minimum bytes of guard zone, 1..1,048,576. @defaultValue 256 */
  guardBytes?: number;
}

/** Options for {@link FillAllocator}. */
export interface FillOptions extends DebugWrapperOptions {
  /** Fill of a fresh block: a byte 0..255, `"random"` (seeded, reproducible) or `"none"`. @defaultValue {@link CLEAN_BYTE} (0xcd) */
  onAllocate?: number | "random" | "none";
  /** Fill of a freed block: a byte 0..255 or `"none"`. @defaultValue {@link FREED_BYTE} (0x66) */
  onFree?: number | "none";
  /** Seed of the `"random"` allocation fill. @defaultValue {@link DEFAULT_FILL_SEED} */
  seed?: number;
}

/** Options for {@link QuarantineAllocator}. */
export interface QuarantineOptions extends DebugWrapperOptions {
  /** Bytes held in quarantine before the oldest blocks are really freed (0 = release at once). @defaultValue 1 MiB */
  maxBytes?: number;
  /** Blocks held in quarantine at most, 0..1,048,576. @defaultValue 4096 */
  maxBlocks?: number;
  /** Byte a quarantined block is filled with and must still hold when it leaves. @defaultValue {@link FREED_BYTE} (0x66) */
  fillByte?: number;
}

/**
 * Implemented by allocators that capture call stacks (these wrappers when
 * they capture): a wrapper over one captures free stacks by default too.
 */
export interface StackCapturing {
  /** True when this allocator captures call stacks. */
  readonly capturesStacks: boolean;
}

/**
 * True when `allocator` captures call stacks: it says so ({@link StackCapturing}),
 * or it is a trace scope at `tracing: "callstacks"`.
 */
export function capturesStacks(allocator: object): boolean {
  const a = allocator as Partial<StackCapturing> & { tracing?: unknown };
  return a.capturesStacks === true || a.tracing === "callstacks";
}

/** True when `allocator` can check its own invariants. */
export function isCheckable(allocator: object): allocator is Checkable {
  return typeof (allocator as Partial<Checkable>).check === "function";
}

/** Options for {@link debugWrap}: each layer's options, or `false` to leave the layer out. */
export interface DebugWrapOptions {
  /** Name of the stack. @defaultValue `debug(<backing name>)` */
  name?: string;
  /** Guard bytes around every block (innermost layer). @defaultValue {} */
  canary?: CanaryOptions | false;
  /** Fill patterns on allocate and free (middle layer). @defaultValue {} */
  fill?: FillOptions | false;
  /** Quarantine of freed blocks (outermost layer). @defaultValue {} */
  quarantine?: QuarantineOptions | false;
  /**
   * Capture free stacks in the outermost layer, the only one that sees double
   * frees (a layer's own option wins).
   * @defaultValue true when the backing captures stacks
   */
  captureStacks?: boolean;
  /** Default `checkEvery` of the canary and quarantine layers (a layer's own option wins). */
  checkEvery?: number;
}
