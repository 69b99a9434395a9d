import { InvalidArgumentError, InvalidPointerError } from "./errors.js";
import { hex } from "./format.js";

/** Largest size an allocator accepts as an argument (larger requests are argument errors, not OOM). */
export const MAX_SIZE = 0xffff_ffff;
/** Largest alignment any allocator supports. */
export const MAX_ALIGN = 65536;
/** Alignment used when `align` is omitted. */
export const DEFAULT_ALIGN = 8;

/** True for integers 0..2^32-1. `x >>> 0 === x` rejects NaN, negatives, fractions and > 2^32-1 in one compare. */
export function isValidSize(size: number): boolean {
  return typeof size === "number" && size >>> 0 === size;
}

/** True for powers of two 1..65536. */
export function isValidAlign(align: number): boolean {
  return typeof align === "number" && (align | 0) === align && align > 0 && align <= MAX_ALIGN && (align & (align - 1)) === 0;
}

/**
 * The one argument check every allocator runs at the top of `allocate` /
 * `reallocate`, so every message reads the same. Cheap: two compares on the
 * good path; the message is built only when it throws.
 */
export function validateAllocation(who: string, size: number, align: number): void {
  // typeof first: `>>>` and `|` throw TypeError on a BigInt or a Symbol.
  if (typeof size !== "number" || size >>> 0 !== size) throwBadSize(who, size);
  if (typeof align !== "number" || (align | 0) !== align || align <= 0 || align > MAX_ALIGN || (align & (align - 1)) !== 0) {
    throwBadAlign(who, size, align);
  }
}

/** Throws InvalidArgumentError for a size outside 0..2^32-1. */
export function validateSize(who: string, size: number): void {
  if (typeof size !== "number" || size >>> 0 !== size) throwBadSize(who, size);
}

function throwBadSize(who: string, size: unknown): never {
  throw new InvalidArgumentError(
    `${who}: size must be an integer from 0 to ${MAX_SIZE}, received ${describe(size)}.\n` +
      `  Sizes are byte counts; round fractional sizes up before allocating.`,
  );
}

function throwBadAlign(who: string, size: number, align: unknown): never {
  throw new InvalidArgumentError(
    `${who}: align must be a power of two from 1 to ${MAX_ALIGN}, received ${describe(align)} (size ${describe(size)}).\n` +
      `  Use 1, 2, 4, 8, ... ${MAX_ALIGN}, or omit it for ${DEFAULT_ALIGN}.`,
  );
}

/**
 * Throws InvalidPointerError unless `ptr` is a non-negative integer below 2^32:
 * the shape check every allocator makes before looking a pointer up.
 */
export function validatePointerShape(who: string, ptr: number): void {
  if (typeof ptr !== "number" || ptr >>> 0 !== ptr) {
    throw new InvalidPointerError(`${who}: ${describe(ptr)} is not a pointer (expected an integer byte offset from 0 to ${MAX_SIZE}).`);
  }
}

/** Builds the standard message for a pointer the allocator did not hand out. */
export function invalidPointer(who: string, ptr: number, why: string): InvalidPointerError {
  return new InvalidPointerError(`${who}: ${hex(ptr)} was not handed out by this allocator (${why}).`);
}

/** A short printable form of any argument for messages. */
export function describe(value: unknown): string {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return `${value}n (a BigInt; pass a number)`;
  if (typeof value === "symbol") return `${String(value)} (a Symbol)`;
  return typeof value;
}

/** Rounds `value` up to a multiple of `align` (a power of two). Exact for all safe integers. */
export function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/** True when `value` is a power of two (1, 2, 4, ...). */
export function isPowerOfTwo(value: number): boolean {
  return typeof value === "number" && value > 0 && Number.isSafeInteger(value) && 2 ** Math.round(Math.log2(value)) === value;
}
