/** What {@link REMOTE_FREE_WORKER} receives as `workerData`. */
export interface RemoteFreeJob {
  memory: WebAssembly.Memory;
  /** Int32 word index of the owner's remote-free list head. */
  head: number;
  /** [ptr, size] pairs of live blocks this worker frees. */
  blocks: Int32Array;
  /** Shared int32 words: [workers done, blocks whose pattern was broken]. */
  flags: SharedArrayBuffer;
}

/**
 * A worker that frees blocks it did not allocate: it verifies each block's
 * pattern, then pushes the block onto its owner's remote-free list.
 */
export const REMOTE_FREE_WORKER = new URL("./remote-free-worker.ts", import.meta.url);
