/*
 * What a free costs when the block belongs to another thread (docs/threads.md,
 * "Per-thread heaps and remote frees"). Two workers, uncontended phases
 * separated by a barrier, `reps` rounds of `blocks` blocks (the workload's
 * sizes):
 *
 *   owner:  allocate blocks, free them itself in shuffled order    -> local ns/free
 *   owner:  allocate blocks, hand the pointers over                  |
 *   other:  free them in the same order (each one is pushed onto     -> remote ns/free
 *           its owner's remote-free list)                            |
 *   owner:  collectRemoteFrees(): the blocks really go back          -> collect ns/block
 *
 * Medians over the rounds. GC events inside the timed phases are counted.
 */
import { SeededRandom, type AddressSpace, type Allocator } from "@memkit/core";
import type { GenericAllocator } from "@memkit/generic-allocator";
import { GcObserver } from "../gc-observer.js";
import { median } from "../runner.js";
import type { Barrier } from "./barrier.js";

export interface CrossFreeResult {
  /** Owner: ns per local free; other: 0. */
  localNs: number;
  /** Other: ns per free of an owner's block; owner: 0. */
  remoteNs: number;
  /** Owner: ns per block collected by collectRemoteFrees(); other: 0. */
  collectNs: number;
  /** Owner: rounds where collectRemoteFrees() did not return every block handed over (must be 0). */
  shortCollects: number;
  gcEvents: number;
}

export interface CrossFreeJob {
  index: number;
  workload: "A" | "B";
  seed: number;
  blocks: number;
  reps: number;
  exchange: SharedArrayBuffer;
}

/** Sizes of the workload's steady state: A 32 B, B uniform 8..256 B. */
function blockSizes(job: CrossFreeJob): Int32Array {
  const rng = new SeededRandom(job.seed);
  const sizes = new Int32Array(job.blocks);
  for (let i = 0; i < job.blocks; i++) sizes[i] = job.workload === "A" ? 32 : rng.int(8, 256);
  return sizes;
}

function shuffledOrder(n: number, seed: number): Int32Array {
  const rng = new SeededRandom(seed);
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** Allocates every block into `ptrs` and touches its first and last byte. */
function fill(allocator: Allocator, u8: Uint8Array, sizes: Int32Array, ptrs: Int32Array): void {
  for (let i = 0; i < sizes.length; i++) {
    const n = sizes[i]!;
    const p = allocator.allocate(n);
    u8[p] = i;
    u8[p + n - 1] = i;
    ptrs[i] = p;
  }
}

/** Frees `ptrs` in `order`; returns the elapsed ms. */
function freeAll(allocator: Allocator, ptrs: Int32Array, order: Int32Array): number {
  const t0 = performance.now();
  for (let k = 0; k < order.length; k++) allocator.deallocate(ptrs[order[k]!]!);
  return performance.now() - t0;
}

/** Runs this worker's side (index 0: the owner, 1: the other thread). */
export async function crossFreeSide(job: CrossFreeJob, space: AddressSpace, allocator: Allocator, generic: GenericAllocator, barrier: Barrier): Promise<CrossFreeResult> {
  const owner = job.index === 0;
  const n = job.blocks;
  const sizes = blockSizes(job);
  const order = shuffledOrder(n, job.seed ^ 0x5bd1e995);
  const mine = new Int32Array(n);
  const shared = new Int32Array(job.exchange, 0, n);
  const u8 = space.u8;
  const gc = new GcObserver();
  const windows: [number, number][] = [];
  const local: number[] = [];
  const remote: number[] = [];
  const collect: number[] = [];
  let shortCollects = 0;
  // Round 0 warms the paths up and is not kept.
  for (let rep = 0; rep <= job.reps; rep++) {
    const keep = rep > 0;
    if (owner) {
      fill(allocator, u8, sizes, mine);
      const t0 = performance.now();
      const ms = freeAll(allocator, mine, order);
      if (keep) {
        local.push((ms * 1e6) / n);
        windows.push([t0, t0 + ms]);
      }
      fill(allocator, u8, sizes, shared);
    }
    barrier.wait();
    if (!owner) {
      const t0 = performance.now();
      const ms = freeAll(allocator, shared, order);
      if (keep) {
        remote.push((ms * 1e6) / n);
        windows.push([t0, t0 + ms]);
      }
    }
    barrier.wait();
    if (owner) {
      const t0 = performance.now();
      const got = generic.collectRemoteFrees();
      const t1 = performance.now();
      if (got !== n) shortCollects++;
      if (keep) {
        collect.push(((t1 - t0) * 1e6) / n);
        windows.push([t0, t1]);
      }
    }
    barrier.wait();
  }
  await gc.flush();
  const gcEvents = gc.countIn(windows).count;
  gc.disconnect();
  return { localNs: owner ? median(local) : 0, remoteNs: owner ? 0 : median(remote), collectNs: owner ? median(collect) : 0, shortCollects, gcEvents };
}
