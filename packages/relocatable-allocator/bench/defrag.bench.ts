// Fragmenting workload run for N frames: the plain generic allocator against
// the relocatable allocator without compaction and with compact({ maxBytes })
// every frame. Prints footprint / live over time, the worst frame cost of
// compact, the cost per moved byte against a plain copyWithin of the same
// bytes measured in the same run, and a container's hot path over both.
// `npm run bench` (bundled by rolldown so plain Node runs it; --expose-gc).
import { PerformanceObserver } from "node:perf_hooks";
import { AddressSpace, SeededRandom, formatCount } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { DynamicArray } from "@memkit/containers";
import { RelocatableAllocator } from "../src/index.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const FRAMES = quick ? 600 : 3000;
const SAMPLE_EVERY = FRAMES / 10;
const BUDGETS = [16 << 10, 64 << 10, 256 << 10];

// ------------------------------------------------------------------ workload
/*
 * The C pattern (sizes log-uniform 16 B..64 KiB, random replacement of live
 * blocks) plus streaming: the world is cut in cells; every 20 frames a cell
 * streams in (150 blocks) and the oldest streams out once 8 are loaded.
 * Long-lived blocks and replaced ones sit between the cells' blocks, so the
 * holes a cell leaves are cut up.
 */
const OP_ALLOC = 0;
const OP_FREE = 1;
const OP_FRAME = 2;

interface Ops {
  kind: Int32Array;
  a: Int32Array; // slot
  b: Int32Array; // size
  count: number;
  slots: number;
}

function workload(seed: number): Ops {
  const rng = new SeededRandom(seed);
  const cap = FRAMES * 420 + 10_000;
  const ops: Ops = { kind: new Int32Array(cap), a: new Int32Array(cap), b: new Int32Array(cap), count: 0, slots: 0 };
  const push = (k: number, a: number, b: number): void => {
    ops.kind[ops.count] = k;
    ops.a[ops.count] = a;
    ops.b[ops.count] = b;
    ops.count++;
  };
  const freeSlots: number[] = [];
  const take = (): number => (freeSlots.length > 0 ? freeSlots.pop()! : ops.slots++);
  const longLived: number[] = [];
  for (let i = 0; i < 1500; i++) {
    const s = take();
    longLived.push(s);
    push(OP_ALLOC, s, rng.logUniform(16, 65536));
  }
  const cells: number[][] = [];
  for (let f = 0; f < FRAMES; f++) {
    push(OP_FRAME, f, 0);
    if (f % 20 === 0) {
      const cell: number[] = [];
      for (let i = 0; i < 150; i++) {
        const s = take();
        cell.push(s);
        push(OP_ALLOC, s, rng.logUniform(16, 65536));
      }
      cells.push(cell);
      if (cells.length > 8) {
        for (const s of cells.shift()!) {
          push(OP_FREE, s, 0);
          freeSlots.push(s);
        }
      }
    }
    for (let i = 0; i < 10; i++) {
      const k = rng.int(0, longLived.length - 1);
      push(OP_FREE, longLived[k]!, 0);
      freeSlots.push(longLived[k]!);
      const s = take();
      longLived[k] = s;
      push(OP_ALLOC, s, rng.logUniform(16, 65536));
    }
  }
  return ops;
}

// ------------------------------------------------------------------ subjects

interface Subject {
  name: string;
  alloc(slot: number, size: number): void;
  free(slot: number): void;
  frame(): void;
  footprint(): number;
  live(): number;
  check(): void;
}

function space(): AddressSpace {
  return AddressSpace.create({ initialBytes: 64 << 20, maximumBytes: 1 << 30 });
}

function genericSubject(slots: number): Subject {
  const g = new GenericAllocator(new PageAllocator(space()));
  const ptrs = new Float64Array(slots);
  return {
    name: "generic",
    alloc: (s, size) => (ptrs[s] = g.allocate(size)),
    free: (s) => g.deallocate(ptrs[s]!),
    frame: () => undefined,
    footprint: () => g.stats().reservedBytes,
    live: () => g.stats().liveBytes,
    check: () => g.check(),
  };
}

interface FrameCosts {
  worstMs: number;
  /** Most payload bytes one call moved (the budget bounds it). */
  worstMoved: number;
  totalMs: number;
  movedBytes: number;
  frames: number[];
}

