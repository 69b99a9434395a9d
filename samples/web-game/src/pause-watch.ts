/*
 * What a page can observe of garbage-collection pauses. A page has no GC
 * events (Node's perf_hooks "gc" entries do not exist in browsers), so this
 * counts the three things it can see, and the overlay names them as such:
 * - long tasks: PerformanceObserver "longtask" entries, main-thread tasks of
 *   50 ms or more, whatever caused them (Chromium only);
 * - frame gaps: animation frames that came more than FRAME_GAP_MS after the
 *   previous one (a pause, or a slow frame, or a hidden tab);
 * - JS heap drops: performance.memory.usedJSHeapSize going down between two
 *   frames, which only a collection does (Chromium only; the figure is coarse,
 *   so small collections may not show, and the page's own garbage — the
 *   overlay's text, the browser's — is collected too).
 */

/** A frame this much later than the previous one counts as a gap (three frames at 60 Hz). */
export const FRAME_GAP_MS = 50;

/** Counts since the watch was (re)started. */
export interface PauseCounts {
  longTasks: number;
  longTaskMs: number;
  /** False when the browser has no "longtask" entries. */
  longTasksObserved: boolean;
  frameGaps: number;
  /** The longest time between two frames seen. */
  worstGapMs: number;
  heapDrops: number;
  /** Bytes the drops took off the JS heap. */
  heapDroppedBytes: number;
  /** Current JS heap in use; undefined without performance.memory. */
  heapUsedBytes: number | undefined;
}

interface ChromeMemory {
  usedJSHeapSize: number;
}

/** Watches long tasks, frame gaps and JS heap drops; call frame(now) once per animation frame. */
export class PauseWatch {
  readonly counts: PauseCounts;
  #observer: PerformanceObserver | undefined;
  #lastFrame = -1;
  #lastHeap = -1;

  constructor() {
    const observed = typeof PerformanceObserver === "function" && PerformanceObserver.supportedEntryTypes.includes("longtask");
    this.counts = { longTasks: 0, longTaskMs: 0, longTasksObserved: observed, frameGaps: 0, worstGapMs: 0, heapDrops: 0, heapDroppedBytes: 0, heapUsedBytes: undefined };
    if (observed) {
      this.#observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          this.counts.longTasks++;
          this.counts.longTaskMs += entry.duration;
        }
      });
      this.#observer.observe({ type: "longtask" });
    }
  }

  /** Starts counting again (a new game); the observer keeps running. */
  reset(): void {
    const c = this.counts;
    c.longTasks = c.longTaskMs = c.frameGaps = c.worstGapMs = c.heapDrops = c.heapDroppedBytes = 0;
    this.#lastFrame = -1;
    this.#lastHeap = -1;
  }

  /** One animation frame at time `now` (the requestAnimationFrame timestamp). */
  frame(now: number): void {
    const c = this.counts;
    if (this.#lastFrame >= 0) {
      const gap = now - this.#lastFrame;
      if (gap > FRAME_GAP_MS) c.frameGaps++;
      if (gap > c.worstGapMs) c.worstGapMs = gap;
    }
    this.#lastFrame = now;
    const memory = (performance as Performance & { memory?: ChromeMemory }).memory;
    if (memory !== undefined) {
      const used = memory.usedJSHeapSize;
      if (this.#lastHeap >= 0 && used < this.#lastHeap) {
        c.heapDrops++;
        c.heapDroppedBytes += this.#lastHeap - used;
      }
      this.#lastHeap = used;
      c.heapUsedBytes = used;
    }
  }

  /** A frame gap not to count (the game was paused or restarted in between). */
  skipGap(): void {
    this.#lastFrame = -1;
  }

  dispose(): void {
    this.#observer?.disconnect();
  }
}
