import { collectGarbage } from "./gc-observer.js";
import type { GcCounts, GcObserver } from "./gc-observer.js";
import type { Subject, SubjectFactory, SubjectSizing } from "./subjects/subject.js";
import { liveProfile, liveSlotsAfter } from "./workloads.js";
import type { Workload } from "./workloads.js";

/**
 * The timed loop: replays an op sequence against one subject. Every
 * allocation (and reallocation) writes its first and last byte, so each
 * pointer is really used. Allocates nothing on the JS heap itself.
 *
 * It must not reference anything outside its parameters: {@link compileRunner}
 * recompiles its source text for each subject and workload.
 */
export function runOps(subject: Subject, slots: Int32Array, sizes: Int32Array, count: number, handles: Int32Array): void {
  for (let i = 0; i < count; i++) {
    const n = sizes[i]!;
    const s = slots[i]!;
    if (n > 0) {
      const h = subject.alloc(n);
      subject.write(h, n, i);
      handles[s] = h;
    } else if (n === 0) {
      subject.free(handles[s]!);
    } else {
      const h = subject.realloc(handles[s]!, -n);
      subject.write(h, -n, i);
      handles[s] = h;
    }
  }
}

/**
 * The trace loop: {@link runOps} plus what recorded programs ask for, read
 * from `flags` on allocations only: zeroing (calloc; the subject's zero(),
 * see Subject.zero) and alignment (allocAligned). Kept apart
 * from runOps so the synthetic workloads' loop does not carry the branch.
 * Like runOps, it must not reference anything outside its parameters.
 */
export function runTraceOps(subject: Subject, slots: Int32Array, sizes: Int32Array, flags: Uint8Array, count: number, handles: Int32Array): void {
  for (let i = 0; i < count; i++) {
    const n = sizes[i]!;
    const s = slots[i]!;
    if (n > 0) {
      const f = flags[i]!;
      let h: number;
      if (f === 0) h = subject.alloc(n);
      else {
        h = (f & 0x1f) === 0 ? subject.alloc(n) : subject.allocAligned(n, 1 << (f & 0x1f));
        if ((f & 0x80) !== 0) subject.zero(h, n);
      }
      subject.write(h, n, i);
      handles[s] = h;
    } else if (n === 0) {
      subject.free(handles[s]!);
    } else {
      const h = subject.realloc(handles[s]!, -n);
      subject.write(h, -n, i);
      handles[s] = h;
    }
  }
}

/** Numbers the copies (see {@link compileRunner}). */
let copies = 0;

/**
 * A private copy of {@link runOps}. One shared loop would see every subject's
 * class at its `subject.alloc` call site, go megamorphic and stop inlining,
 * which adds a few ns to every op and compresses the ratios between fast
 * subjects. Closures of one function literal share V8's feedback and
 * optimised code, so the copy is compiled from the source text instead —
 * and each copy's text ends in its own number: V8's compilation cache gives
 * equal source texts one SharedFunctionInfo, and with it one cache of
 * on-stack-replacement code, so every copy entered the loop in code built
 * for another subject ("wrong map" deopts), and the more subjects a process
 * ran, the slower every row (docs/perf-log.md, round 4 of #15).
 */
export function compileRunner(): typeof runOps {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- deliberate: a fresh function per subject (see above); the source is our own runOps.
  const make = new Function(`return (${runOps.toString()});\n// copy ${++copies}`) as () => typeof runOps;
  return make();
}

/** A private copy of {@link runTraceOps}, for the same reason as {@link compileRunner}. */
export function compileTraceRunner(): typeof runTraceOps {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- deliberate: a fresh function per subject (see compileRunner); the source is our own runTraceOps.
  const make = new Function(`return (${runTraceOps.toString()});\n// copy ${++copies}`) as () => typeof runTraceOps;
  return make();
}

