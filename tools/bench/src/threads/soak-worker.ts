// One worker of the threads soak (soak.ts): attaches to the shared memory,
// then runs its seeded ops through the shared scopes: allocate (pattern
// written) or free a random held block (pattern checked), 30% of frees handed
// to a random other live worker through a ring and freed there. Its live set grows
// through the run. The victim keeps a ledger of what it holds (soak-shared.ts)
// and runs until the main thread terminates it.
import { parentPort, workerData } from "node:worker_threads";
import { SeededRandom, type Allocator } from "@memkit/core";
import { MemoryGlobals, type MemoryShare } from "@memkit/memory-globals";
import {
  INTENT_ALLOC,
  INTENT_FREE,
  INTENT_GIVE,
  INTENT_NONE,
  INTENT_TAKE,
  LEDGER_ENTRIES,
  LEDGER_HELD,
  LEDGER_INTENT,
  LEDGER_PROGRESS,
  RING_CAPACITY,
  RING_CLOSED,
  RING_DONE,
  RING_PUBLISHED,
  RING_TAKEN,
  SOAK_SCOPES,
  fillPattern,
  holdsPattern,
  ringEntry,
  type DoneReport,
  type HoldingReport,
} from "./soak-shared.js";

export interface SoakJob {
  share: MemoryShare;
  name: string;
  seed: number;
  /** Ops to run (the victim: until terminated). */
  ops: number;
  victim: boolean;
  /** This worker's index: rings[i][j] carries blocks from worker i to worker j (rings[i][i] is unused). */
  index: number;
  rings: SharedArrayBuffer[][];
  /** The victim's ledger (others: unused). */
  ledger: SharedArrayBuffer;
  /** Held blocks grow from `liveFrom` to `liveTo` over the run. */
  liveFrom: number;
  liveTo: number;
}

const job = workerData as SoakJob;
const memory = MemoryGlobals.attach(job.share, { threadName: job.name });
const scopes: Allocator[] = SOAK_SCOPES.map((path) => (path === "" ? memory.default : memory.openScope(path)));
const space = memory.space;
const others = job.rings.map((_, j) => j).filter((j) => j !== job.index);
const outboxes = others.map((j) => new Int32Array(job.rings[job.index]![j]!));
const inboxes = others.map((j) => new Int32Array(job.rings[j]![job.index]!));
const taken = new Int32Array(others.length);
const ledger = new Int32Array(job.ledger);
const victim = job.victim;
const rnd = new SeededRandom(job.seed);

// Held blocks as three parallel arrays (no object per block).
const cap = 1 << 17;
const heldPtr = new Int32Array(cap);
const heldSize = new Int32Array(cap);
const heldScope = new Int32Array(cap);
let held = 0;
const stats = { allocs: 0, localFrees: 0, given: 0, taken: 0, badPatterns: 0 };

function intent(kind: number, ptr: number, size: number, scope: number): void {
  ledger[LEDGER_INTENT] = kind;
  ledger[LEDGER_INTENT + 1] = ptr;
  ledger[LEDGER_INTENT + 2] = size;
  Atomics.store(ledger, LEDGER_INTENT + 3, scope);
}

function clearIntent(): void {
  Atomics.store(ledger, LEDGER_INTENT, INTENT_NONE);
}

/** The victim mirrors its held list into the ledger (same index, same swap-remove). */
function ledgerSet(k: number, ptr: number, size: number, scope: number): void {
  const at = LEDGER_ENTRIES + 3 * k;
  ledger[at] = ptr;
  ledger[at + 1] = size;
  ledger[at + 2] = scope;
}

function check(ptr: number, size: number): void {
  if (!holdsPattern(space.i32, space.u8, ptr, size)) stats.badPatterns++;
}

/** A block size: mostly small (slot tier), some medium (heap), a few large (page spans). */
function nextSize(): number {
  const r = rnd.next();
  if (r < 0.9) return rnd.logUniform(8, 2048);
  if (r < 0.998) return rnd.logUniform(2048, 65536);
  return rnd.logUniform(65536, 1 << 20);
}

function allocate(): void {
  const size = nextSize();
  const scope = rnd.int(0, SOAK_SCOPES.length - 1);
  if (victim) intent(INTENT_ALLOC, 0, size, scope);
  const ptr = scopes[scope]!.allocate(size);
  if ((ptr & 7) !== 0) throw new Error(`${job.name}: a block at ${ptr} is not 8-aligned`);
  fillPattern(space.i32, space.u8, ptr, size);
  heldPtr[held] = ptr;
  heldSize[held] = size;
  heldScope[held] = scope;
  if (victim) {
    ledgerSet(held, ptr, size, scope);
    Atomics.store(ledger, LEDGER_HELD, held + 1);
    clearIntent();
  }
  held++;
  stats.allocs++;
}

