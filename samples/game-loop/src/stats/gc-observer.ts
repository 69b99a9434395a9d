import { PerformanceObserver, constants, type PerformanceEntry } from "node:perf_hooks";

/** Garbage collections seen in a time window. */
export interface GcSummary {
  /** Every collection. */
  count: number;
  /** Young-generation collections (scavenges). */
  minor: number;
  /** Full mark-sweep-compact collections. */
  major: number;
  /** Incremental marking steps and weak-callback processing. */
  other: number;
  /** Total pause time reported (ms). */
  pauseMs: number;
}

/**
 * Records every garbage collection V8 reports through `PerformanceObserver`
 * ('gc' entries from node:perf_hooks), with its start time, so a stage can
 * count the collections that started inside it. Entries are delivered after
 * the synchronous frame loop returns; {@link flush} collects them.
 */
export class GcObserver implements Disposable {
  readonly #entries: PerformanceEntry[] = [];
  readonly #observer: PerformanceObserver;

  constructor() {
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.#entries.push(entry);
    });
    this.#observer.observe({ entryTypes: ["gc"] });
  }

  /** Lets pending entries arrive (one turn of the event loop), then takes what is still buffered. */
  async flush(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const entry of this.#observer.takeRecords()) this.#entries.push(entry);
  }

  /** Collections that started in `[start, end]` (performance.now() times). Call {@link flush} first. */
  between(start: number, end: number): GcSummary {
    const summary: GcSummary = { count: 0, minor: 0, major: 0, other: 0, pauseMs: 0 };
    for (const entry of this.#entries) {
      if (entry.startTime < start || entry.startTime > end) continue;
      summary.count++;
      summary.pauseMs += entry.duration;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } | null }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) summary.minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) summary.major++;
      else summary.other++;
    }
    return summary;
  }

  [Symbol.dispose](): void {
    this.#observer.disconnect();
  }
}
