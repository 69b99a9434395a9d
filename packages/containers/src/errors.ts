import { DestroyedError, InvalidArgumentError, InvalidPointerError, describe } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import type { ElementKindInfo } from "./element-kind.js";

/**
 * A {@link HandlePool} handle whose record was destroyed (and whose slot may
 * already hold a newer record). Extends core's InvalidPointerError (code
 * `ERR_INVALID_POINTER`): a stale handle is a dangling pointer caught in time,
 * so code that handles bad pointers handles it too.
 */
export class StaleHandleError extends InvalidPointerError {
  /** The handle that was used. */
  readonly handle: number;
  /** The slot it addresses. */
  readonly index: number;
  /** The generation it carries. */
  readonly generation: number;
  /** The slot's current generation (of its live record, or of the next one when free). */
  readonly currentGeneration: number;

  constructor(message: string, handle: number, index: number, generation: number, currentGeneration: number) {
    super(message);
    this.handle = handle;
    this.index = index;
    this.generation = generation;
    this.currentGeneration = currentGeneration;
  }
}

/** Core's DestroyedError (`ERR_DESTROYED`), thrown by a container used after `dispose()`. */
export function disposedError(label: string): DestroyedError {
  return new DestroyedError(`${label} was used after dispose(): its memory was returned to the allocator. Create a new container instead.`);
}

/** Core's DestroyedError for a handle whose container a restore took over (one live handle per container). */
export function handedOverError(label: string): DestroyedError {
  return new DestroyedError(
    `${label} was used after restore() took the container over: the restored handle is the one live handle now. Use it instead.`,
  );
}

/**
 * The error for a bad index: InvalidArgumentError when it is not a number at
 * all (a string, a BigInt, undefined...), RangeError when it is a number
 * outside `[0, length)` or not an integer (as Node does for buffer offsets).
 */
export function indexError(label: string, index: unknown, length: number): RangeError | InvalidArgumentError {
  if (typeof index !== "number") return new InvalidArgumentError(`${label}: index ${describe(index)} is not a number (length ${length}).`);
  if (!Number.isInteger(index)) return new RangeError(`${label}: index ${describe(index)} is not an integer (length ${length}).`);
  return new RangeError(`${label}: index ${index} is out of range for length ${length}.`);
}

/** True for an integer from 0 to `max` (a capacity or a length); false for anything else, BigInt and Symbol included. */
export function isCount(value: unknown, max: number): value is number {
  return typeof value === "number" && value >>> 0 === value && value <= max;
}

/** InvalidArgumentError for a count/capacity that is not an integer in range. */
export function countError(label: string, what: string, value: unknown, max: number): InvalidArgumentError {
  return new InvalidArgumentError(`${label}: ${what} must be an integer from 0 to ${max}, received ${describe(value)}.`);
}

/** InvalidArgumentError for a value of the wrong JS type: number kinds take numbers, u64/i64 take bigints. */
export function valueError(label: string, info: ElementKindInfo, value: unknown): InvalidArgumentError {
  const wanted = info.bigint ? `a bigint (${info.kind} values are bigints: 5n or BigInt(x))` : `a number (${info.kind} values are numbers)`;
  return new InvalidArgumentError(`${label}: value must be ${wanted}, received ${describe(value)}.`);
}

/** InvalidArgumentError for a callback that is not a function. */
export function callbackError(label: string, method: string, callback: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${label}: ${method} expects a function, received ${describe(callback)}.`);
}

/** InvalidArgumentError for a struct field name the layout does not have. */
export function unknownFieldError(label: string, field: unknown, known: readonly string[]): InvalidArgumentError {
  return new InvalidArgumentError(`${label}: unknown field ${describe(field)}.\n  The layout has: ${known.join(", ")}.`);
}

/** Throws InvalidArgumentError unless `allocator` has the Allocator methods containers use. */
export function checkAllocator(type: string, allocator: Allocator): void {
  const a = allocator as Partial<Allocator> | null | undefined;
  if (
    a === null ||
    typeof a !== "object" ||
    typeof a.allocate !== "function" ||
    typeof a.deallocate !== "function" ||
    typeof a.reallocate !== "function" ||
    typeof a.allocatedSize !== "function" ||
    typeof a.owns !== "function" ||
    typeof a.space !== "object" ||
    a.space === null
  ) {
    throw new InvalidArgumentError(`${type}: expected an Allocator (with allocate, deallocate, reallocate, allocatedSize, owns and space), received ${describe(allocator)}.`);
  }
}
