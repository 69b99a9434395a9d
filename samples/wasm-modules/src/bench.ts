// `npm run bench` (this workspace): a malloc/free pair made by wasm code,
// through memkit's imports (a wasm -> JS call into a trace scope), against
// the same AssemblyScript source on its own built-in TLSF heap (no call out
// of wasm), in the same process. Also the same pattern from JS straight into
// the scope, to show what the wasm -> JS crossing costs. Prints ns per pair,
// the ratio to AS TLSF, and the GC events seen while the memkit loops ran.
import { PerformanceObserver } from "node:perf_hooks";
import { MemoryGlobals } from "@memkit/memory-globals";
import type { TraceAllocator } from "@memkit/trace-allocator";
import { WASM_STATIC_BYTES } from "./build/layout.js";
import { particlesTlsfWasm, particlesWasm } from "./load.js";
import { instantiateParticles, instantiateParticlesTlsf } from "./particles.js";

const quick = process.argv.includes("--quick");
const RUNS = quick ? 3 : 9;
const ROUNDS = quick ? 200 : 2000;
const BATCH = 256;
const SPREAD = 240;
const PAIRS = ROUNDS * BATCH;

interface Subject {
  name: string;
  run(): number;
  /** Its timed windows [start, end) on the performance.now() clock. */
  windows: number[];
  times: number[];
}

// GC entries arrive after the loop that caused them: keep their start times and match them to the timed windows at the end.
const gcStarts: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcStarts.push(entry.startTime);
});
observer.observe({ entryTypes: ["gc"] });
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The bench's loop from JS: the same sizes and order as assembly/particles.ts churn(). */
function jsChurn(scope: TraceAllocator, slots: Uint32Array): number {
  let sum = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < BATCH; k++) {
      const p = scope.allocate(16 + ((r * 31 + k * 7) % SPREAD), 16);
      slots[k] = p;
      sum = (sum + p) >>> 0;
    }
    for (let k = 0; k < BATCH; k++) scope.deallocate(slots[k]!);
  }
  return sum;
}

async function main(): Promise<void> {
  const memory = MemoryGlobals.init({ initialBytes: 64 << 20, wasmStaticBytes: WASM_STATIC_BYTES });
  const bytes = particlesWasm();
  const counted = instantiateParticles(memory, bytes, "bench-counts");
  const untraced = instantiateParticles(memory, bytes, "bench-off", { tracing: "off" });
  const slots = memory.default.allocate(BATCH * 4, 4);
  const jsScope = memory.scope("bench-js");
  const jsSlots = new Uint32Array(BATCH);
  const tlsf = instantiateParticlesTlsf(particlesTlsfWasm(), 1024);
  const tlsfSlots = tlsf.exports.alloc(BATCH * 4);

  const subjects: Subject[] = [
    { name: "wasm -> memkit (scope, tracing counts)", run: () => counted.exports.churn(ROUNDS, BATCH, SPREAD, slots), windows: [], times: [] },
    { name: "wasm -> memkit (scope, tracing off)", run: () => untraced.exports.churn(ROUNDS, BATCH, SPREAD, slots), windows: [], times: [] },
    { name: "JS -> memkit (scope, tracing counts)", run: () => jsChurn(jsScope, jsSlots), windows: [], times: [] },
    { name: "wasm -> AS TLSF (built in, own memory)", run: () => tlsf.exports.churn(ROUNDS, BATCH, SPREAD, tlsfSlots), windows: [], times: [] },
  ];
  // Warm-up: every subject optimised by V8 and its heap grown before anything is timed.
  for (let i = 0; i < 3; i++) for (const s of subjects) s.run();
  for (let run = 0; run < RUNS; run++) {
    // Rotate the order so no subject always runs first (the machine is shared).
    for (let i = 0; i < subjects.length; i++) {
      const s = subjects[(run + i) % subjects.length]!;
      await settle();
      const start = performance.now();
      s.run();
      const end = performance.now();
      s.times.push(end - start);
      s.windows.push(start, end);
    }
  }
  await settle();
  const gcsIn = (windows: number[]): number => gcStarts.filter((t) => windows.some((w, i) => i % 2 === 0 && t >= w && t < windows[i + 1]!)).length;
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const tlsfNs = (median(subjects[3]!.times) * 1e6) / PAIRS;
  console.log(`wasm-modules bench: ${PAIRS.toLocaleString("en-US")} malloc/free pairs per run (batches of ${BATCH}, sizes 16..${16 + SPREAD - 1} B), median of ${RUNS} runs${quick ? " (--quick: not meaningful)" : ""}`);
  console.log(`${"subject".padEnd(42)} ${"ns/pair".padStart(8)} ${"vs AS TLSF".padStart(11)} ${"GC events".padStart(10)}`);
  for (const s of subjects) {
    const ns = (median(s.times) * 1e6) / PAIRS;
    console.log(`${s.name.padEnd(42)} ${ns.toFixed(1).padStart(8)} ${`${(ns / tlsfNs).toFixed(2)}x`.padStart(11)} ${String(gcsIn(s.windows)).padStart(10)}`);
  }
  console.log("(ratio > 1: slower than AssemblyScript's own TLSF; memkit's pairs cross from wasm into JS and are counted in a scope;");
  console.log(" malloc's 16-byte alignment takes the scope's inline paths. A GC event in a memkit row is garbage made per pair.)");
  for (const scope of [counted.heap.scope, untraced.heap.scope, jsScope]) {
    if (scope.stats().liveBytes !== 0) throw new Error(`bench: ${scope.path} kept ${scope.stats().liveBytes} bytes: the churn leaked`);
  }
  memory.default.deallocate(slots);
  observer.disconnect();
  memory.shutdown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