/** What one subject did on one workload. */
export interface SubjectRun {
  /** Ops replayed per run (a prefix of the sequence when capped). */
  ops: number;
  /** True when the op count was capped for an O(n) subject. */
  capped: boolean;
  /** Median ns/op over the timed runs. */
  nsPerOp: number;
  /** ns/op of each timed run, in run order. */
  runsNsPerOp: number[];
  /** GC events during the timed runs (all runs together). */
  gc: GcCounts;
  /** Highest footprint seen in the measuring pass, bytes. */
  peakFootprint: number;
  /** Highest sum of live block sizes in the replayed ops, bytes. */
  peakLiveBytes: number;
  /** Blocks whose first/last byte did not survive until free/realloc, or that were misaligned or not zeroed as asked, in the measuring pass (must be 0). */
  verifyErrors: number;
}

/** How long to warm up (see {@link SubjectBench.warmUp}). */
export interface WarmUpPlan {
  /** At least this many untimed runs (0: no warm-up at all). */
  runs: number;
  /** Keep warming up while fewer ops than this were replayed... */
  minOps: number;
  /** ...and this many ms have not passed. */
  maxMs: number;
}

/**
 * The warm-up of a full bench: 1+ runs, more until 5,000,000 ops or 1.5 s.
 * With one run of A's 1M ops, the first one or two timed runs were still
 * 2x slower than the rest (V8 was still deoptimising and recompiling the
 * allocators' paths as the steady state reached them); after ~5 runs every
 * subject's runs agree within a few percent (docs/perf-log.md).
 */
export const FULL_WARMUP: WarmUpPlan = { runs: 1, minOps: 5_000_000, maxMs: 1500 };

/** How many runs. */
export interface RunPlan {
  /** Untimed runs first, so the loop and the subject are optimised. */
  warmup: WarmUpPlan;
  /** Timed runs; the median is reported. */
  runs: number;
}

/**
 * One subject on one workload, run by run. All runs replay the sequence on
 * one subject, created before the warm-up: every sequence ends with its blocks
 * freed (a capped prefix is drained, untimed, after each run), so each run
 * starts from an empty but warmed allocator, the steady state an engine sees.
 * A fresh subject per run would mostly time the OS faulting in fresh pages
 * (E: ~10 us/op instead of ~0.3 us/op for AS TLSF); only subjects that do not
 * return to empty get one ({@link SubjectFactory.freshEachRun}). The footprint
 * is measured apart, on a fresh subject. Each timed run starts from a
 * collected heap.
 *
 * The caller interleaves the runs of all subjects of a workload (run 1 of
 * each, then run 2 of each, ...), so a burst of load from elsewhere on a
 * shared machine lands on every subject alike instead of on one.
 */
/** What a timed run's duration is measured with (`--clock`). */
export type BenchClock = "wall" | "cpu";

