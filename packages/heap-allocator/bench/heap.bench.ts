import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";
import { cpuUsage } from "node:process";
import { afterAll, bench, describe } from "vitest";
import { opsOf, run, workloadC, type Malloc } from "./workload.js";

// Workload C: log-uniform 16 B..64 KiB, 2,000 live, 200k ops. Prints ns/op and footprint.
// ns/op is CPU time (user + system) per operation, best of all iterations: it
// moves far less than wall time when other processes compete for the cores.
const w = workloadC();
const ptrs = new Uint32Array(w.live);
const sizes = new Uint32Array(w.live);
const space = AddressSpace.create({ initialBytes: 64 << 20, maximumBytes: 1 << 30 });
const pages = new PageAllocator(space);
const heap = new HeapAllocator(pages);
const malloc: Malloc = {
  alloc: (size) => heap.allocate(size),
  free: (ptr) => heap.deallocate(ptr),
};
let best = Infinity;
let peakLive = 0;
let peakReserved = 0;

describe("workload C (16 B..64 KiB log-uniform, 2,000 live, 200k ops)", () => {
  bench(
    "HeapAllocator",
    () => {
      const start = cpuUsage();
      peakLive = Math.max(
        peakLive,
        run(w, malloc, ptrs, sizes, () => {
          peakReserved = Math.max(peakReserved, heap.stats().reservedBytes);
        }),
      );
      const used = cpuUsage(start);
      best = Math.min(best, ((used.user + used.system) * 1000) / opsOf(w));
    },
    { time: 3000, warmupTime: 500 },
  );
});

afterAll(() => {
  heap.check();
  const footprint = peakReserved / peakLive;
  console.log(
    `HeapAllocator workload C: best ${best.toFixed(1)} ns/op (CPU time), peak footprint ${footprint.toFixed(3)} x peak live (${(peakLive / 1048576).toFixed(1)} MiB)`,
  );
});
