/** Arguments a program can pass by mistake: each must get a typed error (or `false` from owns), never a TypeError. */
export const HOSTILE_ARGUMENTS: readonly unknown[] = Object.freeze([16n, Symbol("p"), "16", null, {}, 1.5, -8, Number.NaN, 2 ** 33]);

/** What `run` threw, or undefined when it returned. */
export function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}
