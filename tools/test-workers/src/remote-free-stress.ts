import type { AddressSpace, Allocator } from "@memkit/core";
import { SeededRandom } from "@memkit/core";
import { fillPattern, holdsPattern } from "./pattern.js";
import { startWorkers } from "./run-workers.js";
import { REMOTE_FREE_WORKER } from "./workers/index.js";

/** What {@link remoteFreeStress} runs against: an allocator with a remote-free list, owned by this thread. */
export interface RemoteFreeSubject {
  space: AddressSpace;
  allocator: Pick<Allocator, "allocate" | "deallocate">;
  /** Int32 word of the allocator's remote-free list head. */
  head: number;
  /** The size of each block, drawn from the seeded stream. */
  size: (rnd: SeededRandom) => number;
}

/** What a run left: the owner's own blocks still live, and how many blocks the workers found broken. */
export interface RemoteFreeStressResult {
  own: { ptr: number; size: number }[];
  brokenPatterns: number;
  /** Blocks whose pattern the owner found broken before freeing them. */
  ownBroken: number;
}

/**
 * Two worker threads free `perWorker` blocks each, which the owner (this
 * thread) allocated and filled, by pushing them onto its remote-free list,
 * while the owner allocates and frees `ownerOps`+ blocks of its own (checking
 * each pattern before the free), so its allocator collects the pushed blocks
 * as it needs memory. The caller checks the allocator afterwards.
 */
export async function remoteFreeStress(subject: RemoteFreeSubject, seed: number, perWorker: number, ownerOps: number): Promise<RemoteFreeStressResult> {
  const { space, allocator, head } = subject;
  const rnd = new SeededRandom(seed);
  const remote = [0, 1].map(() => {
    const list = new Int32Array(new SharedArrayBuffer(perWorker * 8));
    for (let k = 0; k < perWorker; k++) {
      const size = subject.size(rnd);
      const ptr = allocator.allocate(size);
      fillPattern(space.u8, ptr, size);
      list[2 * k] = ptr;
      list[2 * k + 1] = size;
    }
    return list;
  });
  const flags = new SharedArrayBuffer(8);
  const status = new Int32Array(flags);
  const run = await startWorkers(
    REMOTE_FREE_WORKER,
    remote.map((blocks) => ({ memory: space.memory, head, blocks, flags })),
  );
  const own: { ptr: number; size: number }[] = [];
  let ownBroken = 0;
  for (let ops = 0; Atomics.load(status, 0) < 2 || ops < ownerOps; ops++) {
    if (own.length < 3000 || rnd.chance(0.5)) {
      const size = subject.size(rnd);
      const ptr = allocator.allocate(size);
      fillPattern(space.u8, ptr, size);
      own.push({ ptr, size });
    } else {
      const k = rnd.int(0, own.length - 1);
      const b = own[k]!;
      own[k] = own[own.length - 1]!;
      own.pop();
      if (!holdsPattern(space.u8, b.ptr, b.size)) ownBroken++;
      allocator.deallocate(b.ptr);
    }
  }
  await run.exited;
  return { own, brokenPatterns: status[1]!, ownBroken };
}
