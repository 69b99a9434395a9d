import { InvalidArgumentError, describe } from "@memkit/core";

/** The numeric element kinds a container can hold: C's fixed-width types. */
export type ElementKind = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64" | "u64" | "i64";

/** Kinds read and written as `bigint` (BigUint64Array / BigInt64Array). Every read allocates a BigInt. */
export type BigIntKind = "u64" | "i64";

/** Kinds read and written as `number`. */
export type NumberKind = Exclude<ElementKind, BigIntKind>;

/** Kinds a {@link HashMap} or {@link HashSet} key can have. */
export type KeyKind = "u32" | "i32" | "f64";

/** The JS type a value of kind `K` is read as: `bigint` for u64/i64, `number` otherwise. */
export type ValueOf<K extends ElementKind> = K extends BigIntKind ? bigint : number;

/** Any of the typed-array classes behind the element kinds. */
export type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigUint64ArrayConstructor
  | BigInt64ArrayConstructor;

/** Any typed array an element kind is viewed through (over an ArrayBuffer or a SharedArrayBuffer). */
export type TypedArray =
  | Uint8Array<ArrayBufferLike>
  | Int8Array<ArrayBufferLike>
  | Uint16Array<ArrayBufferLike>
  | Int16Array<ArrayBufferLike>
  | Uint32Array<ArrayBufferLike>
  | Int32Array<ArrayBufferLike>
  | Float32Array<ArrayBufferLike>
  | Float64Array<ArrayBufferLike>
  | BigUint64Array<ArrayBufferLike>
  | BigInt64Array<ArrayBufferLike>;

/** The typed array each element kind is viewed through. */
export interface TypedArrayByKind {
  u8: Uint8Array<ArrayBufferLike>;
  i8: Int8Array<ArrayBufferLike>;
  u16: Uint16Array<ArrayBufferLike>;
  i16: Int16Array<ArrayBufferLike>;
  u32: Uint32Array<ArrayBufferLike>;
  i32: Int32Array<ArrayBufferLike>;
  f32: Float32Array<ArrayBufferLike>;
  f64: Float64Array<ArrayBufferLike>;
  u64: BigUint64Array<ArrayBufferLike>;
  i64: BigInt64Array<ArrayBufferLike>;
}

/** The typed array of kind `K`: `Float32Array` for `"f32"`; the union of them for a union of kinds. */
export type TypedArrayOf<K extends ElementKind> = TypedArrayByKind[K];

/**
 * How containers index a typed view internally: as numbers. (u64/i64 views
 * hold bigints; `<`, `>` and `===` treat them the same way, so the code that
 * moves and compares elements is shared.)
 */
export interface NumericView {
  [index: number]: number;
}

/** A whole-space typed view with the bulk operations containers use. */
export interface ElementView extends NumericView {
  fill(value: number, start: number, end: number): unknown;
  copyWithin(target: number, start: number, end: number): unknown;
  subarray(start: number, end: number): TypedArray;
}

/** What a container needs to know about one element kind. */
export interface ElementKindInfo {
  /** The kind's name, e.g. `"u32"`. */
  readonly kind: ElementKind;
  /** Bytes per element: 1, 2, 4 or 8. */
  readonly size: 1 | 2 | 4 | 8;
  /** Required alignment in bytes (equal to `size`, as in C on every platform memkit runs on). */
  readonly align: 1 | 2 | 4 | 8;
  /** log2(size): turns a byte address into an element index (`ptr >> shift`). */
  readonly shift: 0 | 1 | 2 | 3;
  /** The typed array that reads and writes this kind. */
  readonly arrayType: TypedArrayConstructor;
  /** True for f32/f64 (NaN exists, integers round). */
  readonly float: boolean;
  /** True for u64/i64 (values are bigint). */
  readonly bigint: boolean;
  /** The kind's zero: `0`, or `0n` for u64/i64. */
  readonly zero: number | bigint;
}

function info(kind: ElementKind, size: 1 | 2 | 4 | 8, arrayType: TypedArrayConstructor): ElementKindInfo {
  const bigint = kind === "u64" || kind === "i64";
  return Object.freeze({
    kind,
    size,
    align: size,
    shift: (size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3),
    arrayType,
    float: kind === "f32" || kind === "f64",
    bigint,
    zero: bigint ? BigInt(0) : 0,
  });
}

/** One descriptor per element kind: size, alignment, shift and typed-array class. */
export const ELEMENT_KINDS: Readonly<Record<ElementKind, ElementKindInfo>> = Object.freeze({
  u8: info("u8", 1, Uint8Array),
  i8: info("i8", 1, Int8Array),
  u16: info("u16", 2, Uint16Array),
  i16: info("i16", 2, Int16Array),
  u32: info("u32", 4, Uint32Array),
  i32: info("i32", 4, Int32Array),
  f32: info("f32", 4, Float32Array),
  f64: info("f64", 8, Float64Array),
  u64: info("u64", 8, BigUint64Array),
  i64: info("i64", 8, BigInt64Array),
});

/**
 * Element kinds in the order of their codes in container descriptors
 * (`persist()`): a saved memory image stores the code, so this order never
 * changes (a change is a new descriptor version).
 */
const KIND_CODES: readonly ElementKind[] = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "f64", "u64", "i64"];

/** The descriptor code of `kind` (0..9). */
export function kindCode(kind: ElementKind): number {
  return KIND_CODES.indexOf(kind);
}

/** The element kind with descriptor code `code`, or undefined for a code no kind has. */
export function kindOfCode(code: number): ElementKind | undefined {
  return KIND_CODES[code];
}

/** True when `value` names an element kind. */
export function isElementKind(value: unknown): value is ElementKind {
  return typeof value === "string" && Object.prototype.hasOwnProperty.call(ELEMENT_KINDS, value);
}

/** The descriptor of `kind`; throws InvalidArgumentError naming `who` for anything else. */
export function elementKind(who: string, kind: unknown): ElementKindInfo {
  if (!isElementKind(kind)) {
    throw new InvalidArgumentError(
      `${who}: unknown element kind ${describe(kind)}.\n  Use one of ${Object.keys(ELEMENT_KINDS).join(", ")}.`,
    );
  }
  return ELEMENT_KINDS[kind];
}

/** The descriptor of a key kind; throws InvalidArgumentError for anything but u32, i32 and f64. */
export function keyKind(who: string, kind: unknown): ElementKindInfo {
  if (kind !== "u32" && kind !== "i32" && kind !== "f64") {
    throw new InvalidArgumentError(`${who}: key kind must be "u32", "i32" or "f64", received ${describe(kind)}.`);
  }
  return ELEMENT_KINDS[kind];
}
