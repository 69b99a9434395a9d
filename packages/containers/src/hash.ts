// Keys of the hash tables: how they hash, and which values each key kind accepts.

/**
 * Integer hashing for the open-addressing tables.
 *
 * `hash32` is Chris Wellons' "lowbias32" (xorshift-multiply, found by search
 * for low avalanche bias): a bijection on 32 bits, so distinct keys never
 * share a full hash, and every input bit moves about half of the output bits,
 * so sequential ids, multiples of 4096 and pointer-like keys spread evenly
 * over the low bits a power-of-two table uses. Five integer operations.
 */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x;
}

// One 8-byte scratch cell to read a double's bits; allocated once per module.
const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);

/**
 * Hash of a double's bit pattern (callers map -0 to +0 first, so equal keys
 * hash equally): both 32-bit halves mixed, so keys differing only in the
 * exponent or only in the low mantissa bits still spread.
 */
export function hashF64(x: number): number {
  scratchF64[0] = x;
  return hash32(scratchU32[0]! ^ hash32(scratchU32[1]!));
}

/** How one key kind is checked and hashed (the zero key never gets here). */
export interface KeyOps {
  /**
   * True for a key of this kind, checked exactly: a number first (BigInt,
   * Symbol, strings, null, undefined, booleans and objects are never keys;
   * `typeof` also keeps `>>>` and `|` from throwing TypeError), then u32: an
   * integer 0..2^32-1; i32: an integer -2^31..2^31-1; f64: any number but NaN
   * (NaN never equals itself, so it could be stored but never found).
   */
  valid: (key: unknown) => boolean;
  hash: (key: number) => number;
  domain: string;
}

export const KEY_OPS: Record<"u32" | "i32" | "f64", KeyOps> = {
  u32: { valid: (k) => typeof k === "number" && k >>> 0 === k, hash: hash32, domain: "an integer from 0 to 4294967295" },
  i32: { valid: (k) => typeof k === "number" && (k | 0) === k, hash: hash32, domain: "an integer from -2147483648 to 2147483647" },
  f64: { valid: (k) => typeof k === "number" && k === k, hash: hashF64, domain: "a number other than NaN" },
};
