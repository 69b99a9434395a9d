/**
 * The two bench modes. V8 checks typed-array accesses for a detached buffer
 * only once some ArrayBuffer in the process has been detached (a protector
 * cell is invalidated, process-wide and for good). Apps reach that state as
 * soon as a wasm memory grows or a buffer is transferred, so the bench
 * measures both: "attached" (nothing ever detached) and "detached" (one
 * throwaway buffer detached before anything is loaded). Each mode runs in its
 * own process, since the switch cannot be undone.
 */
export type BenchMode = "attached" | "detached";

export const BENCH_MODES: readonly BenchMode[] = ["attached", "detached"];

/**
 * Puts this process in `mode`: for "detached", detaches a throwaway buffer by
 * transferring it (Node 20 has no ArrayBuffer.prototype.transfer). Returns
 * whether a buffer is now detached (true only for "detached").
 */
export function enterMode(mode: BenchMode): boolean {
  if (mode === "attached") return false;
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
  return buffer.byteLength === 0;
}
