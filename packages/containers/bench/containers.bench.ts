// Containers against the JS built-ins, in one process. Print-only: no assertions.
//
//   npm run bench -w @memkit/containers      (turbo builds the dependencies first)
//
// Each workload runs ROUNDS times, JS and memkit interleaved, after a forced GC;
// the table shows the median time, ops/s, memkit's speed relative to JS
// (>1 = memkit faster) and the GC events seen during that workload's runs.
import { PerformanceObserver, performance } from "node:perf_hooks";
import { AddressSpace, formatCount } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { DynamicArray, ELEMENT_KINDS, HashMap, type ElementKind } from "../src/index.js";

const N = 1_000_000;
const ROUNDS = Number(process.env.MEMKIT_BENCH_ROUNDS ?? 7);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench does)");

// Every GC start time; attributed to workload runs afterwards by time window.
const gcTimes: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcTimes.push(entry.startTime);
});
observer.observe({ entryTypes: ["gc"] });

interface Sample {
  ms: number[];
  windows: [number, number][];
}
const samples = new Map<string, Sample>();

/** Times `fn` once after a forced (unrecorded) GC and files the run under `label`. */
function run(label: string, fn: () => number): void {
  gc!();
  const start = performance.now();
  const check = fn();
  const end = performance.now();
  if (check === 0.123) console.log(check); // keeps the result alive
  let s = samples.get(label);
  if (s === undefined) samples.set(label, (s = { ms: [], windows: [] }));
  s.ms.push(end - start);
  s.windows.push([start, end]);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function gcEvents(label: string): number {
  const s = samples.get(label)!;
  // A forced GC runs before `start`; only collections inside a window count.
  return gcTimes.filter((t) => s.windows.some(([a, b]) => t > a && t < b)).length;
}

// ---------------------------------------------------------------- memory

// Sized up front: growing a wasm memory can itself prompt V8 to collect (it
// accounts the new bytes as external memory), which is not the containers' doing.
const space = AddressSpace.create({ initialBytes: 128 << 20, maximumBytes: 1 << 30 });
const pages: Allocator = new PageAllocator(space, { pageSize: 4096 });

// ---------------------------------------------------------------- inputs

const randomKeys = new Uint32Array(N);
const smallKeys = new Uint32Array(N);
const indexes = new Uint32Array(N);
let seed = 0x2545f491;
const next = (): number => (seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0);
for (let i = 0; i < N; i++) {
  randomKeys[i] = next() | 1; // full 32-bit range: most are not small integers for Map
  smallKeys[i] = next() & 0x3fffffff; // < 2^30: small integers (Smis) everywhere
  indexes[i] = next() % N;
}

// ---------------------------------------------------------------- workloads

function jsPush(): number {
  const a: number[] = [];
  for (let i = 0; i < N; i++) a.push(i);
  return a.length;
}

function memkitPush(kind: "u32" | "f64"): number {
  const a = new DynamicArray(pages, kind);
  for (let i = 0; i < N; i++) a.push(i);
  const n = a.length;
  a.dispose();
  return n;
}

const jsArray: number[] = Array.from({ length: N }, (_, i) => i);
const typed = new Float64Array(N).map((_, i) => i);
const memkitArray = new DynamicArray(pages, "f64", { capacity: N });
for (let i = 0; i < N; i++) memkitArray.push(i);

function jsGetSet(): number {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const j = indexes[i]!;
    sum += jsArray[j]!;
    jsArray[j] = i;
  }
  return sum;
}

function typedGetSet(): number {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const j = indexes[i]!;
    sum += typed[j]!;
    typed[j] = i;
  }
  return sum;
}

function memkitGetSet(): number {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const j = indexes[i]!;
    sum += memkitArray.get(j);
    memkitArray.set(j, i);
  }
  return sum;
}

const sortInput = new Float64Array(N).map(() => next() / 0x1_0000_0000);
const sortTyped = new Float64Array(N);
const sortArray = new DynamicArray(pages, "f64", { capacity: N });
sortArray.resize(N);

function typedSort(): number {
  sortTyped.set(sortInput);
  sortTyped.subarray(0, N).sort(); // the built-in: C++ sort, but one view object per call
  return sortTyped[N >> 1]!;
}

function memkitSort(): number {
  const view = sortArray.view(); // setup only
  view.set(sortInput);
  sortArray.sort();
  return sortArray.get(N >> 1);
}

// One JS Map and one HashMap per key set, rebuilt each round: insert, then look up, then delete.
let jsMap = new Map<number, number>();
let memkitMap = new HashMap(pages, { key: "u32", value: "u32" });

