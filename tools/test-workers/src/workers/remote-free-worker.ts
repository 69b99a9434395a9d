// A thread that frees blocks it did not allocate: for each block it is given it
// verifies the pattern, then pushes the block onto the owner's remote-free list
// with core's pushRemoteFree. Run through startWorkers(REMOTE_FREE_WORKER, ...).
import { parentPort, workerData } from "node:worker_threads";
import { pushRemoteFree } from "@memkit/core";
import { holdsPattern } from "../pattern.js";
import type { RemoteFreeJob } from "./index.js";

const { memory, head, blocks, flags } = workerData as RemoteFreeJob;
const i32 = new Int32Array(memory.buffer);
const u8 = new Uint8Array(memory.buffer);
const status = new Int32Array(flags);
for (let k = 0; k < blocks.length; k += 2) {
  const ptr = blocks[k]!;
  if (!holdsPattern(u8, ptr, blocks[k + 1]!)) Atomics.add(status, 1, 1);
  pushRemoteFree(i32, head, ptr);
}
Atomics.add(status, 0, 1);
parentPort!.postMessage("done");
