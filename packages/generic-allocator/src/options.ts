import { CorruptionError, InvalidArgumentError, MAX_SIZE, describe, hex, isPowerOfTwo } from "@memkit/core";
import type { HeapAllocatorOptions } from "@memkit/heap-allocator";
import type { PageAllocator } from "@memkit/page-allocator";
import type { SlotAllocatorOptions } from "@memkit/slot-allocator";

/** Options for {@link GenericAllocator}. */
export interface GenericAllocatorOptions {
  /** Name used in messages and reports. @defaultValue "generic" */
  name?: string;
  /** Sizes up to this (and alignments up to {@link smallAlignMax}) go to the slot allocator. @defaultValue the slot tier's largest slot (4096 with the default 32 KiB slabs) */
  smallMax?: number;
  /** Largest alignment the slot tier serves; larger alignments of small sizes go to the heap. @defaultValue 64 */
  smallAlignMax?: number;
  /** Sizes from this up are whole page spans. @defaultValue 512 KiB (page rounding then wastes at most 12.5% with 64 KiB pages) */
  largeThreshold?: number;
  /** Options of the slot tier. @defaultValue slabs of max(32 KiB, page size), slots up to 4 KiB */
  slots?: SlotAllocatorOptions;
  /** Options of the heap tier. */
  heap?: HeapAllocatorOptions;
  /**
   * A routes table (`createRemoteRoutes(pages)`) shared with the generic
   * allocators of other threads over the same page allocator: this allocator
   * registers its tiers there, and a block of another registered allocator
   * given to its `deallocate` goes back to its owner (docs/threads.md).
   * @defaultValue none: a block of another allocator is an InvalidPointerError
   */
  routes?: number;
}

/** Options for {@link GenericAllocator.attach}. */
export interface GenericAttachOptions {
  /** Name of this handle in messages; its tiers are named `<name>.slots` and `<name>.heap`. @defaultValue "generic" */
  name?: string;
  /**
   * The page allocator handle to lease through: it must be on the control
   * block the generic allocator was created over. @defaultValue this
   * thread's live handle on it, or a new handle attached to it
   */
  pages?: PageAllocator;
}

/** The routing policy: sealed in the control block. */
export interface Policy {
  smallMax: number;
  smallAlignMax: number;
  largeThreshold: number;
}

/** Why `p` is not a policy for a slot tier whose largest slot is `maxSlotSize`, or undefined. */
function policyProblem(p: Policy, maxSlotSize: number): [keyof Policy, string] | undefined {
  if (!Number.isInteger(p.smallMax) || p.smallMax < 0 || p.smallMax > maxSlotSize) return ["smallMax", `an integer from 0 to the largest slot (${maxSlotSize})`];
  if (!Number.isInteger(p.smallAlignMax) || p.smallAlignMax < 1 || p.smallAlignMax > maxSlotSize || !isPowerOfTwo(p.smallAlignMax)) {
    return ["smallAlignMax", `a power of two from 1 to ${maxSlotSize}`];
  }
  if (!Number.isInteger(p.largeThreshold) || p.largeThreshold <= p.smallMax || p.largeThreshold > MAX_SIZE) return ["largeThreshold", `an integer above smallMax (${p.smallMax}), at most ${MAX_SIZE}`];
  return undefined;
}

/** The policy `options` ask for, defaults applied; InvalidArgumentError names a bad option. */
export function resolvePolicy(name: string, options: GenericAllocatorOptions, maxSlotSize: number): Policy {
  const policy: Policy = {
    smallMax: options.smallMax ?? maxSlotSize,
    smallAlignMax: options.smallAlignMax ?? 64,
    largeThreshold: options.largeThreshold ?? 512 * 1024,
  };
  const problem = policyProblem(policy, maxSlotSize);
  if (problem !== undefined) throw new InvalidArgumentError(`${name}: option ${problem[0]} must be ${problem[1]}, received ${describe(options[problem[0]])}.`);
  return policy;
}

/** The policy read back from a control block: a value no option could give is a CorruptionError. */
export function checkPolicy(who: string, controlPtr: number, p: Policy, maxSlotSize: number): void {
  const problem = policyProblem(p, maxSlotSize);
  if (problem !== undefined) {
    throw new CorruptionError(`${who}: the generic allocator at ${hex(controlPtr)} holds ${problem[0]} ${p[problem[0]]}, not ${problem[1]}: its control block is damaged.`);
  }
}
