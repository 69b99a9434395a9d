// Frame churn: 1,000 frames, each allocating 1,000 blocks of 16..512 bytes
// (seeded), writing one byte into each, and dropping them all at frame end.
// Compares FrameAllocator (memory returns at beginFrame) with `new
// Uint8Array(n)` per allocation (memory returns through the garbage
// collector), and prints allocations/s and the ratio (target: >= 10x).
//
//   npm run bench          (bundles with rolldown, runs with plain Node)
//
// Each variant runs the whole 1,000,000-allocation workload once to warm
// up, then RUNS more times; the median run is reported.
import { AddressSpace, SeededRandom, formatCount } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { FrameAllocator, ScratchAllocator } from "@memkit/temp-allocator";
import { PerformanceObserver } from "node:perf_hooks";

const FRAMES = 1000;
const PER_FRAME = 1000;
const RUNS = 7;

const sizes = new Int32Array(FRAMES * PER_FRAME);
const rng = new SeededRandom(0xf7a3e);
for (let i = 0; i < sizes.length; i++) sizes[i] = rng.int(16, 512);

const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 256 << 20 });
const pages = new PageAllocator(space);
const frames = new FrameAllocator(pages, { name: "bench-frame" });
const scratch = new ScratchAllocator(pages, { name: "bench-scratch" });
const generic = new GenericAllocator(new PageAllocator(AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 256 << 20 }), { pageSize: 16384 }));
const ptrs = new Int32Array(PER_FRAME);
let sink = 0;

function frameAllocator(): void {
  const u8 = space.u8;
  for (let f = 0, i = 0; f < FRAMES; f++) {
    frames.beginFrame();
    for (let k = 0; k < PER_FRAME; k++, i++) {
      const p = frames.allocate(sizes[i]!);
      u8[p] = k;
      ptrs[k] = p;
    }
  }
  sink ^= ptrs[0]!;
}

function frameAllocatorWithFrees(): void {
  const u8 = space.u8;
  for (let f = 0, i = 0; f < FRAMES; f++) {
    frames.beginFrame();
    for (let k = 0; k < PER_FRAME; k++, i++) {
      const p = frames.allocate(sizes[i]!);
      u8[p] = k;
      ptrs[k] = p;
    }
    for (let k = 0; k < PER_FRAME; k++) frames.deallocate(ptrs[k]!);
  }
  sink ^= ptrs[0]!;
}

function scratchMarks(): void {
  const u8 = space.u8;
  for (let f = 0, i = 0; f < FRAMES; f++) {
    const mark = scratch.mark();
    for (let k = 0; k < PER_FRAME; k++, i++) {
      const p = scratch.allocate(sizes[i]!);
      u8[p] = k;
      ptrs[k] = p;
    }
    scratch.release(mark);
  }
  sink ^= ptrs[0]!;
}

function genericAllocator(): void {
  const u8 = generic.space.u8;
  for (let f = 0, i = 0; f < FRAMES; f++) {
    for (let k = 0; k < PER_FRAME; k++, i++) {
      const p = generic.allocate(sizes[i]!);
      u8[p] = k;
      ptrs[k] = p;
    }
    for (let k = 0; k < PER_FRAME; k++) generic.deallocate(ptrs[k]!);
  }
  sink ^= ptrs[0]!;
}

const arrays: Uint8Array[] = [];
function typedArrays(): void {
  for (let f = 0, i = 0; f < FRAMES; f++) {
    arrays.length = 0;
    for (let k = 0; k < PER_FRAME; k++, i++) {
      const a = new Uint8Array(sizes[i]!);
      a[0] = k;
      arrays.push(a);
    }
  }
  sink ^= arrays[0]![0]!;
}

const gc = (globalThis as { gc?: () => void }).gc;

// Garbage collections V8 reports while a workload runs (entries arrive asynchronously).
let gcEvents = 0;
const observer = new PerformanceObserver((list) => {
  gcEvents += list.getEntries().length;
});
observer.observe({ entryTypes: ["gc"] });
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/** Median milliseconds of RUNS runs of the whole workload after one warm-up run, and the GC events during the timed runs. */
async function measure(run: () => void): Promise<[number, number]> {
  run();
  const times: number[] = [];
  gc?.();
  await settle();
  gcEvents = 0;
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  await settle();
  times.sort((a, b) => a - b);
  return [times[RUNS >> 1]!, gcEvents];
}

const allocations = FRAMES * PER_FRAME;
const rows: [string, [number, number]][] = [
  ["FrameAllocator: allocate, beginFrame() frees", await measure(frameAllocator)],
  ["FrameAllocator: allocate, deallocate each, beginFrame()", await measure(frameAllocatorWithFrees)],
  ["ScratchAllocator: mark, allocate, release(mark)", await measure(scratchMarks)],
  ["GenericAllocator: allocate, deallocate each at frame end", await measure(genericAllocator)],
  ["new Uint8Array(n) per allocation, dropped at frame end", await measure(typedArrays)],
];
observer.disconnect();

console.log(`frame churn: ${formatCount(FRAMES)} frames x ${formatCount(PER_FRAME)} blocks of 16..512 B, median of ${RUNS} runs${gc ? "" : " (run with --expose-gc for steadier numbers)"}`);
for (const [name, [ms, gcs]] of rows) {
  const perSecond = allocations / (ms / 1000);
  console.log(
    `  ${name.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms  ${formatCount(perSecond).padStart(12)} allocations/s  ${((ms * 1e6) / allocations).toFixed(1).padStart(6)} ns/allocation  ${String(gcs).padStart(4)} GC events`,
  );
}
const ms = (i: number): number => rows[i]![1][0];
const ratio = ms(4) / ms(0);
const frameGcs = rows[0]![1][1];
console.log(`FrameAllocator vs new Uint8Array: ${ratio.toFixed(1)}x faster (target >= 10x: ${ratio >= 10 ? "met" : "NOT met"}); GC events ${frameGcs} (target 0: ${frameGcs === 0 ? "met" : "NOT met"})`);
console.log(`  with a deallocate per block: ${(ms(4) / ms(1)).toFixed(1)}x; ScratchAllocator with marks: ${(ms(4) / ms(2)).toFixed(1)}x; FrameAllocator vs GenericAllocator: ${(ms(3) / ms(0)).toFixed(1)}x faster`);
console.log(`  reserved: frame ${formatCount(frames.stats().reservedBytes)} B, scratch ${formatCount(scratch.stats().reservedBytes)} B (check ${sink & 1})`);
