/*
 * Print-only measurement (not a test): ns per allocate+deallocate pair of a
 * TraceAllocator at each tracing level against its bare backing allocator.
 *
 *   node bench/run.mjs bench/overhead.ts          (or: npm run bench)
 *
 * Steady state: 1,024 live blocks; each step frees one (a scattered slot) and
 * allocates a new size in its place. Sizes are generated up front. Each
 * subject runs several timed rounds after a warm-up, once in a process where
 * no ArrayBuffer was ever detached and once in one where a buffer was (as in
 * any app whose memory grew or that transferred a buffer: V8 then checks
 * every typed-array access for a detached buffer).
 */
import { execFileSync } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { AddressSpace, SeededRandom, SharedLock, ThreadTable, type Allocator } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "../src/index.js";

const LIVE = 1024;
const STEPS = 400_000;
const ROUNDS = 7;

// Garbage collections seen while a timed loop runs: "counts" must create no JS objects.
let gcEvents = 0;
new PerformanceObserver((list) => {
  gcEvents += list.getEntries().length;
}).observe({ entryTypes: ["gc"] });

const rng = new SeededRandom(0xbe4c);
const sizes = new Int32Array(STEPS + LIVE);
for (let i = 0; i < sizes.length; i++) sizes[i] = rng.logUniform(16, 512);
const slots = new Int32Array(STEPS);
for (let i = 0; i < STEPS; i++) slots[i] = rng.int(0, LIVE - 1);

function run(a: Allocator, steps: number, align: number): number {
  const live = new Int32Array(LIVE);
  for (let i = 0; i < LIVE; i++) live[i] = a.allocate(sizes[STEPS + i]!, align);
  const t = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const s = slots[i]!;
    a.deallocate(live[s]!);
    live[s] = a.allocate(sizes[i]!, align);
  }
  const used = process.cpuUsage(t);
  const ns = ((used.user + used.system) * 1e3) / steps;
  for (let i = 0; i < LIVE; i++) a.deallocate(live[i]!);
  return ns;
}

function best(xs: number[]): number {
  return Math.min(...xs);
}

type Backing = () => Allocator;

async function backings(): Promise<[string, Backing][]> {
  const space = (): AddressSpace => AddressSpace.create({ initialBytes: 64 << 20, maximumBytes: 256 << 20 });
  const list: [string, Backing][] = [["PageAllocator (4 KiB pages)", () => new PageAllocator(space(), { pageSize: 4096 })]];
  try {
    const { HeapAllocator } = (await import("@memkit/heap-allocator")) as { HeapAllocator: new (pages: PageAllocator) => Allocator };
    list.unshift(["HeapAllocator", () => new HeapAllocator(new PageAllocator(space()))]);
  } catch (err) {
    console.log(`(HeapAllocator not available: ${(err as Error).message.split("\n")[0]})`);
  }
  try {
    // memory.default's backing: the generic allocator over 16 KiB pages.
    const { GenericAllocator } = (await import("@memkit/generic-allocator")) as { GenericAllocator: new (pages: PageAllocator) => Allocator };
    list.push(["GenericAllocator (16 KiB pages, as memory.default)", () => new GenericAllocator(new PageAllocator(space(), { pageSize: 16384 }))]);
  } catch (err) {
    console.log(`(GenericAllocator not available: ${(err as Error).message.split("\n")[0]})`);
  }
  return list;
}

type Subject = [name: string, build: () => Allocator, steps: number, align?: number];

function subjectsOver(make: Backing): Subject[] {
  return [
    ["bare", make, STEPS],
    ['trace "off"', () => new TraceAllocator(make(), { tracing: "off" }), STEPS],
    ['trace "counts" (root)', () => new TraceAllocator(make()), STEPS],
    ['trace "counts" (depth 3: root/a/b/c)', () => new TraceAllocator(make()).child("a").child("b").child("c"), STEPS],
    ['trace "counts" (root), align 16 (C malloc)', () => new TraceAllocator(make()), STEPS, 16],
    ['trace "counts" (root), shared: tree lock, uncontended', () => sharedTree(make()), STEPS],
    ['trace "counts" (root), shared: a thread\'s lane (seated lock)', () => sharedTree(make(), true), STEPS],
    ['trace "callstacks", sampleEvery 16', () => new TraceAllocator(make(), { tracing: "callstacks", sampleEvery: 16 }), STEPS / 8],
    ['trace "callstacks", sampleEvery 64', () => new TraceAllocator(make(), { tracing: "callstacks", sampleEvery: 64 }), STEPS / 4],
    ['trace "callstacks", every allocation', () => new TraceAllocator(make(), { tracing: "callstacks" }), STEPS / 40],
  ];
}

