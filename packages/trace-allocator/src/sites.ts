import type { LabelTally } from "./labels.js";

/*
 * A site is one (scope, call stack, label) triple: a call stack seen at
 * "callstacks" level, a block label (labels.ts), or both. It sums the bytes
 * and blocks live from that triple and every allocation event, and
 * remembers what it held when each enclosing scope's subtree last peaked.
 *
 * Peak snapshots without copying: each scope row has an epoch that goes up
 * whenever its subtree total reaches a new peak (or the peak is reset). A site
 * keeps, per enclosing scope k, the epoch at which it last changed (touched[k])
 * and its value just before that change (saved*[k]). When a site changes for
 * the first time in a new epoch it saves its old value, which is exactly its
 * value at that peak. So its value at scope k's peak is `saved[k]` when it was
 * touched in the current epoch, else its live value: O(depth) per change, no
 * walk over all sites at each new peak.
 */

/** One (scope, call stack, label) triple: live and cumulative sums plus peak snapshots per enclosing scope. */
export class Site {
  liveBytes = 0;
  liveCount = 0;
  /** Bytes and count of every allocate/reallocate that landed here. */
  eventBytes = 0;
  eventCount = 0;
  /** True once its scope is disposed: kept only while blocks or a peak snapshot still need it. */
  orphan = false;
  /** Rows of the scope and its ancestors (innermost first) and their generations at creation. */
  readonly chainRows: Int32Array;
  readonly chainGens: Int32Array;
  readonly touched: Float64Array;
  readonly savedBytes: Float64Array;
  readonly savedCount: Float64Array;

  constructor(
    readonly id: number,
    /** Scope path when created (kept after the scope is disposed). */
    readonly path: string,
    /** Interned stack id (0: allocations of the scope that were not sampled, or at "counts"). */
    readonly stack: number,
    /** Label id (0: none). */
    readonly label: number,
    /** The tally of the label in the site's scope (undefined without a label). */
    readonly tally: LabelTally | undefined,
    rows: number[],
    gens: number[],
  ) {
    this.chainRows = Int32Array.from(rows);
    this.chainGens = Int32Array.from(gens);
    this.touched = new Float64Array(rows.length).fill(-1);
    this.savedBytes = new Float64Array(rows.length);
    this.savedCount = new Float64Array(rows.length);
  }

  /** Index of (row, gen) in the chain, or -1 when the site is outside that scope's subtree. */
  indexOf(row: number, gen: number): number {
    for (let k = 0; k < this.chainRows.length; k++) if (this.chainRows[k] === row && this.chainGens[k] === gen) return k;
    return -1;
  }

  /** What the site held at the current peak of chain entry k, whose scope is at `epoch`. */
  atPeak(k: number, epoch: number, metric: "bytes" | "count"): number {
    if (this.touched[k] === epoch) return metric === "bytes" ? this.savedBytes[k]! : this.savedCount[k]!;
    return metric === "bytes" ? this.liveBytes : this.liveCount;
  }
}