function relocatableSubject(slots: number, budget: number | undefined, costs: FrameCosts): Subject {
  const g = new GenericAllocator(new PageAllocator(space()));
  const r = new RelocatableAllocator(g, { name: "reloc" });
  const handles = new Float64Array(slots);
  const options = { maxBytes: budget ?? 0 };
  return {
    name: budget === undefined ? "relocatable, no compact" : `relocatable, compact ${formatCount(budget >> 10)} KiB/frame`,
    alloc: (s, size) => {
      const h = r.create(size);
      handles[s] = h;
      // Touch the block through its handle, as a game would.
      r.space.u8[r.resolve(h)] = s & 0xff;
    },
    free: (s) => r.free(handles[s]!),
    frame: () => {
      if (budget === undefined) return;
      const t0 = performance.now();
      const res = r.compact(options);
      const ms = performance.now() - t0;
      if (res.movedBytes > costs.worstMoved) costs.worstMoved = res.movedBytes;
      costs.totalMs += ms;
      costs.movedBytes += res.movedBytes;
      if (ms > costs.worstMs) costs.worstMs = ms;
      costs.frames.push(ms);
    },
    footprint: () => r.stats().reservedBytes,
    live: () => r.stats().liveBytes,
    check: () => r.check(),
  };
}

interface Run {
  name: string;
  samples: { frame: number; live: number; footprint: number }[];
  peakRatio: number;
  endRatio: number;
  ms: number;
  gcs: number;
}

function run(ops: Ops, subject: Subject): Run {
  const samples: Run["samples"] = [];
  let peakRatio = 0;
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  obs.observe({ entryTypes: ["gc"] });
  const t0 = performance.now();
  for (let i = 0; i < ops.count; i++) {
    const k = ops.kind[i]!;
    if (k === OP_ALLOC) subject.alloc(ops.a[i]!, ops.b[i]!);
    else if (k === OP_FREE) subject.free(ops.a[i]!);
    else {
      subject.frame();
      const f = ops.a[i]!;
      if (f % SAMPLE_EVERY === SAMPLE_EVERY - 1) {
        const live = subject.live();
        const footprint = subject.footprint();
        samples.push({ frame: f + 1, live, footprint });
        if (f > FRAMES / 10 && footprint / live > peakRatio) peakRatio = footprint / live;
      }
    }
  }
  const ms = performance.now() - t0;
  obs.disconnect();
  subject.check();
  const last = samples[samples.length - 1]!;
  return { name: subject.name, samples, peakRatio, endRatio: last.footprint / last.live, ms, gcs };
}

// ------------------------------------------------------------------- helpers

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), "  " + widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const mib = (b: number): string => (b / (1 << 20)).toFixed(1);

/** ns per byte of `copyWithin` over blocks of the workload's sizes: the floor any mover pays. */
function copyNsPerByte(): number {
  const u8 = new Uint8Array(8 << 20);
  const rng = new SeededRandom(7);
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < 20_000; i++) {
    const n = rng.logUniform(16, 65536);
    const from = rng.int(n, (8 << 20) - n - 1);
    u8.copyWithin(from - rng.int(1, Math.min(n, from) - 1) , from, from + n);
    bytes += n;
  }
  return ((performance.now() - t0) * 1e6) / bytes;
}

/** The longest gap an empty loop sees in 500 ms: how long the machine takes the core away. */
function stallFloor(): number {
  let worst = 0;
  let t = performance.now();
  const end = t + 500;
  while (t < end) {
    const n = performance.now();
    if (n - t > worst) worst = n - t;
    t = n;
  }
  return worst;
}

/** A DynamicArray's push and get over the generic allocator and over relocatable memory: the hot path is the same code. */
function containerHotPath(): string[][] {
  const rows: string[][] = [];
  const make = (reloc: boolean): DynamicArray<"u32"> => {
    const g = new GenericAllocator(new PageAllocator(space()));
    return new DynamicArray(reloc ? new RelocatableAllocator(g) : g, "u32");
  };
  const times: Record<string, number[]> = { pushG: [], pushR: [], getG: [], getR: [] };
  for (let round = 0; round < 7; round++) {
    for (const reloc of [false, true]) {
      const arr = make(reloc);
      let t0 = performance.now();
      for (let i = 0; i < 1_000_000; i++) arr.push(i);
      times[reloc ? "pushR" : "pushG"]!.push(performance.now() - t0);
      let sum = 0;
      t0 = performance.now();
      for (let rep = 0; rep < 4; rep++) for (let i = 0; i < 1_000_000; i++) sum += arr.get(i);
      times[reloc ? "getR" : "getG"]!.push(performance.now() - t0);
      if (sum < 0) console.log(sum);
      arr.dispose();
    }
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  for (const [label, g, r] of [
    ["DynamicArray<u32>: 1M push (growth included)", median(times.pushG!), median(times.pushR!)],
    ["DynamicArray<u32>: 4M get", median(times.getG!), median(times.getR!)],
  ] as const) {
    rows.push([label, `${g.toFixed(1)} ms`, `${r.toFixed(1)} ms`, (g / r).toFixed(2)]);
  }
  // A block read through a stored pointer (generic) or resolved from its handle on each access.
  const g2 = new GenericAllocator(new PageAllocator(space()));
  const r2 = new RelocatableAllocator(new GenericAllocator(new PageAllocator(space())));
  const n = 10_000;
  const ptrs = new Float64Array(n);
  const handles = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ptrs[i] = g2.allocate(64);
    handles[i] = r2.create(64);
  }
  const order = new Int32Array(1 << 20);
  const rng = new SeededRandom(3);
  for (let i = 0; i < order.length; i++) order[i] = rng.int(0, n - 1);
  const t: Record<string, number[]> = { ptr: [], handle: [] };
  const u8a = g2.space.u8;
  const u8b = r2.space.u8;
  let sink = 0;
  for (let round = 0; round < 5; round++) {
    let t0 = performance.now();
    for (let i = 0; i < order.length; i++) sink += u8a[ptrs[order[i]!]!]!;
    t.ptr!.push(performance.now() - t0);
    t0 = performance.now();
    for (let i = 0; i < order.length; i++) sink += u8b[r2.resolve(handles[order[i]!]!)]!;
    t.handle!.push(performance.now() - t0);
  }
  if (sink < 0) console.log(sink);
  const p = median(t.ptr!);
  const h = median(t.handle!);
  rows.push(["1M random block reads: stored pointer vs resolve(handle)", `${p.toFixed(1)} ms`, `${h.toFixed(1)} ms`, (p / h).toFixed(2)]);
  return rows;
}

