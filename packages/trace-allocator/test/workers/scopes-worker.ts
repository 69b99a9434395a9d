// One worker of test/threads.test.ts: attaches to the shared memory with its own thread seat, its
// own generic allocator (routed: it frees its peers' blocks) and its own handle on the tree lock,
// opens the scopes the main thread created, and runs one of three jobs:
// - stress: a seeded mix of allocate, reallocate and free through the scopes, every block filled
//   with its pattern and verified before it is freed; about 30% of the frees hand the block to
//   another worker through a ring, which verifies and frees it;
// - budget: allocates fixed-size blocks in a budgeted scope until refused, reading the scope's
//   live bytes after each refusal, frees some, again;
// - double: with one other worker, frees the same block at the same moment, many rounds.
import { parentPort, workerData } from "node:worker_threads";
import { AddressSpace, DoubleFreeError, OutOfMemoryError, SeededRandom, SharedLock, ThreadTable } from "@memkit/core";
import { GenericAllocator } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
// The pattern module alone: the package's index also holds the bundler, which a worker cannot load.
import { fillPattern, holdsPattern } from "@memkit/test-workers/pattern";
import { TraceAllocator } from "@memkit/trace-allocator";
import {
  CTRL,
  C_BARRIER,
  C_BARRIER_GEN,
  C_DONE,
  C_LIVE,
  C_ROUTES,
  C_SHARED_PTR,
  C_STARTED,
  C_TREE,
  LOCK,
  LOCK_CAPACITY,
  MAX_BYTES,
  PAGES_CONTROL,
  RING,
  SCOPES,
  TABLE,
  W_ALLOCS,
  W_BAD,
  W_DOUBLE,
  W_FREED,
  W_FREES,
  W_GEN,
  W_OOM,
  W_OPS,
  W_OVER,
  W_SLOT,
  ringBase,
  workerWord,
  type ScopesJob,
} from "./layout.js";

const job = workerData as ScopesJob;
const space = AddressSpace.attach(job.memory, { maximumBytes: MAX_BYTES });
const ctrl = CTRL >>> 2;
const table = ThreadTable.attach(space, TABLE);
const seat = table.claim(`scopes-${job.worker}`);
const word = (field: number): number => workerWord(job.worker, field);
Atomics.store(space.u32, word(W_SLOT), seat.slot);
Atomics.store(space.u32, word(W_GEN), seat.generation);
const pages = PageAllocator.attach(space, PAGES_CONTROL, { thread: seat, name: `pages@${job.worker}` });
const generic = new GenericAllocator(pages, { name: `generic@${job.worker}`, routes: Atomics.load(space.u32, ctrl + C_ROUTES) });
const lock = new SharedLock(space, LOCK, LOCK_CAPACITY, { thread: seat, name: "tree" });
const root = TraceAllocator.attach(space, Atomics.load(space.u32, ctrl + C_TREE), { backing: generic, lock });
const scopes = SCOPES.map((path) => root.openScope(path));
const rnd = new SeededRandom(job.seed);
Atomics.add(space.u32, ctrl + C_STARTED, 1);

function add(field: number, n = 1): void {
  Atomics.add(space.u32, word(field), n);
}

function verified(ptr: number, size: number): boolean {
  if (holdsPattern(space.u8, ptr, size)) return true;
  add(W_BAD);
  return false;
}

interface Block {
  ptr: number;
  size: number;
  scope: number;
}

/** Pushes `b` onto the ring to worker `to`; false when it is full. */
function send(to: number, b: Block): boolean {
  const u32 = space.u32;
  const ring = ringBase(job.worker, to);
  const tail = Atomics.load(u32, ring + 1);
  if (tail - Atomics.load(u32, ring) >= RING) return false;
  const e = ring + 2 + (tail % RING) * 3;
  Atomics.store(u32, e, b.ptr);
  Atomics.store(u32, e + 1, b.size);
  Atomics.store(u32, e + 2, b.scope);
  Atomics.store(u32, ring + 1, tail + 1); // the commit
  return true;
}

/** Verifies and frees every block the other workers sent this one. */
function drain(): void {
  const u32 = space.u32;
  for (let from = 0; from < job.workers; from++) {
    if (from === job.worker) continue;
    const ring = ringBase(from, job.worker);
    for (let head = Atomics.load(u32, ring); head !== Atomics.load(u32, ring + 1); head++) {
      const e = ring + 2 + (head % RING) * 3;
      const ptr = Atomics.load(u32, e);
      const size = Atomics.load(u32, e + 1);
      if (verified(ptr, size)) scopes[Atomics.load(u32, e + 2)]!.deallocate(ptr);
      add(W_FREES);
      Atomics.store(u32, ring, head + 1);
    }
  }
}