/** Removes held block `k` (swap with the last), in the ledger too. */
function dropHeld(k: number): void {
  const last = --held;
  heldPtr[k] = heldPtr[last]!;
  heldSize[k] = heldSize[last]!;
  heldScope[k] = heldScope[last]!;
  if (victim) {
    ledgerSet(k, heldPtr[k], heldSize[k], heldScope[k]);
    Atomics.store(ledger, LEDGER_HELD, last);
    clearIntent();
  }
}

/** Gives a block to a random other worker that is alive and whose ring has room (the next one if not); false when none is. */
function give(ptr: number, size: number, scope: number): boolean {
  const first = rnd.int(0, outboxes.length - 1);
  for (let k = 0; k < outboxes.length; k++) {
    const out = outboxes[(first + k) % outboxes.length]!;
    if (Atomics.load(out, RING_CLOSED) !== 0) continue;
    const n = Atomics.load(out, RING_PUBLISHED);
    if (n - Atomics.load(out, RING_TAKEN) >= RING_CAPACITY) continue;
    publish(out, n, ptr, size, scope);
    return true;
  }
  return false;
}

function publish(out: Int32Array, n: number, ptr: number, size: number, scope: number): void {
  if (victim) intent(INTENT_GIVE, ptr, size, scope);
  const at = ringEntry(n);
  out[at] = ptr;
  out[at + 1] = size;
  out[at + 2] = scope;
  Atomics.store(out, RING_PUBLISHED, n + 1);
}

function freeOne(): void {
  const k = rnd.int(0, held - 1);
  const ptr = heldPtr[k]!;
  const size = heldSize[k]!;
  const scope = heldScope[k]!;
  check(ptr, size);
  if (rnd.chance(0.3) && give(ptr, size, scope)) {
    stats.given++;
  } else {
    if (victim) intent(INTENT_FREE, ptr, size, scope);
    scopes[scope]!.deallocate(ptr);
    stats.localFrees++;
  }
  dropHeld(k);
}

/** Frees what the other workers handed over: cross-thread frees. */
function drain(): void {
  for (let r = 0; r < inboxes.length; r++) drainOne(inboxes[r]!, r);
}

function drainOne(inbox: Int32Array, r: number): void {
  const published = Atomics.load(inbox, RING_PUBLISHED);
  for (let n = taken[r]!; n < published; n++) {
    const at = ringEntry(n);
    const ptr = inbox[at]!;
    const size = inbox[at + 1]!;
    const scope = inbox[at + 2]!;
    check(ptr, size);
    if (victim) intent(INTENT_TAKE, ptr, size, scope);
    scopes[scope]!.deallocate(ptr);
    taken[r] = n + 1;
    Atomics.store(inbox, RING_TAKEN, n + 1);
    if (victim) clearIntent();
    stats.taken++;
  }
}

const span = job.liveTo - job.liveFrom;
let i = 0;
for (; i < job.ops; i++) {
  drain();
  const target = job.liveFrom + (span * i) / job.ops;
  if (held === 0 || (held < cap && rnd.chance(held < target ? 0.6 : 0.4))) allocate();
  else freeOne();
  if (victim) Atomics.store(ledger, LEDGER_PROGRESS, i + 1);
}
// Done giving; take what the others still give until they are done too.
for (const out of outboxes) Atomics.store(out, RING_DONE, 1);
for (const inbox of inboxes) {
  while (Atomics.load(inbox, RING_DONE) === 0) {
    drain();
    Atomics.wait(inbox, RING_DONE, 0, 1);
  }
}
drain();
const heldList: number[] = [];
for (let k = 0; k < held; k++) heldList.push(heldPtr[k]!, heldSize[k]!, heldScope[k]!);
const holding: HoldingReport = { kind: "holding", held: heldList, ops: i, ...stats };
parentPort!.postMessage(holding);
// The main thread checks the totals against every worker's held blocks, then says "free".
parentPort!.once("message", () => {
  for (let k = 0; k < held; k++) {
    check(heldPtr[k]!, heldSize[k]!);
    scopes[heldScope[k]!]!.deallocate(heldPtr[k]!);
  }
  held = 0;
  memory.check();
  memory.detach();
  const done: DoneReport = { kind: "done", badPatterns: stats.badPatterns };
  parentPort!.postMessage(done);
});
