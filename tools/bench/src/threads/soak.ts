// The threads soak (issue #14, "Tests": a longer seeded soak; not part of npm test):
// `npm run soak:threads` in tools/bench.
//   node dist/threads/soak.js [--ops 10000000] [--workers 3] [--seed N] [--quick]
// N workers (2-4) allocate and free through the shared scopes of one
// MemoryGlobals (soak-worker.ts): blocks of 8 B..1 MiB with a pattern checked
// before every free, 30% of frees handed to another worker, live sets that
// grow from a 4 MiB memory. The last worker is the victim: terminated mid-run
// and declared dead (memory.threadEnded) while the others keep going. Then:
// every block live in the tree must be exactly one the workers say they hold
// (the victim's from its ledger), the scopes' totals must equal their sums,
// every pattern must hold; then everything is freed, the totals must be 0,
// memory.check() must pass and shutdown must find no leak. Prints ops/s and "ok".
import { Worker } from "node:worker_threads";
import { MemoryGlobals } from "@memkit/memory-globals";
import { formatBytes, formatCount, type Allocator } from "@memkit/core";
import {
  INTENT_ALLOC,
  INTENT_NONE,
  LEDGER_BYTES,
  LEDGER_ENTRIES,
  LEDGER_HELD,
  LEDGER_INTENT,
  LEDGER_PROGRESS,
  RING_BYTES,
  RING_CLOSED,
  RING_DONE,
  RING_PUBLISHED,
  RING_TAKEN,
  SOAK_SCOPES,
  holdsPattern,
  ringEntry,
  type DoneReport,
  type HoldingReport,
  type SoakBlock,
} from "./soak-shared.js";
import type { SoakJob } from "./soak-worker.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} needs a non-negative integer`);
  return v;
}

const quick = process.argv.includes("--quick");
const totalOps = option("--ops", quick ? 200_000 : 10_000_000);
const workers = option("--workers", 3);
if (workers < 2 || workers > 4) throw new Error("--workers must be 2, 3 or 4");
const seed = option("--seed", 0x50a4);
const INITIAL_BYTES = 4 << 20;

const failures: string[] = [];
const fail = (what: string): void => {
  failures.push(what);
  console.log(`FAIL: ${what}`);
};

const memory = MemoryGlobals.init({ shared: true, initialBytes: INITIAL_BYTES, maximumBytes: 1 << 30 });
for (const path of SOAK_SCOPES) if (path !== "") memory.scope(path);
const scopes: Allocator[] = SOAK_SCOPES.map((path) => (path === "" ? memory.default : memory.openScope(path)));

// rings[i][j]: worker i gives, worker j takes. The victim is the last worker.
const rings = Array.from({ length: workers }, (_, i) => Array.from({ length: workers }, (_, j) => new SharedArrayBuffer(i === j ? 16 : RING_BYTES)));
const ledgerBuffer = new SharedArrayBuffer(LEDGER_BYTES);
const ledger = new Int32Array(ledgerBuffer);
const victimIndex = workers - 1;
const perWorker = Math.floor(totalOps / workers);
const killAt = Math.floor(0.4 * perWorker);
const survivorOps = Math.ceil((totalOps - killAt) / (workers - 1));
const names = Array.from({ length: workers }, (_, i) => (i === victimIndex ? "soak-victim" : `soak-${i}`));