/** Milliseconds of this process's CPU time (user + system, all threads). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}


export class SubjectBench {
  /** Ops replayed per run. */
  readonly count: number;
  private readonly factory: SubjectFactory;
  private readonly workload: Workload;
  private readonly sizing: SubjectSizing;
  private readonly peakOp: number;
  private readonly liveAtEnd: Int32Array;
  private readonly run = compileRunner();
  private readonly runTrace: typeof runTraceOps | undefined;
  private readonly handles: Int32Array;
  private readonly gc: GcObserver;
  private readonly runsNsPerOp: number[] = [];
  private readonly windows: [number, number][] = [];
  private subject: Subject | undefined;

  private readonly clock: BenchClock;

  /** Replay once, untimed, right before each timed run (see {@link runOnce}). */
  private readonly primed: boolean;

  constructor(factory: SubjectFactory, workload: Workload, cap: number | undefined, gc: GcObserver, clock: BenchClock = "wall", primed = false) {
    const { ops } = workload;
    this.clock = clock;
    this.primed = primed && factory.freshEachRun !== true;
    this.factory = factory;
    this.workload = workload;
    this.gc = gc;
    this.count = cap === undefined ? ops.count : Math.min(cap, ops.count);
    const profile = liveProfile(ops, this.count);
    this.sizing = { workload: workload.id, maxLive: profile.maxLive, peakLiveBytes: profile.peakLiveBytes, maxSize: profile.maxSize };
    this.peakOp = profile.peakOp;
    this.liveAtEnd = liveSlotsAfter(ops, this.count);
    this.handles = new Int32Array(ops.slotCount);
    this.runTrace = ops.flags ? compileTraceRunner() : undefined;
  }

  /**
   * Untimed runs until the loop and the subject are optimised: at least
   * `plan.runs` runs, and more while fewer than `plan.minOps` ops were
   * replayed and `plan.maxMs` has not passed (E is only 14,000 ops a run; one
   * run leaves V8 still compiling its call chain). Returns the runs made.
   */
  async warmUp(plan: WarmUpPlan): Promise<number> {
    const start = performance.now();
    let runs = 0;
    while (runs < plan.runs || (runs > 0 && runs * this.count < plan.minOps && performance.now() - start < plan.maxMs)) {
      await this.runOnce(false);
      runs++;
    }
    return runs;
  }

  /**
   * One run; a timed run's ns/op and time window are kept. After a throw the
   * bench is unusable. `gate` runs after the collection, right before the
   * clock starts (the threads bench waits there for the other workers, so
   * their timed loops overlap).
   *
   * Primed (the main bench): a timed run comes right after an untimed replay
   * of the same ops, with no wait between them. The wait for GC entries
   * leaves the core idle for a few ms, and on a virtual machine the run
   * after an idle gap is slower for tens of ms (its memory traffic most);
   * short runs then measured the gap as much as the allocator and every
   * ratio moved towards 1 (docs/perf-log.md, round 4 of #15).
   */
  async runOnce(timed: boolean, gate?: () => void): Promise<void> {
    const subject = (this.subject ??= this.factory.create(this.sizing));
    collectGarbage();
    await this.gc.flush();
    if (timed && this.primed) {
      this.replay(subject);
      this.freeLiveAtEnd(subject);
    }
    gate?.();
    const c0 = this.clock === "cpu" ? cpuMs() : 0;
    const t0 = performance.now();
    this.replay(subject);
    const t1 = performance.now();
    const c1 = this.clock === "cpu" ? cpuMs() : 0;
    if (timed) {
      this.runsNsPerOp.push((((this.clock === "cpu" ? c1 - c0 : t1 - t0)) * 1e6) / this.count);
      this.windows.push([t0, t1]);
    }
    if (this.factory.freshEachRun === true) {
      this.subject = undefined;
      subject.destroy();
    } else {
      this.freeLiveAtEnd(subject);
    }
  }

  /** Frees what a replay left live, so the next one starts from the same state. */
  private freeLiveAtEnd(subject: Subject): void {
    for (let k = 0; k < this.liveAtEnd.length; k++) subject.free(this.handles[this.liveAtEnd[k]!]!);
  }

  /** The ops once on `subject`; a throw destroys it (the bench is then unusable). */
  private replay(subject: Subject): void {
    const { slots, sizes, flags } = this.workload.ops;
    try {
      if (flags && this.runTrace) this.runTrace(subject, slots, sizes, flags, this.count, this.handles);
      else this.run(subject, slots, sizes, this.count, this.handles);
    } catch (error) {
      this.subject = undefined;
      subject.destroy();
      throw error;
    }
  }

  /** Each timed run's [start, end) on this thread's `performance.now()` clock, in run order. */
  get timedWindows(): readonly (readonly [number, number])[] {
    return this.windows;
  }

  /** Counts the GC events of the timed runs, runs the measuring pass, and returns the result. */
  async finish(): Promise<SubjectRun> {
    this.subject?.destroy();
    this.subject = undefined;
    await this.gc.flush();
    const gcCounts = this.gc.countIn(this.windows);
    // Array buffers of the runs above are released by a background sweeper after
    // the collection; settle it so a footprint baseline taken now is not inflated.
    collectGarbage();
    await this.gc.flush();
    collectGarbage();
    const measured = measurePass(this.factory, this.sizing, this.workload, this.count, this.peakOp);
    return {
      ops: this.count,
      capped: this.count < this.workload.ops.count,
      nsPerOp: median(this.runsNsPerOp),
      runsNsPerOp: [...this.runsNsPerOp],
      gc: gcCounts,
      peakFootprint: measured.peakFootprint,
      peakLiveBytes: this.sizing.peakLiveBytes,
      verifyErrors: measured.verifyErrors,
    };
  }
}

