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
