import { PerformanceObserver } from "node:perf_hooks";
import { MemoryGlobals } from "../src/index.js";

/*
 * What the timeline costs per frame with 50 scopes: `memory.beginFrame()`
 * with and without a timeline, measured in the same run, alternating rounds
 * (the machine may be loaded: read the ratio, not the nanoseconds). For scale,
 * the same frames also run a small game frame's allocations (4 allocate/free
 * pairs per scope). Garbage collections during the timed frames are counted:
 * sampling reads the scope rows in place, but the four allocators' stats()
 * are small objects.
 */

const SCOPES = 50;
const FRAMES = 20_000;
const ROUNDS = 5;

interface Subject {
  memory: MemoryGlobals;
  scopes: ReturnType<MemoryGlobals["scope"]>[];
  held: number[];
}

function make(timeline: boolean): Subject {
  const memory = MemoryGlobals.init({ initialBytes: 16 << 20, timeline: timeline ? { frames: 600, scopes: 64 } : false });
  const scopes = Array.from({ length: SCOPES }, (_, i) => memory.scope(`system-${i}`));
  const held = scopes.map((s) => s.allocate(256));
  return { memory, scopes, held };
}

function close(s: Subject): void {
  s.scopes.forEach((scope, i) => scope.deallocate(s.held[i]!));
  s.memory.shutdown();
}

function frames(s: Subject, work: boolean): number {
  const ptrs = new Int32Array(4);
  const t0 = performance.now();
  for (let f = 0; f < FRAMES; f++) {
    if (work) {
      for (const scope of s.scopes) {
        for (let k = 0; k < 4; k++) ptrs[k] = scope.allocate(32 + k * 24);
        for (let k = 0; k < 4; k++) scope.deallocate(ptrs[k]!);
      }
    }
    s.memory.beginFrame();
  }
  return ((performance.now() - t0) * 1e6) / FRAMES;
}

let gcs = 0;
const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
observer.observe({ entryTypes: ["gc"] });

const results = { off: [] as number[], on: [] as number[], offWork: [] as number[], onWork: [] as number[] };
const gcCounts = { off: 0, on: 0 };
for (let round = 0; round < ROUNDS; round++) {
  for (const timeline of [false, true]) {
    const s = make(timeline);
    frames(s, false); // warm-up
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 0));
    const before = gcs;
    const ns = frames(s, false);
    await new Promise((r) => setTimeout(r, 0));
    gcCounts[timeline ? "on" : "off"] += gcs - before;
    const nsWork = frames(s, true);
    results[timeline ? "on" : "off"].push(ns);
    results[timeline ? "onWork" : "offWork"].push(nsWork);
    close(s);
  }
}
observer.disconnect();

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const off = median(results.off);
const on = median(results.on);
const offWork = median(results.offWork);
const onWork = median(results.onWork);
console.log(`timeline cost per frame, ${SCOPES} scopes, ${FRAMES} frames x ${ROUNDS} rounds (medians)`);
console.log(`  beginFrame without timeline  ${off.toFixed(0).padStart(7)} ns`);
console.log(`  beginFrame with timeline     ${on.toFixed(0).padStart(7)} ns   (${(on / off).toFixed(1)}x; sampling ${(on - off).toFixed(0)} ns = ${((on - off) / SCOPES).toFixed(0)} ns per scope)`);
console.log(`  game frame (${SCOPES} x 4 alloc/free pairs) + beginFrame`);
console.log(`    without timeline           ${offWork.toFixed(0).padStart(7)} ns`);
console.log(`    with timeline              ${onWork.toFixed(0).padStart(7)} ns   (${(onWork / offWork).toFixed(2)}x)`);
console.log(`  garbage collections in ${FRAMES * ROUNDS} bare frames: without ${gcCounts.off}, with ${gcCounts.on}`);
