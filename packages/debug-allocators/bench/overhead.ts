/**
 * What each debug wrapper costs, as a ratio to the bare backing allocator
 * (a PageAllocator with 256-byte pages) on the same seeded alloc/free pairs.
 * Print-only: `npm run bench` (after the workspace dependencies are built).
 *
 * Two workloads, each a stream of allocate/deallocate pairs:
 * - lifo:   allocate a block and free it at once (the cheapest pattern);
 * - window: keep 512 blocks live, free a random one and allocate a new one.
 * Sizes are 8..512 bytes (log-uniform), default alignment. Every wrapper
 * writes the guards/fills it promises, so the ratio is the real price of the
 * checks; nothing in the workload touches the blocks' bytes.
 *
 * A last table counts garbage collections while each wrapper runs 1M pairs
 * over a backing that itself creates no JS objects (fixed 16 KiB slots in a
 * typed-array free stack): 0 means the wrapper's hot paths allocate nothing
 * on the JS heap. captureStacks allocates one call site per free by design.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { AddressSpace, OutOfMemoryError, SeededRandom, type Allocator, type AllocatorStats, type Ptr } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { CanaryAllocator, EndOfPageAllocator, FillAllocator, QuarantineAllocator, debugWrap } from "../src/index.js";

type Subject = Allocator & { destroy(): void };

const PAIRS = 200_000;
const WINDOW = 512;
const RUNS = 5;

const subjects: [string, (pages: PageAllocator) => Subject][] = [
  ["bare pages", (pages) => pages],
  ["canary", (pages) => new CanaryAllocator(pages)],
  ["endOfPage (overrun)", (pages) => new EndOfPageAllocator(pages)],
  ["endOfPage (underrun)", (pages) => new EndOfPageAllocator(pages, { mode: "underrun" })],
  ["fill 0xcd / 0x66", (pages) => new FillAllocator(pages)],
  ["fill random / 0x66", (pages) => new FillAllocator(pages, { onAllocate: "random" })],
  ["quarantine 1 MiB", (pages) => new QuarantineAllocator(pages)],
  ["debugWrap", (pages) => debugWrap(pages)],
  ["debugWrap + captureStacks", (pages) => debugWrap(pages, { captureStacks: true })],
];

function sizes(n: number): Uint32Array {
  const rng = new SeededRandom(0xbe4c);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.logUniform(8, 512);
  return out;
}

function lifo(a: Allocator, sz: Uint32Array): void {
  for (let i = 0; i < sz.length; i++) a.deallocate(a.allocate(sz[i]!));
}

function window(a: Allocator, sz: Uint32Array, picks: Uint32Array): void {
  const live = new Int32Array(WINDOW);
  for (let i = 0; i < WINDOW; i++) live[i] = a.allocate(sz[i]!);
  for (let i = 0; i < sz.length; i++) {
    const k = picks[i]!;
    a.deallocate(live[k]!);
    live[k] = a.allocate(sz[i]!);
  }
  for (let i = 0; i < WINDOW; i++) a.deallocate(live[i]!);
}

let gcEvents = 0;
new PerformanceObserver((list) => {
  gcEvents += list.getEntries().length;
}).observe({ entryTypes: ["gc"] });

/** Lets the GC observer report what happened so far. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/** Best nanoseconds per pair over RUNS fresh runs (fresh space, fresh wrapper). */
function measure(make: (pages: PageAllocator) => Subject, run: (a: Allocator) => void): number {
  let best = Infinity;
  for (let r = 0; r < RUNS + 1; r++) {
    const space = AddressSpace.create({ initialBytes: 64 << 20, maximumBytes: 256 << 20 });
    const pages = new PageAllocator(space, { pageSize: 256 });
    const subject = make(pages);
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = performance.now();
    run(subject);
    const ns = ((performance.now() - t0) * 1e6) / PAIRS;
    subject.destroy();
    if (subject !== pages) pages.destroy();
    if (r > 0) best = Math.min(best, ns); // run 0 warms the JIT up
  }
  return best;
}

/** Bytes of the slot region; larger requests (the wrappers' own state, made once) come from a bump region above it. */
const SLOT_REGION = 4096 * 16384;
const BUMP_BYTES = 8 << 20;

/**
 * Fixed 16 KiB slots from a typed-array free stack: a backing that creates no
 * JS objects itself. Requests above 16 KiB (a wrapper's control block and
 * tables, leased once at creation) are bumped from a region above the slots
 * and never reused.
 */
class SlotBacking implements Allocator {
  readonly name = "slots";
  readonly #free = new Int32Array(4096);
  readonly #live = new Uint8Array(4096);
  #top = 0;
  #count = 0;
  #bump = SLOT_REGION;