/**
 * A tree shared by threads, used by one thread. Without a seat on the lock,
 * every call takes the lock: the lock's cost alone. With one (`seated`), the
 * thread's common calls go to its lane (lanes.ts) and take no lock.
 */
function sharedTree(backing: Allocator, seated = false): Allocator {
  const ptr = backing.allocate(SharedLock.bytes(8), 8);
  backing.space.u8.fill(0, ptr, ptr + SharedLock.bytes(8));
  if (!seated) return new TraceAllocator(backing, { lock: new SharedLock(backing.space, ptr, 8) });
  const at = backing.allocate(ThreadTable.bytes, 8);
  backing.space.u8.fill(0, at, at + ThreadTable.bytes);
  const seat = ThreadTable.create(backing.space, at).claim("bench");
  return new TraceAllocator(backing, { lock: new SharedLock(backing.space, ptr, 8, { thread: seat }) });
}

/** Child mode: time one subject and print `{ ns, gcs }` as JSON. */
async function measure([, build, steps, align = 8]: Subject): Promise<void> {
  const a = build();
  run(a, steps, align); // warm-up
  // Start the timed rounds with an empty young generation, so a GC counted is one the rounds caused.
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 10)); // let pending GC entries arrive
  gcEvents = 0;
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) times.push(run(a, steps, align));
  await new Promise((resolve) => setTimeout(resolve, 10));
  console.log(JSON.stringify({ ns: best(times), gcs: gcEvents }));
}

/*
 * Every subject runs in a process of its own. V8 keeps one set of type
 * feedback per function, shared by every instance of a class: in one process
 * a level's run would leave the methods compiled for the levels before it,
 * and the timed loop's calls polymorphic. An engine's scopes run at one
 * level, so each subject gets a fresh process, as it would in the engine.
 */
const backingList = await backings();
const child = process.argv.indexOf("--subject");
if (child >= 0) {
  if (process.argv.includes("--detached")) {
    const buffer = new ArrayBuffer(8);
    structuredClone(buffer, { transfer: [buffer] });
    if (buffer.byteLength !== 0) throw new Error("--detached: transferring a buffer did not detach it");
  }
  const [b, s] = process.argv[child + 1]!.split(":").map(Number);
  await measure(subjectsOver(backingList[b!]![1])[s!]!);
} else {
  // BENCH_ONLY=counts (a substring of the subject names) runs bare and the matching subjects only, e.g. to profile them.
  const only = process.env.BENCH_ONLY;
  const script = fileURLToPath(import.meta.url);
  for (const [b, [label, make]] of backingList.entries()) {
    console.log(`\n${label}: ns per deallocate+allocate pair (CPU time, best of ${ROUNDS}, one process per subject and mode), ${LIVE} live blocks of 16..512 B`);
    const width = Math.max(...subjectsOver(make).map(([name]) => name.length));
    console.log(`  ${"".padEnd(width)}  ${"attached".padStart(22)}  ${"detached".padStart(22)}`);
    const bare = [0, 0];
    for (const [s, [name, , steps]] of subjectsOver(make).entries()) {
      if (only !== undefined && name !== "bare" && !name.includes(only)) continue;
      let line = `  ${name.padEnd(width)}`;
      let gcs = 0;
      for (const [m, mode] of ["", "--detached"].entries()) {
        const out = execFileSync(process.execPath, ["--expose-gc", script, "--subject", `${b}:${s}`, ...(mode ? [mode] : [])], { encoding: "utf8" });
        const run = JSON.parse(out.trim().split("\n").pop()!) as { ns: number; gcs: number };
        if (name === "bare") bare[m] = run.ns;
        gcs += run.gcs;
        line += `  ${run.ns.toFixed(0).padStart(7)} ns ${(run.ns / bare[m]!).toFixed(2).padStart(6)}x bare`;
      }
      console.log(`${line}   ${gcs} GC${gcs === 1 ? "" : "s"} in 2 x ${ROUNDS} x ${steps.toLocaleString("en")} pairs`);
    }
  }
}
