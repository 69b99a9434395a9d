import { InvalidArgumentError, describe, type Allocator } from "@memkit/core";
import type { TreeSettings } from "./tree-control.js";
import type { BudgetOptions, BudgetWarning, TraceAllocatorOptions, TraceScopeOptions, TracingLevel } from "./types.js";

/*
 * Checks of a scope's options and names. Each throws InvalidArgumentError
 * naming the scope (or TraceAllocator) and the option.
 */

/** The tracing levels, in the order of the scope's level numbers (off = 0, counts = 1, callstacks = 2). */
export const LEVELS: readonly TracingLevel[] = ["off", "counts", "callstacks"];

const DEFAULT_STACK_DEPTH = 12;
const DEFAULT_CAPACITY = 1024;
const DEFAULT_FREED_HISTORY = 4096;

/** Checks a budget option; throws InvalidArgumentError naming what is wrong. */
export function parseBudget(who: string, budget: number | BudgetOptions): Required<BudgetOptions> {
  const spec = typeof budget === "number" ? { bytes: budget } : budget;
  if (typeof spec !== "object" || spec === null || !Number.isSafeInteger(spec.bytes) || spec.bytes < 0) {
    throw new InvalidArgumentError(
      `${who}: budget must be a byte count (a non-negative integer) or { bytes, onExceed }, received ${describe(typeof spec === "object" && spec !== null ? spec.bytes : budget)}.`,
    );
  }
  const onExceed = spec.onExceed ?? "throw";
  if (onExceed !== "throw" && onExceed !== "warn") {
    throw new InvalidArgumentError(`${who}: budget.onExceed must be "throw" or "warn", received ${describe(onExceed)}.`);
  }
  return { bytes: spec.bytes, onExceed };
}

/** `options` without `backing` (a child's own backing is not inherited by its children's options). */
export function withoutBacking(options: TraceScopeOptions): TraceScopeOptions {
  const { backing: _backing, ...rest } = options;
  return rest;
}

export function checkName(name: unknown, parentPath: string | undefined): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || /[/;\r\n]/.test(name) || name.trim() !== name) {
    throw new InvalidArgumentError(
      `${parentPath ?? "TraceAllocator"}: scope name must be a non-empty string without "/", ";", line breaks or surrounding spaces, received ${describe(name)}.\n` +
        `  "/" joins scope paths and ";" separates folded-stack frames.`,
    );
  }
}

export function checkLevel(who: string, level: unknown): void {
  if (!LEVELS.includes(level as TracingLevel)) {
    throw new InvalidArgumentError(`${who}: tracing must be "off", "counts" or "callstacks", received ${describe(level)}.`);
  }
}

export function checkSampleEvery(who: string, n: unknown): void {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1 || n > 0x7fffffff) {
    throw new InvalidArgumentError(`${who}: sampleEvery must be an integer >= 1 (1 = every allocation), received ${describe(n)}.`);
  }
}

export function checkOptions(options: TraceAllocatorOptions, isRoot: boolean): void {
  const who = "TraceAllocator";
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError(`${who}: options must be an object, received ${describe(options)}.`);
  if (options.tracing !== undefined) checkLevel(who, options.tracing);
  if (options.sampleEvery !== undefined) checkSampleEvery(who, options.sampleEvery);
  if (!isRoot) return;
  const d = options.stackDepth;
  if (d !== undefined && (!Number.isSafeInteger(d) || d < 1 || d > 256)) {
    throw new InvalidArgumentError(`${who}: stackDepth must be an integer from 1 to 256, received ${describe(d)}.`);
  }
  if (options.internalFrames !== undefined && !(options.internalFrames instanceof RegExp)) {
    throw new InvalidArgumentError(`${who}: internalFrames must be a RegExp, received ${describe(options.internalFrames)}.`);
  }
  const cap = options.initialCapacity;
  if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 1 || cap > 1 << 28)) {
    throw new InvalidArgumentError(`${who}: initialCapacity must be an integer from 1 to 2^28, received ${describe(cap)}.`);
  }
  const h = options.freedHistory;
  if (h !== undefined && (!Number.isSafeInteger(h) || h < 1 || h > 1 << 20)) {
    throw new InvalidArgumentError(`${who}: freedHistory must be an integer from 1 to 2^20, received ${describe(h)}.`);
  }
  if (options.onBudgetWarning !== undefined && typeof options.onBudgetWarning !== "function") {
    throw new InvalidArgumentError(`${who}: onBudgetWarning must be a function, received ${describe(options.onBudgetWarning)}.`);
  }
  if (options.guardHeaders !== undefined && typeof options.guardHeaders !== "boolean") {
    throw new InvalidArgumentError(`${who}: guardHeaders must be true or false, received ${describe(options.guardHeaders)}.`);
  }
  if (options.sharedBacking !== undefined && typeof options.sharedBacking !== "boolean") {
    throw new InvalidArgumentError(`${who}: sharedBacking must be true or false, received ${describe(options.sharedBacking)}.`);
  }
}

/** The settings of a new tree, defaults applied. */
export function rootSettings(options: TraceAllocatorOptions): TreeSettings {
  const history = options.freedHistory ?? DEFAULT_FREED_HISTORY;
  return {
    stackDepth: options.stackDepth ?? DEFAULT_STACK_DEPTH,
    initialCapacity: options.initialCapacity ?? DEFAULT_CAPACITY,
    // A power of two, so the ring index wraps with a mask; made with integer steps (2 ** ceil(log2)
    // is a float64 in optimised code, which sizes the control block and so reaches the backing's
    // allocate as a heap number: that deoptimised its hot path for every later call).
    ringSlots: 1 << (32 - Math.clz32(history - 1)),
    guardHeaders: options.guardHeaders ?? false,
    sharedBacking: options.sharedBacking ?? false,
    threads: options.lock !== undefined,
  };
}

/** The budget-warning hook when none is given: the message goes to the console. */
export function defaultBudgetWarning(w: BudgetWarning): void {
  console.warn(w.message);
}

/** The parts of a parent scope {@link checkBacking} compares with. */
interface ParentScope {
  readonly path: string;
  readonly space: object;
  readonly root: object;
}

/** Checks the backing of a new scope (a child's must share the tree's space and not be a scope of the tree). */
export function checkBacking(backing: Allocator, parent: ParentScope | undefined): void {
  const who = parent?.path ?? "TraceAllocator";
  if (typeof backing !== "object" || backing === null || typeof backing.allocate !== "function" || typeof backing.deallocate !== "function") {
    throw new InvalidArgumentError(`${who}: the backing must be an Allocator, received ${describe(backing)}.`);
  }
  if (parent === undefined) return;
  if (backing.space !== parent.space) {
    throw new InvalidArgumentError(`${who}: a child's backing (${backing.name}) must use the same address space as its tree: one set of records and headers covers the tree.`);
  }
  // Only a scope of the same tree has the tree's root as its root.
  const scope = backing as Allocator & Partial<ParentScope>;
  if (scope.root === parent.root) {
    throw new InvalidArgumentError(`${who}: a child's backing cannot be a scope of the same tree (${scope.path}); use child() for nesting.`);
  }
}
