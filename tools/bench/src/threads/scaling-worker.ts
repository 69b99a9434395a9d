// One worker of the threads bench (threads-bench.ts): attaches to the shared
// memory it is sent, makes its subject, and runs either its own workload
// ("scaling": the runner's warm-up, then timed runs that start together with
// the other workers' at a barrier, then the verification pass) or one side of
// the cross-thread free measurement ("cross-free", cross-free.ts).
import { parentPort, workerData } from "node:worker_threads";
import { MemoryGlobals, type MemoryShare } from "@memkit/memory-globals";
import { GcObserver } from "../gc-observer.js";
import { FULL_WARMUP, SubjectBench } from "../runner.js";
import type { SubjectFactory } from "../subjects/subject.js";
import { FULL_PARAMS, QUICK_PARAMS, generateWorkload } from "../workloads.js";
import { Barrier } from "./barrier.js";
import { crossFreeSide, type CrossFreeResult } from "./cross-free.js";
import { RIG_INITIAL_BYTES, RIG_MAXIMUM_BYTES, RIG_PAGE_SIZE, SpinLock, attachRig, type RigShare } from "./rig.js";
import { lockedFactory, ownHeapFactory, scopeFactory, type ThreadSubjectId } from "./thread-subjects.js";
import { GenericAllocator } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { AddressSpace, type Allocator } from "@memkit/core";

export interface ScalingJob {
  mode: "scaling" | "cross-free";
  subject: ThreadSubjectId;
  /** A rig's share (heaps, locked), MemoryGlobals' (scopes), or nothing (private). */
  share: RigShare | MemoryShare | undefined;
  /** This worker's index among `threads`. */
  index: number;
  threads: number;
  workload: "A" | "B";
  /** This worker's seed: each worker replays its own live set. */
  seed: number;
  quick: boolean;
  runs: number;
  /** Barrier word. */
  sync: SharedArrayBuffer;
  /** cross-free: blocks per round, rounds, and the pointers handed over. */
  blocks: number;
  reps: number;
  exchange: SharedArrayBuffer;
}

export interface ScalingResult {
  /** ns/op of each timed run. */
  runsNsPerOp: number[];
  /** Each timed run's [start, end) in ms since the epoch (performance.timeOrigin + now), to merge workers' wall times. */
  windows: [number, number][];
  ops: number;
  gcEvents: number;
  verifyErrors: number;
}

/** What this thread allocates through, and how it leaves. */
interface Attached {
  space: AddressSpace;
  factory: SubjectFactory;
  /** The allocator a free goes to (cross-free), and the generic allocator that collects remote frees. */
  allocator: Allocator;
  generic: GenericAllocator;
  end(): void;
}

function attach(job: ScalingJob): Attached {
  const name = `w${job.index}`;
  if (job.subject === "private") {
    const space = AddressSpace.create({ initialBytes: RIG_INITIAL_BYTES, maximumBytes: RIG_MAXIMUM_BYTES });
    const pages = new PageAllocator(space, { pageSize: RIG_PAGE_SIZE });
    const generic = new GenericAllocator(pages, {});
    const end = (): void => {
      generic.check();
      generic.destroy();
      pages.destroy();
    };
    return { space, factory: ownHeapFactory(space, generic), allocator: generic, generic, end };
  }
  if (job.subject === "scopes") {
    const memory = MemoryGlobals.attach(job.share as MemoryShare, { threadName: name });
    const space = memory.space;
    return { space, factory: scopeFactory(space, memory.default), allocator: memory.default, generic: memory.generic, end: () => memory.detach() };
  }
  const rig = attachRig(job.share as RigShare, name);
  const factory = job.subject === "locked" ? lockedFactory(rig.space, rig.generic, new SpinLock(rig.space, (job.share as RigShare).lockPtr)) : ownHeapFactory(rig.space, rig.generic);
  return { space: rig.space, factory, allocator: rig.generic, generic: rig.generic, end: () => rig.end() };
}

async function scaling(job: ScalingJob, attached: Attached, barrier: Barrier): Promise<ScalingResult> {
  const workload = generateWorkload(job.workload, job.seed, job.quick ? QUICK_PARAMS : FULL_PARAMS);
  const gc = new GcObserver();
  const bench = new SubjectBench(attached.factory, workload, undefined, gc);
  await bench.warmUp(job.quick ? { runs: 1, minOps: 0, maxMs: 0 } : FULL_WARMUP);
  const gate = (): void => barrier.wait();
  for (let r = 0; r < job.runs; r++) await bench.runOnce(true, gate);
  const origin = performance.timeOrigin;
  const windows = bench.timedWindows.map(([a, b]): [number, number] => [origin + a, origin + b]);
  // Everyone's timed runs are over before anyone's verification pass starts.
  barrier.wait();
  const run = await bench.finish();
  gc.disconnect();
  return { runsNsPerOp: run.runsNsPerOp, windows, ops: run.ops, gcEvents: run.gc.count, verifyErrors: run.verifyErrors };
}

const job = workerData as ScalingJob;
const barrier = new Barrier(job.sync, job.threads);
const attached = attach(job);
// Everyone is attached before anyone allocates.
barrier.wait();
let result: ScalingResult | CrossFreeResult;
if (job.mode === "scaling") result = await scaling(job, attached, barrier);
else result = await crossFreeSide(job, attached.space, attached.allocator, attached.generic, barrier);
attached.end();
parentPort!.postMessage(result);
