/**
 * What a call did, as one comparable string: what it returned, or the name of
 * the error it threw. Equivalence tests run the same call on two allocators
 * (a wasm path and a JS path) and expect the same outcome.
 */
export function outcome(call: () => number | void): string {
  try {
    return String(call());
  } catch (err) {
    return (err as Error).name;
  }
}
