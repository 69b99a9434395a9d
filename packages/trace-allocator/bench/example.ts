/*
 * The README's worked example (print-only, not a test): a tiny "engine" with
 * physics and a streamed level, a report, folded stacks for a flame graph,
 * and the LeakError a forgotten chunk produces.
 *
 *   node bench/run.mjs bench/example.ts     (npm run example)
 *
 * Writes out/memory.folded (live now), out/peak.folded (live at the peak) and
 * out/leaks.folded (left at the end), which flame-graph tools read:
 *   npx speedscope out/memory.folded
 *   flamegraph.pl out/memory.folded > memory.svg
 *   inferno-flamegraph < out/memory.folded > memory.svg
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { AddressSpace, LeakError } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";
import { TraceAllocator, diffReports, foldLeakReport, formatReportDiff } from "../src/index.js";

const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 256 << 20 });
const heap = new HeapAllocator(new PageAllocator(space));
const root = new TraceAllocator(heap, { tracing: "callstacks" });

class Physics {
  readonly mem = root.child("physics", { budget: { bytes: 1 << 20, onExceed: "warn" } });
  readonly bodies: number[] = [];
  spawnBodies(n: number): void {
    for (let i = 0; i < n; i++) this.bodies.push(this.mem.allocate(96));
  }
  [Symbol.dispose](): void {
    for (const b of this.bodies) this.mem.deallocate(b);
    this.mem.dispose();
  }
}

class LevelStreamer {
  readonly mem = root.child("level").child("streaming");
  readonly chunks: number[] = [];
  loadChunk(bytes: number): number {
    const chunk = this.mem.allocate(bytes);
    this.chunks.push(chunk);
    return chunk;
  }
  update(frame: number): void {
    if (frame % 10 === 0) this.loadChunk(4000);
    if (frame % 25 === 0) this.mem.deallocate(this.chunks.shift()!);
  }
}

const physics = new Physics();
const streamer = new LevelStreamer();
physics.spawnBodies(40);
root.markFrame(100);
const atFrame100 = root.report();
for (let frame = 100; frame <= 300; frame++) {
  root.markFrame(frame);
  streamer.update(frame);
}

console.log(root.formatReport());
console.log();
console.log(formatReportDiff(diffReports(atFrame100, root.report())));
mkdirSync("out", { recursive: true });
writeFileSync("out/memory.folded", root.foldedStacks());
writeFileSync("out/peak.folded", root.foldedStacks({ which: "peak" }));
console.log("\nout/memory.folded:\n" + root.foldedStacks());

physics[Symbol.dispose]();
// Unloading forgets two chunks: the scope says where they came from.
for (const chunk of streamer.chunks.splice(0, streamer.chunks.length - 2)) streamer.mem.deallocate(chunk);
try {
  streamer.mem.dispose();
} catch (err) {
  if (!(err instanceof LeakError)) throw err;
  console.log(err.stack!.split("\n    at TraceAllocator.dispose")[0]);
  writeFileSync("out/leaks.folded", foldLeakReport(err.report));
}