function jsInsert(keys: Uint32Array): number {
  jsMap = new Map();
  for (let i = 0; i < N; i++) jsMap.set(keys[i]!, i);
  return jsMap.size;
}
function jsLookup(keys: Uint32Array): number {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += jsMap.get(keys[i]!) ?? 0;
  return sum;
}
function jsDelete(keys: Uint32Array): number {
  for (let i = 0; i < N; i++) jsMap.delete(keys[i]!);
  return jsMap.size + 1;
}
function memkitInsert(keys: Uint32Array): number {
  memkitMap.dispose();
  memkitMap = new HashMap(pages, { key: "u32", value: "u32" });
  for (let i = 0; i < N; i++) memkitMap.set(keys[i]!, i);
  return memkitMap.size;
}
function memkitLookup(keys: Uint32Array): number {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += memkitMap.get(keys[i]!, 0);
  return sum;
}
function memkitDelete(keys: Uint32Array): number {
  for (let i = 0; i < N; i++) memkitMap.delete(keys[i]!);
  return memkitMap.size + 1;
}

// ---------------------------------------------------------------- run

const pairs: [string, string, string][] = []; // [workload, js label, memkit label]

for (let round = 0; round < ROUNDS; round++) {
  run("Array.push", jsPush);
  run("DynamicArray<u32>.push", () => memkitPush("u32"));
  run("DynamicArray<f64>.push", () => memkitPush("f64"));
  run("Array get/set", jsGetSet);
  run("Float64Array get/set", typedGetSet);
  run("DynamicArray<f64> get/set", memkitGetSet);
  run("Float64Array subarray().sort()", typedSort);
  run("DynamicArray<f64>.sort()", memkitSort);
  for (const [name, keys] of [
    ["random u32", randomKeys],
    ["keys < 2^30", smallKeys],
  ] as const) {
    run(`Map insert (${name})`, () => jsInsert(keys));
    run(`Map lookup (${name})`, () => jsLookup(keys));
    run(`Map delete (${name})`, () => jsDelete(keys));
    run(`HashMap insert (${name})`, () => memkitInsert(keys));
    run(`HashMap lookup (${name})`, () => memkitLookup(keys));
    run(`HashMap delete (${name})`, () => memkitDelete(keys));
  }
}

// Every element kind now went through DynamicArray: with one shared class the
// u32 push site would be megamorphic; one class per kind keeps it monomorphic.
for (const kind of Object.keys(ELEMENT_KINDS) as ElementKind[]) {
  const a = new DynamicArray(pages, kind) as DynamicArray<"f64">;
  const v = (ELEMENT_KINDS[kind].bigint ? 1n : 1) as number;
  for (let i = 0; i < 50_000; i++) a.push(v);
  for (let i = 0; i < 50_000; i++) a.set(i, a.get(i));
  a.dispose();
}
for (let round = 0; round < ROUNDS; round++) run("DynamicArray<u32>.push, all 10 kinds in use", () => memkitPush("u32"));

pairs.push(["push 1M numbers", "Array.push", "DynamicArray<u32>.push"]);
pairs.push(["push 1M numbers", "Array.push", "DynamicArray<f64>.push"]);
pairs.push(["push 1M numbers", "Array.push", "DynamicArray<u32>.push, all 10 kinds in use"]);
pairs.push(["1M random get+set", "Array get/set", "DynamicArray<f64> get/set"]);
pairs.push(["1M random get+set", "Float64Array get/set", "DynamicArray<f64> get/set"]);
pairs.push(["sort 1M doubles", "Float64Array subarray().sort()", "DynamicArray<f64>.sort()"]);
for (const name of ["random u32", "keys < 2^30"]) {
  for (const op of ["insert", "lookup", "delete"]) pairs.push([`1M ${op}s, ${name}`, `Map ${op} (${name})`, `HashMap ${op} (${name})`]);
}

await new Promise((resolve) => setTimeout(resolve, 50)); // deliver the last gc entries
observer.disconnect();
memkitMap.dispose();
memkitArray.dispose();
sortArray.dispose();

const rows: string[][] = [["workload", "JS", "JS ops/s", "GCs", "memkit", "memkit ops/s", "GCs", "memkit speed"]];
for (const [workload, js, mk] of pairs) {
  const tj = median(samples.get(js)!.ms);
  const tm = median(samples.get(mk)!.ms);
  rows.push([
    workload,
    js,
    formatCount(N / (tj / 1000)),
    String(gcEvents(js)),
    mk,
    formatCount(N / (tm / 1000)),
    String(gcEvents(mk)),
    `${(tj / tm).toFixed(2)}x`,
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(`@memkit/containers vs JS built-ins: median of ${ROUNDS} rounds, node ${process.version}; GCs = gc events during those rounds`);
for (const r of rows) console.log(r.map((cell, c) => (c === 0 || c === 1 || c === 4 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
const live = pages.stats();
console.log(`page allocator after the run: ${live.liveCount} live spans (expected 0)`);
