// Moving a block inside the memory: space.bytes.copy (wasm memory.copy)
// against Uint8Array.copyWithin, by size, on a private and on a shared
// memory, in one run. Sources and destinations are spread over 32 MiB, as a
// reallocation's are.   npm run bench  (bundles with rolldown, runs with Node)
import { PerformanceObserver } from "node:perf_hooks";
import { AddressSpace } from "@memkit/core";

const SIZES = [16, 64, 256, 1024, 4096, 32768];
const SPREAD = 32 << 20;
const CALLS = 4096;
const ROUNDS = 7;

const space = { private: make(false), shared: make(true) };

function make(shared: boolean): AddressSpace {
  const s = AddressSpace.create({ initialBytes: 2 * SPREAD + (1 << 20), maximumBytes: 128 << 20, shared });
  s.u8.fill(1);
  return s;
}

/** CALLS 16-aligned (source, destination) pairs: sources in the first SPREAD bytes, destinations in the second. */
function addresses(seed: number): Int32Array {
  const pairs = new Int32Array(2 * CALLS);
  let x = seed;
  for (let i = 0; i < pairs.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    pairs[i] = (i & 1) * SPREAD + (x % (SPREAD >>> 4)) * 16;
  }
  return pairs;
}

function timeCopyWithin(s: AddressSpace, pairs: Int32Array, size: number, reps: number): number {
  const u8 = s.u8;
  const start = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) for (let i = 0; i < pairs.length; i += 2) u8.copyWithin(pairs[i + 1]!, pairs[i]!, pairs[i]! + size);
  return Number(process.hrtime.bigint() - start) / (reps * CALLS);
}

function timeBytesCopy(s: AddressSpace, pairs: Int32Array, size: number, reps: number): number {
  const bytes = s.bytes;
  const start = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) for (let i = 0; i < pairs.length; i += 2) bytes.copy(pairs[i + 1]!, pairs[i]!, size);
  return Number(process.hrtime.bigint() - start) / (reps * CALLS);
}

const pairs = addresses(0x6d656d6b);
console.log(`block copies, ns per copy (best of ${ROUNDS}); space.bytes runs as ${space.private.bytes.wasm ? "wasm" : "the typed-array fallback"}`);
console.log("memory    size     copyWithin  bytes.copy  bytes.copy / copyWithin");
for (const kind of ["private", "shared"] as const) {
  for (const size of SIZES) {
    const reps = Math.max(1, Math.round((1 << 22) / (size * CALLS)) * 4);
    let withCopyWithin = Infinity;
    let withBytes = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      withCopyWithin = Math.min(withCopyWithin, timeCopyWithin(space[kind], pairs, size, reps));
      withBytes = Math.min(withBytes, timeBytesCopy(space[kind], pairs, size, reps));
    }
    console.log(
      `${kind.padEnd(8)}  ${String(size).padStart(6)} B  ${withCopyWithin.toFixed(1).padStart(9)}  ${withBytes.toFixed(1).padStart(10)}  ${(withBytes / withCopyWithin).toFixed(2).padStart(8)}x`,
    );
  }
}

// The hot path makes no JS objects: ten million copies run without one garbage collection.
const gcs: string[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push(e.name);
});
observer.observe({ entryTypes: ["gc"] });
for (let r = 0; r < 2500; r++) for (let i = 0; i < pairs.length; i += 2) space.private.bytes.copy(pairs[i + 1]!, pairs[i]!, 16);
await new Promise((resolve) => setTimeout(resolve, 50));
observer.disconnect();
console.log(`garbage collections during ${(2500 * CALLS).toLocaleString("en")} copies: ${gcs.length}`);
