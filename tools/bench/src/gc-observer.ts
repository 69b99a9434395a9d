import { PerformanceObserver, constants } from "node:perf_hooks";

/** GC events seen in a set of time windows. */
export interface GcCounts {
  /** All events. */
  count: number;
  /** Scavenges (young generation). */
  minor: number;
  /** Mark-compact (full) collections. */
  major: number;
  /** Incremental marking steps and weak-callback processing. */
  other: number;
  /** Total pause time of those events, in ms. */
  ms: number;
}

/**
 * Records every V8 garbage collection through `PerformanceObserver('gc')`.
 * Entries arrive asynchronously (after the synchronous loop that caused them
 * returns), so the runner notes each timed run's [start, end) on the
 * `performance.now()` clock, calls {@link flush} once the loop is done, and
 * asks {@link countIn} which events started inside those windows.
 */
export class GcObserver {
  private readonly starts: number[] = [];
  private readonly durations: number[] = [];
  private readonly kinds: number[] = [];
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.starts.push(entry.startTime);
        this.durations.push(entry.duration);
        // Node's gc entries carry { kind } in `detail` (the DOM typing of PerformanceEntry does not know it).
        this.kinds.push((entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0);
      }
    });
    this.observer.observe({ entryTypes: ["gc"] });
  }

  /** Lets pending GC entries reach the observer (they are delivered on a later macrotask). */
  async flush(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Events that started inside any of the `[start, end)` windows (pairs, in ms). */
  countIn(windows: readonly (readonly [number, number])[]): GcCounts {
    const c: GcCounts = { count: 0, minor: 0, major: 0, other: 0, ms: 0 };
    for (let i = 0; i < this.starts.length; i++) {
      const t = this.starts[i]!;
      if (!windows.some(([a, b]) => t >= a && t < b)) continue;
      c.count++;
      c.ms += this.durations[i]!;
      const kind = this.kinds[i]!;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) c.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) c.major++;
      else c.other++;
    }
    return c;
  }

  /** Forgets recorded events (between workloads, to keep the lists short). */
  clear(): void {
    this.starts.length = 0;
    this.durations.length = 0;
    this.kinds.length = 0;
  }

  /** Stops observing. */
  disconnect(): void {
    this.observer.disconnect();
  }
}

/** Forces a full collection when node runs with --expose-gc; returns whether it could. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  return true;
}
