// Slot allocator micro-benchmark: workloads A and B of tools/bench (same
// generator, same seed, same timed loop), so the numbers line up with the
// project benchmark without building every package.
//
//   npm run bench                                   # slots only
//   npm run bench -- --as-tlsf ../../tools/bench/build/as-tlsf.wasm  # side by side with AssemblyScript's TLSF (tools/bench builds it)
//   npm run bench -- --runs 9 --cpu                 # more runs, CPU time instead of wall time
//
// Each run gets a fresh 256 MiB space (no memory.grow inside the timed loop);
// 1 warm-up + --runs (5) timed runs, median and min ns/op, where an op is one allocate or one
// deallocate (and every allocation writes its first and last byte).
import { readFileSync } from "node:fs";
import { AddressSpace, SeededRandom } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";

interface Subject {
  alloc(size: number): number;
  free(ptr: number): void;
  write(ptr: number, size: number, value: number): void;
  destroy(): void;
}

interface Ops {
  slots: Int32Array;
  sizes: Int32Array;
  live: number;
}

const SEED = 0x6d656d6b; // tools/bench's default seed ("memk")

/** tools/bench's steadyState(): fill `live`, replace a random block (ops - 2 live) / 2 times, free all in random order. */
function steadyState(workloadIndex: number, live: number, ops: number, nextSize: (rng: SeededRandom) => number): Ops {
  const rng = new SeededRandom((SEED ^ Math.imul(workloadIndex + 1, 0x9e3779b9)) >>> 0);
  const pairs = Math.floor((ops - 2 * live) / 2);
  const slots = new Int32Array(2 * live + 2 * pairs);
  const sizes = new Int32Array(slots.length);
  let n = 0;
  const push = (slot: number, size: number): void => {
    slots[n] = slot;
    sizes[n++] = size;
  };
  for (let s = 0; s < live; s++) push(s, nextSize(rng));
  for (let k = 0; k < pairs; k++) {
    const s = rng.int(0, live - 1);
    push(s, 0);
    push(s, nextSize(rng));
  }
  const order = Int32Array.from({ length: live }, (_, i) => i);
  for (let i = live - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  for (let k = 0; k < live; k++) push(order[k]!, 0);
  return { slots, sizes, live };
}

function runOps(subject: Subject, slots: Int32Array, sizes: Int32Array, count: number, handles: Int32Array): void {
  for (let i = 0; i < count; i++) {
    const n = sizes[i]!;
    const s = slots[i]!;
    if (n > 0) {
      const h = subject.alloc(n);
      subject.write(h, n, i);
      handles[s] = h;
    } else {
      subject.free(handles[s]!);
    }
  }
}

/** A private copy of runOps per subject, so each call site stays monomorphic (as tools/bench does). */
function compileRunner(): typeof runOps {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- deliberate: fresh feedback per subject; the source is runOps above.
  return (new Function(`return (${runOps.toString()});`) as () => typeof runOps)();
}

class SlotSubject implements Subject {
  private readonly pages: PageAllocator;
  private readonly slots: SlotAllocator;
  private u8: Uint8Array;
  private readonly unsubscribe: () => void;

  constructor() {
    const space = AddressSpace.create({ initialBytes: 256 << 20, maximumBytes: 1 << 30 });
    this.pages = new PageAllocator(space, { pageSize: 65536 });
    this.slots = new SlotAllocator(this.pages, {});
    this.u8 = space.u8;
    this.unsubscribe = space.onGrow(() => (this.u8 = space.u8));
  }
  alloc(size: number): number {
    return this.slots.allocate(size);
  }
  free(ptr: number): void {
    this.slots.deallocate(ptr);
  }
  write(ptr: number, size: number, value: number): void {
    const u8 = this.u8;
    u8[ptr] = value;
    u8[ptr + size - 1] = value;
  }
  destroy(): void {
    this.unsubscribe();
    this.slots.destroy();
    this.pages.destroy();
  }
}

interface AsTlsf {
  memory?: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
}

/** True when the module imports its memory (tools/bench builds it so: the memory is then reserved up front and never grows). */
function importsMemory(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((entry) => entry.kind === "memory");
}

class AsTlsfSubject implements Subject {
  private readonly wasm: AsTlsf;
  private readonly memory: WebAssembly.Memory;
  private u8: Uint8Array;
  constructor(module: WebAssembly.Module) {
    const abort = (): never => {
      throw new Error("AssemblyScript TLSF aborted");
    };
    // Like tools/bench: an imported memory gets the slot subject's 256 MiB up front.
    const imported = importsMemory(module) ? new WebAssembly.Memory({ initial: (256 << 20) >>> 16, maximum: (1 << 30) >>> 16 }) : undefined;
    this.wasm = new WebAssembly.Instance(module, { env: imported === undefined ? { abort } : { abort, memory: imported } }).exports as unknown as AsTlsf;
    this.memory = imported ?? this.wasm.memory!;
    this.u8 = new Uint8Array(this.memory.buffer);
  }
  alloc(size: number): number {
    return this.wasm.alloc(size);
  }
  free(ptr: number): void {
    this.wasm.free(ptr);
  }
  write(ptr: number, size: number, value: number): void {
    let u8 = this.u8;
    if (ptr + size > u8.length) u8 = this.u8 = new Uint8Array(this.memory.buffer);
    u8[ptr] = value;
    u8[ptr + size - 1] = value;
  }
  destroy(): void {}
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** ns/op of one fresh subject replaying `ops`. */
function timeOnce(run: typeof runOps, make: () => Subject, ops: Ops, handles: Int32Array): number {
  const subject = make();
  gc();
  const t0 = now();
  run(subject, ops.slots, ops.sizes, ops.slots.length, handles);
  const t1 = now();
  subject.destroy();
  return ((t1 - t0) * 1e6) / ops.slots.length;
}

interface Result {
  median: number;
  min: number;
}

function summarise(times: number[]): Result {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return { median: sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, min: sorted[0]! };
}

function format(r: Result): string {
  return `${r.median.toFixed(1).padStart(5)} ns/op (min ${r.min.toFixed(1).padStart(5)})`;
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const wasmPath = option("--as-tlsf");
const runs = Number(option("--runs") ?? 5);
/** Milliseconds: wall clock, or with --cpu this process's CPU time (steadier on a busy machine). */
const now: () => number = args.includes("--cpu")
  ? () => {
      const t = process.cpuUsage();
      return (t.user + t.system) / 1000;
    }
  : () => performance.now();
const asModule = wasmPath !== undefined ? new WebAssembly.Module(readFileSync(wasmPath)) : undefined;
const workloads: [string, Ops][] = [
  ["A  32 B, 10,000 live, 1M ops", steadyState(0, 10_000, 1_000_000, () => 32)],
  ["B  8..256 B, 10,000 live, 1M ops", steadyState(1, 10_000, 1_000_000, (rng) => rng.int(8, 256))],
];
/** Median and min ns/op of `runs` timed runs (after one warm-up) of fresh subjects. */
function measure(make: () => Subject, ops: Ops): Result {
  const run = compileRunner();
  const handles = new Int32Array(ops.live);
  const times: number[] = [];
  for (let r = -1; r < runs; r++) {
    const t = timeOnce(run, make, ops, handles);
    if (r >= 0) times.push(t);
  }
  return summarise(times);
}

// Order matters: once any wasm memory grows (AS TLSF grows its own unless it
// imports one), V8 drops every typed-array access in the process to a slower,
// detach-checked path. So slots run first, AS TLSF after, then slots again to
// show that cost.
const makeSlots = (): Subject => new SlotSubject();
const slotResults = workloads.map(([, ops]) => measure(makeSlots, ops));
if (asModule === undefined) {
  workloads.forEach(([title], w) => console.log(`${title.padEnd(34)} slots ${format(slotResults[w]!)}`));
} else {
  const tlsfResults = workloads.map(([, ops]) => measure(() => new AsTlsfSubject(asModule), ops));
  const grownResults = workloads.map(([, ops]) => measure(makeSlots, ops));
  workloads.forEach(([title], w) => {
    const slots = slotResults[w]!;
    const tlsf = tlsfResults[w]!;
    console.log(
      `${title.padEnd(34)} slots ${format(slots)}   as-tlsf ${format(tlsf)}   ratio ${(slots.median / tlsf.median).toFixed(2)} (min ${(slots.min / tlsf.min).toFixed(2)})`,
    );
    console.log(`${"".padEnd(34)} slots ${importsMemory(asModule) ? "again, after AS TLSF" : "after a memory.grow"} ${format(grownResults[w]!)}`);
  });
}