// ---------------------------------------------------------------------- main

const ops = workload(0x5eed);
console.log(`memkit relocatable-allocator bench: ${formatCount(FRAMES)} frames, ${formatCount(ops.count)} ops (C sizes 16 B..64 KiB, streaming cells in and out)\n`);
const runs: Run[] = [];
const costs: FrameCosts[] = [];
runs.push(run(ops, genericSubject(ops.slots)));
runs.push(run(ops, relocatableSubject(ops.slots, undefined, { worstMs: 0, worstMoved: 0, totalMs: 0, movedBytes: 0, frames: [] })));
for (const budget of BUDGETS) {
  const c: FrameCosts = { worstMs: 0, worstMoved: 0, totalMs: 0, movedBytes: 0, frames: [] };
  costs.push(c);
  runs.push(run(ops, relocatableSubject(ops.slots, budget, c)));
}

console.log("Footprint / live over time (footprint: bytes each allocator holds from its backing; live: bytes of live blocks)\n");
const header = ["frame", "live MiB", ...runs.map((r) => r.name)];
const rows = runs[0]!.samples.map((s, i) => [String(s.frame), mib(s.live), ...runs.map((r) => (r.samples[i]!.footprint / r.samples[i]!.live).toFixed(2))]);
console.log(table(header, rows));
console.log("");
console.log(
  table(
    ["subject", "peak fp/live", "end fp/live", "x generic (end)", "run ms", "GC events"],
    runs.map((r) => [r.name, r.peakRatio.toFixed(2), r.endRatio.toFixed(2), (r.endRatio / runs[0]!.endRatio).toFixed(2), r.ms.toFixed(0), String(r.gcs)]),
  ),
);
const copy = copyNsPerByte();
const stall = stallFloor();
console.log(
  `\nCost of compact() per frame (copyWithin of the same sizes, same run: ${copy.toFixed(3)} ns/byte; ` +
    `an empty loop on this machine, same run, saw gaps up to ${stall.toFixed(1)} ms: wall-clock worst frames include the scheduler's)\n`,
);
console.log(
  table(
    ["budget/frame", "most moved in a frame", "worst frame ms", "p99.9 ms", "p99 ms", "mean ms", "moved MiB", "ns per moved byte", "x copyWithin"],
    BUDGETS.map((b, i) => {
      const c = costs[i]!;
      const sorted = c.frames.slice().sort((x, y) => x - y);
      const perByte = c.movedBytes === 0 ? NaN : (c.totalMs * 1e6) / c.movedBytes;
      return [
        `${b >> 10} KiB`,
        `${formatCount(c.worstMoved)} B`,
        c.worstMs.toFixed(3),
        sorted[Math.floor(sorted.length * 0.999)]!.toFixed(3),
        sorted[Math.floor(sorted.length * 0.99)]!.toFixed(3),
        (c.totalMs / c.frames.length).toFixed(3),
        mib(c.movedBytes),
        perByte.toFixed(3),
        (perByte / copy).toFixed(2),
      ];
    }),
  ),
);
console.log("\nContainers: the same hot path over the generic allocator and in relocatable memory (median of 7 and 5 rounds, >1: relocatable faster)\n");
console.log(table(["workload", "generic", "relocatable", "ratio"], containerHotPath()));
if (args.includes("--spikes")) for (const c of costs) console.log(c.frames.map((ms, i) => [ms, i]).sort((a, b) => b[0]! - a[0]!).slice(0, 5).map(([ms, i]) => `${ms!.toFixed(2)}@${i}`).join(" "));
