/**
 * A 32-bit hash of `u32[from .. to)`: murmur3's word mixing and finaliser,
 * written for whole words. Seals control blocks (a damaged field changes it)
 * and checks saved memory images. Not cryptographic: it catches damage, not
 * an adversary who rewrites the seal too.
 */
export function hashWords(u32: Uint32Array, from: number, to: number, seed = 0): number {
  let h = seed | 0;
  for (let i = from; i < to; i++) {
    let k = Math.imul(u32[i]!, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= (to - from) << 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