console.log(
  `threads soak: ${workers} workers (${workers - 1} x ${formatCount(survivorOps)} ops, the victim terminated after ~${formatCount(killAt)}), ` +
    `seed ${seed}, 30% of frees on another worker, memory from ${formatBytes(INITIAL_BYTES)}`,
);
const t0 = performance.now();
const threads = names.map((name, i) => {
  const job: SoakJob = {
    share: memory.share(),
    name,
    seed: (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0,
    ops: i === victimIndex ? Number.MAX_SAFE_INTEGER : survivorOps,
    victim: i === victimIndex,
    index: i,
    rings,
    ledger: i === victimIndex ? ledgerBuffer : new SharedArrayBuffer(LEDGER_BYTES >> 8),
    liveFrom: 500,
    liveTo: quick ? 1500 : 6000,
  };
  return new Worker(new URL("./soak-worker.js", import.meta.url), { workerData: job });
});
const survivors = threads.filter((_, i) => i !== victimIndex);
const firstMessage = <T>(w: Worker): Promise<T> =>
  new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
const holdingPromise = Promise.all(survivors.map((w) => firstMessage<HoldingReport>(w)));

// Terminate the victim once it has done its share, whatever it is doing then.
const victim = threads[victimIndex]!;
victim.once("error", (err) => fail(`the victim failed before it was terminated: ${String(err)}`));
while (Atomics.load(ledger, LEDGER_PROGRESS) < killAt) await new Promise((r) => setTimeout(r, 2));
const intoVictim = rings.filter((_, i) => i !== victimIndex).map((row) => new Int32Array(row[victimIndex]!));
for (const ring of intoVictim) Atomics.store(ring, RING_CLOSED, 1); // give it nothing more
await victim.terminate();
const victimOps = Atomics.load(ledger, LEDGER_PROGRESS);
if (!memory.threadEnded("soak-victim")) fail("threadEnded('soak-victim') found no live thread of that name");
// The others stop waiting for its gifts.
rings[victimIndex]!.forEach((ring, j) => j !== victimIndex && Atomics.store(new Int32Array(ring), RING_DONE, 1));
console.log(`  victim terminated after ${formatCount(victimOps)} ops and declared dead; the others go on`);

const holding = await holdingPromise;
const t1 = performance.now();

// 1. Every block live in the tree is one a worker holds, or the victim's.
const expected = new Map<number, SoakBlock>();
const add = (b: SoakBlock, who: string): void => {
  if (expected.has(b.ptr)) fail(`block ${b.ptr} is held twice (${who})`);
  expected.set(b.ptr, b);
};
holding.forEach((h, k) => {
  for (let j = 0; j < h.held.length; j += 3) add({ ptr: h.held[j]!, size: h.held[j + 1]!, scope: h.held[j + 2]! }, names[k]!);
});
// The victim's: its ledger, and what the others gave it that it never took.
const victimBlocks = new Map<number, SoakBlock>();
const heldByVictim = Atomics.load(ledger, LEDGER_HELD);
for (let k = 0; k < heldByVictim; k++) {
  const at = LEDGER_ENTRIES + 3 * k;
  victimBlocks.set(ledger[at]!, { ptr: ledger[at]!, size: ledger[at + 1]!, scope: ledger[at + 2]! });
}
for (const inbox of intoVictim) {
  for (let n = Atomics.load(inbox, RING_TAKEN); n < Atomics.load(inbox, RING_PUBLISHED); n++) {
    const at = ringEntry(n);
    victimBlocks.set(inbox[at]!, { ptr: inbox[at]!, size: inbox[at + 1]!, scope: inbox[at + 2]! });
  }
}
const live = new Map<number, { size: number; path: string }>();
memory.default.forEachLiveBlock((ptr, size, path) => live.set(ptr, { size, path }));
// The operation the victim died in: its block is the victim's exactly when it is still live.
const intentKind = ledger[LEDGER_INTENT]!;
const intentPtr = ledger[LEDGER_INTENT + 1]!;
const intent = { size: ledger[LEDGER_INTENT + 2]!, scope: ledger[LEDGER_INTENT + 3]! };
if (intentKind !== INTENT_NONE && intentKind !== INTENT_ALLOC) {
  victimBlocks.delete(intentPtr);
  if (live.has(intentPtr)) victimBlocks.set(intentPtr, { ptr: intentPtr, ...intent });
}
for (const b of victimBlocks.values()) add(b, "the victim");
let unrecorded: SoakBlock | undefined; // allocated by the victim as it died, before its ledger had it
const pathOf = (scope: number): string => {
  const path = SOAK_SCOPES[scope]!;
  return path === "" ? "root" : `root/${path}`;
};
for (const [ptr, { size, path }] of live) {
  const b = expected.get(ptr);
  if (b === undefined) {
    if (intentKind === INTENT_ALLOC && unrecorded === undefined && size === intent.size && path === pathOf(intent.scope)) unrecorded = { ptr, ...intent };
    else fail(`block ${ptr} (${size} B in ${path}) is live but no worker holds it`);
  } else if (b.size !== size || pathOf(b.scope) !== path) {
    fail(`block ${ptr} is ${size} B in ${path}, its holder says ${b.size} B in ${pathOf(b.scope)}`);
  }
}
for (const b of expected.values()) if (!live.has(b.ptr)) fail(`block ${b.ptr} (${b.size} B) is held but not live in the tree`);
let victimBad = 0;
for (const b of victimBlocks.values()) if (!holdsPattern(memory.space.i32, memory.space.u8, b.ptr, b.size)) victimBad++;
if (victimBad > 0) fail(`${victimBad} of the victim's blocks lost their pattern`);

// 2. The scopes' totals are exactly the sums of what is held.
const want = SOAK_SCOPES.map(() => ({ bytes: 0, count: 0 }));
for (const b of [...expected.values(), ...(unrecorded ? [unrecorded] : [])]) {
  want[b.scope]!.bytes += b.size;
  want[b.scope]!.count++;
}
const totals = (): { bytes: number; count: number }[] => {
  const report = memory.report();
  return SOAK_SCOPES.map((path) => {
    const row = path === "" ? report : report.children.find((c) => c.name === path)!;
    return { bytes: row.liveBytes, count: row.liveCount };
  });
};
const got = totals();
SOAK_SCOPES.forEach((path, s) => {
  if (got[s]!.bytes !== want[s]!.bytes || got[s]!.count !== want[s]!.count) {
    fail(`scope ${pathOf(s)}: report says ${got[s]!.count} blocks, ${got[s]!.bytes} B; the holders say ${want[s]!.count}, ${want[s]!.bytes} B`);
  }
});
const grownTo = memory.space.byteLength;
if (grownTo <= INITIAL_BYTES) fail("the memory never grew");
if (failures.length === 0) {
  console.log(
    `  checked while held: ${formatCount(live.size)} live blocks (${formatCount(victimBlocks.size)} the victim's${unrecorded ? ", 1 it was allocating" : ""}) ` +
      `match the holders exactly; totals per scope exact; memory grew to ${formatBytes(grownTo)}`,
  );
}

// 3. Free everything: the survivors theirs, this thread the victim's.
const done = await Promise.all(
  survivors.map((w) => {
    const p = firstMessage<DoneReport>(w);
    w.postMessage("free");
    return p;
  }),
);
for (const b of [...victimBlocks.values(), ...(unrecorded ? [unrecorded] : [])]) scopes[b.scope]!.deallocate(b.ptr);
await Promise.all(threads.map((w) => w.terminate()));
const after = memory.report();
if (after.totalLiveBytes !== 0 || after.totalLiveCount !== 0) fail(`after every free the tree still holds ${after.totalLiveCount} blocks, ${after.totalLiveBytes} B`);
memory.check();
const states = memory.threads().map((t) => `${t.name}:${t.state}`);
const bad = holding.reduce((sum, h) => sum + h.badPatterns, 0) + done.reduce((sum, d) => sum + d.badPatterns, 0);
if (bad > 0) fail(`${bad} blocks lost their pattern in the workers`);
try {
  memory.shutdown();
} catch (err) {
  fail(`shutdown: ${String(err).split("\n")[0]}`);
}

const ops = holding.reduce((sum, h) => sum + h.ops, 0) + victimOps;
const given = holding.reduce((sum, h) => sum + h.given, 0);
const localFrees = holding.reduce((sum, h) => sum + h.localFrees, 0);
const seconds = (t1 - t0) / 1000;
console.log(`  threads: ${states.join(", ")}`);
console.log(
  `  ${formatCount(ops)} ops in ${seconds.toFixed(1)} s: ${formatCount(Math.round(ops / seconds))} ops/s; ` +
    `survivors' frees on another thread: ${formatCount(given)} of ${formatCount(given + localFrees)} (${((100 * given) / (given + localFrees)).toFixed(1)}%)`,
);
if (failures.length > 0) {
  console.log(`FAILED: ${failures.length} check(s)`);
  process.exitCode = 1;
} else {
  console.log("ok");
}
