/*
 * Print-only measurement (not a test): ns per allocate+deallocate pair of a
 * TraceAllocator at each tracing level against its bare backing allocator.
 *
 *   node bench/run.mjs bench/overhead.ts          (or: npm run bench)
 *
 * Steady state: 1,024 live blocks; each step frees one (a scattered slot) and
 * allocates a new size in its place. Sizes are generated up front. Each
 * subject runs several timed rounds after a warm-up.
 */
import { PerformanceObserver } from "node:perf_hooks";
import process from "node:process";
import { AddressSpace, SeededRandom, type Allocator } from "@memkit/core";
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

function run(a: Allocator, steps: number): number {
  const live = new Int32Array(LIVE);
  for (let i = 0; i < LIVE; i++) live[i] = a.allocate(sizes[STEPS + i]!);
  const t = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    const s = slots[i]!;
    a.deallocate(live[s]!);
    live[s] = a.allocate(sizes[i]!);
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
  return list;
}

for (const [label, make] of await backings()) {
  const subjects: [string, () => Allocator, number][] = [
    ["bare", make, STEPS],
    ['trace "off"', () => new TraceAllocator(make(), { tracing: "off" }), STEPS],
    ['trace "counts" (root)', () => new TraceAllocator(make()), STEPS],
    ['trace "counts" (depth 3: root/a/b/c)', () => new TraceAllocator(make()).child("a").child("b").child("c"), STEPS],
    ['trace "callstacks", sampleEvery 16', () => new TraceAllocator(make(), { tracing: "callstacks", sampleEvery: 16 }), STEPS / 8],
    ['trace "callstacks", sampleEvery 64', () => new TraceAllocator(make(), { tracing: "callstacks", sampleEvery: 64 }), STEPS / 4],
    ['trace "callstacks", every allocation', () => new TraceAllocator(make(), { tracing: "callstacks" }), STEPS / 40],
  ];
  console.log(`\n${label}: ns per deallocate+allocate pair (CPU time, best of ${ROUNDS}), ${LIVE} live blocks of 16..512 B`);
  let bare = 0;
  for (const [name, build, steps] of subjects) {
    const a = build();
    run(a, steps); // warm-up
    await new Promise((resolve) => setTimeout(resolve, 10)); // let pending GC entries arrive
    gcEvents = 0;
    const times: number[] = [];
    for (let r = 0; r < ROUNDS; r++) times.push(run(a, steps));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const ns = best(times);
    if (name === "bare") bare = ns;
    const gcs = `${gcEvents} GC${gcEvents === 1 ? "" : "s"} in ${ROUNDS} x ${steps.toLocaleString("en")} pairs`;
    // One allocation per pair: allocations per second through this subject.
    const rate = `${(1e3 / ns).toFixed(2)} M allocs/s`;
    console.log(`  ${name.padEnd(40)} ${ns.toFixed(0).padStart(7)} ns   ${(ns / bare).toFixed(2)}x bare   ${rate.padStart(16)}   ${gcs}`);
  }
}