function stress(): void {
  const held: Block[] = [];
  for (let op = 0; op < job.ops; op++) {
    add(W_OPS);
    if ((op & 15) === 0) drain();
    const roll = rnd.next();
    if (held.length === 0 || (held.length < 1500 && roll < 0.5)) {
      const scope = rnd.int(0, SCOPES.length - 1);
      const size = rnd.logUniform(1, 3000);
      const ptr = scopes[scope]!.allocate(size);
      fillPattern(space.u8, ptr, size);
      held.push({ ptr, size, scope });
      add(W_ALLOCS);
    } else if (roll < 0.55) {
      const b = held[rnd.int(0, held.length - 1)]!;
      if (!verified(b.ptr, b.size)) continue;
      const size = rnd.logUniform(1, 3000);
      const from = b.ptr;
      b.ptr = scopes[b.scope]!.reallocate(b.ptr, size);
      // The bytes moved with the block: the old address's pattern at the new one.
      const u8 = space.u8;
      for (let k = 0, n = Math.min(size, b.size); k < n; k++) {
        if (u8[b.ptr + k] !== ((from >>> 3) + k) % 251) {
          add(W_BAD);
          break;
        }
      }
      b.size = size;
      fillPattern(space.u8, b.ptr, size);
      add(W_ALLOCS);
      add(W_FREES);
    } else {
      const k = rnd.int(0, held.length - 1);
      const b = held[k]!;
      held[k] = held[held.length - 1]!;
      held.pop();
      const to = (job.worker + rnd.int(1, job.workers - 1)) % job.workers;
      if (job.workers > 1 && rnd.chance(0.3) && send(to, b)) continue;
      if (verified(b.ptr, b.size)) scopes[b.scope]!.deallocate(b.ptr);
      add(W_FREES);
    }
  }
  // Blocks still on their way: every sender done, then one last drain.
  Atomics.add(space.u32, ctrl + C_DONE, 1);
  while (Atomics.load(space.u32, ctrl + C_DONE) < job.workers) drain();
  drain();
  for (const b of held) {
    if (!verified(b.ptr, b.size)) continue;
    Atomics.add(space.u32, ctrl + C_LIVE + b.scope * 2, b.size);
    Atomics.add(space.u32, ctrl + C_LIVE + b.scope * 2 + 1, 1);
  }
}

function budget(): void {
  const scope = scopes[2]!;
  const size = job.size!;
  const held: number[] = [];
  const budgetBytes = scope.budgetBytes!;
  for (let op = 0; op < job.ops; op++) {
    try {
      held.push(scope.allocate(size));
      add(W_ALLOCS);
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
      add(W_OOM);
      if (scope.report().totalLiveBytes > budgetBytes) add(W_OVER);
      for (let k = rnd.int(1, 4); k > 0 && held.length > 0; k--) scope.deallocate(held.pop()!);
    }
    if (scope.report().totalLiveBytes > budgetBytes) add(W_OVER);
    add(W_OPS);
  }
  for (const p of held) scope.deallocate(p);
}

/** Waits until every worker of this job arrived (a generation barrier). */
function barrier(): void {
  const i32 = space.i32;
  const gen = Atomics.load(i32, ctrl + C_BARRIER_GEN);
  if (Atomics.add(i32, ctrl + C_BARRIER, 1) === job.workers - 1) {
    Atomics.store(i32, ctrl + C_BARRIER, 0);
    Atomics.add(i32, ctrl + C_BARRIER_GEN, 1);
    Atomics.notify(i32, ctrl + C_BARRIER_GEN);
  } else {
    while (Atomics.load(i32, ctrl + C_BARRIER_GEN) === gen) Atomics.wait(i32, ctrl + C_BARRIER_GEN, gen, 50);
  }
}

function double(): void {
  const scope = scopes[0]!;
  for (let round = 0; round < job.ops; round++) {
    if (job.worker === 0) Atomics.store(space.u32, ctrl + C_SHARED_PTR, scope.allocate(rnd.logUniform(1, 500)));
    barrier();
    const ptr = Atomics.load(space.u32, ctrl + C_SHARED_PTR);
    try {
      scope.deallocate(ptr);
      add(W_FREED);
    } catch (err) {
      if (err instanceof DoubleFreeError) add(W_DOUBLE);
      else add(W_BAD);
    }
    barrier();
  }
}

if (job.mode === "stress") stress();
else if (job.mode === "budget") budget();
else double();
generic.collectRemoteFrees();
parentPort!.postMessage("done");
