/**
 * A small seeded generator (mulberry32): the same seed gives the same
 * sequence everywhere, so workloads, fill patterns and randomised tests
 * reproduce exactly. Not for cryptography.
 */
export class SeededRandom {
  // In a typed array, not a field: a state above 2^30 in a field is a heap
  // number, and updating it would allocate on every call.
  private readonly state = new Uint32Array(1);

  constructor(seed = 0x9e3779b9) {
    this.state[0] = seed >>> 0;
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    let t = (this.state[0] = (this.state[0]! + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** An integer in [min, max] whose logarithm is uniform: many small, some large. */
  logUniform(min: number, max: number): number {
    const lo = Math.log(min);
    const hi = Math.log(max + 1);
    return Math.min(max, Math.floor(Math.exp(lo + this.next() * (hi - lo))));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** The generator's state, to resume a sequence later. */
  get seed(): number {
    return this.state[0]!;
  }
}