/** Runs one subject on one workload by itself: warm-ups, timed runs, measuring pass. */
export async function runSubject(factory: SubjectFactory, workload: Workload, cap: number | undefined, plan: RunPlan, gc: GcObserver): Promise<SubjectRun> {
  const bench = new SubjectBench(factory, workload, cap, gc, "wall", true);
  await bench.warmUp(plan.warmup);
  for (let r = 0; r < plan.runs; r++) await bench.runOnce(true);
  const result = await bench.finish();
  gc.clear();
  return result;
}

/**
 * The untimed pass: replays the same ops, tags each block's first and last
 * byte with a per-block value and checks them before every free and after
 * every realloc (so overlapping or clobbered blocks are counted), and samples
 * the footprint after every allocation — or only at the live peak for
 * subjects whose footprint() is expensive.
 */
function measurePass(factory: SubjectFactory, sizing: SubjectSizing, workload: Workload, count: number, peakOp: number): { peakFootprint: number; verifyErrors: number } {
  const { slots, sizes, slotCount, flags } = workload.ops;
  const subject = factory.createForMeasuring?.(sizing) ?? factory.create(sizing);
  const handles = new Int32Array(slotCount);
  const blockSize = new Int32Array(slotCount);
  const tag = new Uint8Array(slotCount);
  const atPeakOnly = factory.footprintAtPeakOnly === true;
  const check = factory.blocksAlias !== true;
  const checkAlign = check && factory.handlesAreIndexes !== true;
  let peakFootprint = 0;
  let verifyErrors = 0;
  const intact = (s: number): boolean => {
    const h = handles[s]!;
    const n = blockSize[s]!;
    return subject.read(h, 0) === tag[s] && subject.read(h, n - 1) === tag[s];
  };
  try {
    for (let i = 0; i < count; i++) {
      const n = sizes[i]!;
      const s = slots[i]!;
      if (n === 0) {
        if (check && !intact(s)) verifyErrors++;
        subject.free(handles[s]!);
        continue;
      }
      let h: number;
      if (n > 0) {
        const f = flags?.[i] ?? 0;
        const align = 1 << (f & 0x1f);
        h = align > 1 ? subject.allocAligned(n, align) : subject.alloc(n);
        if (checkAlign && h % align !== 0) verifyErrors++;
        if ((f & 0x80) !== 0) {
          subject.zero(h, n);
          if (check && (subject.read(h, 0) !== 0 || subject.read(h, n - 1) !== 0)) verifyErrors++;
        }
      } else {
        if (check && !intact(s)) verifyErrors++;
        const oldSize = blockSize[s]!;
        h = subject.realloc(handles[s]!, -n);
        // The kept prefix must still hold the old first byte and, when growing, the old last byte.
        if (check && (subject.read(h, 0) !== tag[s] || (-n >= oldSize && subject.read(h, oldSize - 1) !== tag[s]))) verifyErrors++;
      }
      const size = n > 0 ? n : -n;
      const value = (i * 31 + 17) & 255;
      handles[s] = h;
      blockSize[s] = size;
      tag[s] = value;
      subject.write(h, size, value);
      if (!atPeakOnly) peakFootprint = Math.max(peakFootprint, subject.footprint());
      else if (i === peakOp) peakFootprint = subject.footprint();
    }
  } finally {
    subject.destroy();
  }
  return { peakFootprint, verifyErrors };
}

/** The median (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