  constructor(readonly space: AddressSpace) {
    space.ensureByteLength(SLOT_REGION + BUMP_BYTES);
    for (let slot = 4095; slot >= 1; slot--) this.#free[this.#top++] = slot * 16384;
  }
  allocate(size: number): Ptr {
    if (size > 16384) {
      const ptr = this.#bump;
      if (ptr + size > SLOT_REGION + BUMP_BYTES) throw new OutOfMemoryError(`slots: cannot allocate ${size} B`);
      this.#bump = (ptr + size + 63) & -64;
      this.#count++;
      return ptr;
    }
    if (this.#top === 0) throw new OutOfMemoryError(`slots: cannot allocate ${size} B`);
    const ptr = this.#free[--this.#top]!;
    this.#live[ptr >>> 14] = 1;
    this.#count++;
    return ptr;
  }
  deallocate(ptr: Ptr): void {
    this.#count--;
    if (ptr >= SLOT_REGION) return;
    this.#live[ptr >>> 14] = 0;
    this.#free[this.#top++] = ptr;
  }
  reallocate(): Ptr {
    throw new Error("slots: reallocate is not used by this benchmark");
  }
  allocatedSize(): number {
    return 16384;
  }
  owns(ptr: Ptr): boolean {
    return ptr >= SLOT_REGION ? ptr < this.#bump : this.#live[ptr >>> 14] === 1;
  }
  stats(): AllocatorStats {
    return { liveBytes: 0, liveCount: this.#count, peakLiveBytes: 0, allocCount: 0, freeCount: 0, reservedBytes: 0 };
  }
}

/** GC events while `make(slots)` runs 1M window pairs (after a warm-up that lets its tables reach their peak size). */
async function garbageOf(make: (backing: Allocator) => Subject, sz: Uint32Array, picks: Uint32Array): Promise<number> {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 128 << 20 });
  const subject = make(new SlotBacking(space));
  window(subject, sz, picks);
  (globalThis as { gc?: () => void }).gc?.();
  await settle();
  const before = gcEvents;
  for (let i = 0; i < 5; i++) window(subject, sz, picks);
  await settle();
  subject.destroy();
  return gcEvents - before;
}

async function main(): Promise<void> {
  const sz = sizes(PAIRS);
  const rng = new SeededRandom(7);
  const picks = new Uint32Array(PAIRS);
  for (let i = 0; i < PAIRS; i++) picks[i] = rng.int(0, WINDOW - 1);
  const workloads: [string, (a: Allocator) => void][] = [
    ["lifo", (a) => lifo(a, sz)],
    ["window", (a) => window(a, sz, picks)],
  ];
  console.log(`debug-allocators overhead: ${PAIRS.toLocaleString("en")} alloc/free pairs, sizes 8..512 B, PageAllocator (256 B pages), best of ${RUNS}\n`);
  const header = "wrapper".padEnd(28) + workloads.map(([w]) => `${w} ns/pair`.padStart(16) + `${w} ratio`.padStart(14)).join("");
  console.log(header);
  console.log("-".repeat(header.length));
  const bare: number[] = [];
  for (const [name, make] of subjects) {
    let line = name.padEnd(28);
    for (let i = 0; i < workloads.length; i++) {
      const ns = measure(make, workloads[i]![1]);
      const base = (bare[i] ??= ns);
      line += ns.toFixed(1).padStart(16) + `${(ns / base).toFixed(2)}x`.padStart(14);
    }
    console.log(line);
  }

  console.log(`\nGC events over ${(5 * PAIRS).toLocaleString("en")} window pairs on a backing that allocates no JS objects itself:`);
  // The quarantine is bounded by blocks here: the slot backing has 4095 slots of 16 KiB.
  const small = { maxBytes: 1 << 20, maxBlocks: 1024 };
  const garbage: [string, (backing: Allocator) => Subject][] = [
    ["canary", (b) => new CanaryAllocator(b)],
    ["endOfPage (overrun)", (b) => new EndOfPageAllocator(b)],
    ["fill 0xcd / 0x66", (b) => new FillAllocator(b)],
    ["fill random / 0x66", (b) => new FillAllocator(b, { onAllocate: "random" })],
    ["quarantine", (b) => new QuarantineAllocator(b, small)],
    ["debugWrap", (b) => debugWrap(b, { quarantine: small })],
    ["debugWrap + captureStacks", (b) => debugWrap(b, { quarantine: small, captureStacks: true })],
  ];
  for (const [name, make] of garbage) console.log(name.padEnd(28) + String(await garbageOf(make, sz, picks)).padStart(8));
}

await main();
