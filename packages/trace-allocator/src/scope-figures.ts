import { InvalidArgumentError, describe } from "@memkit/core";
import { budgetOf, writeBudget } from "./budgets.js";
import { foldStacks } from "./folded-stacks.js";
import { laneOverhead } from "./lanes.js";
import { S_STAGE, W_FRAME, W_META_BLOCKS, W_META_BYTES, W_NEXT_STACK } from "./layout.js";
import { parseBudget } from "./options.js";
import { pathOfSerial, sampleRows } from "./row-samples.js";
import { resetPeaks } from "./scope-changes.js";
import { ScopeLifetime } from "./scope-lifetime.js";
import { readString } from "./strings.js";
import { rowWord } from "./tree-view.js";
import type { BudgetOptions, FoldedStacksOptions } from "./types.js";

/*
 * The figures half of a scope handle: the tree's frame number, stages and
 * peaks, budgets, and what the tree's tools read (row samples for
 * timelines, folded stacks, its own overhead). The tree half
 * (trace-allocator.ts: children, paths, reports) extends it.
 */
export abstract class ScopeFigures extends ScopeLifetime {
  /** Call stacks the tree has interned (a million allocations from fifty sites keep fifty). */
  get uniqueStacks(): number {
    return this.alive ? this.u32[this.cw + W_NEXT_STACK]! - 1 : 0;
  }

  /** Blocks and bytes the tree's own state takes from its backing (control block, records, rows, strings, ...). */
  get overhead(): { blocks: number; bytes: number } {
    if (!this.alive) return { blocks: 0, bytes: 0 };
    const lanes = laneOverhead(this);
    return { blocks: this.u32[this.cw + W_META_BLOCKS]! + lanes.blocks, bytes: this.u32[this.cw + W_META_BYTES]! + lanes.bytes };
  }

  /** Sets the tree's frame number (peaks and blocks record it); a shared tree folds its lanes in first, into the frame that ends. */
  markFrame(frame: number): void {
    if (!this.alive) throw this.endedError("markFrame");
    if (!Number.isSafeInteger(frame) || frame < 0 || frame > 0x7fffffff) {
      throw new InvalidArgumentError(`${this.path}: markFrame expects an integer frame number from 0 to 2^31-1, received ${describe(frame)}.`);
    }
    this.enterCounts();
    try {
      this.u32[this.cw + W_FRAME] = frame;
    } finally {
      this.leave();
    }
  }

  /** The tree's current frame number (see {@link markFrame}). */
  get frame(): number {
    return this.alive ? this.u32[this.cw + W_FRAME]! : 0;
  }

  // ---------------------------------------------------------------- budgets

  /**
   * Sets (or with `undefined` removes) the byte budget of this scope's
   * subtree. A budget below the current use is allowed: the next allocation
   * that grows the subtree fails (or warns). Re-arms a `"warn"` budget.
   */
  setBudget(budget: number | BudgetOptions | undefined): void {
    this.enterCounts();
    try {
      if (!this.isOpen()) throw this.disposedError("setBudget");
      writeBudget(this, this.row, budget === undefined ? undefined : parseBudget(this.path, budget));
    } finally {
      this.leave();
    }
  }

  /** The subtree budget in bytes, if any. */
  get budgetBytes(): number | undefined {
    this.enter();
    try {
      return this.alive && this.here() ? budgetOf(this, this.row)?.bytes : undefined;
    } finally {
      this.leave();
    }
  }
  // ------------------------------------------------------------------ peaks

  /**
   * Starts a new stage for this scope and its whole subtree: every peak
   * becomes the current use (so the next `report()` shows the heaviest moment
   * of this stage), "warn" budgets are re-armed, and `stage` labels it.
   */
  resetPeak(stage?: string): void {
    this.enterCounts();
    try {
      if (stage !== undefined && typeof stage !== "string") {
        throw new InvalidArgumentError(`${this.path}: resetPeak(stage) expects a string label, received ${describe(stage)}.`);
      }
      if (!this.alive) throw this.endedError("resetPeak");
      if (!this.here()) return;
      resetPeaks(this, this.row, this.gen, stage);
    } finally {
      this.leave();
    }
  }

  /** Label of the current stage (the last `resetPeak(stage)`), if any. */
  get stage(): string | undefined {
    this.enter();
    try {
      if (!this.alive || !this.here()) return undefined;
      const off = this.u32[rowWord(this, this.row) + S_STAGE]!;
      return off === 0 ? undefined : readString(this, off);
    } finally {
      this.leave();
    }
  }

  /** Cold, no JS objects: every scope row's counters into `out` for timelines (row-samples.ts). Returns the rows ever used. */
  sampleRows(out: Float64Array): number {
    this.enterCounts();
    try {
      if (!this.alive) throw this.endedError("sampleRows");
      return sampleRows(this, out);
    } finally {
      this.leave();
    }
  }

  /** The path of the scope `sampleRows` saw in `row` with serial `serial`, or undefined once that row holds another scope. */
  pathOfRow(row: number, serial: number): string | undefined {
    this.enter();
    try {
      return this.alive ? pathOfSerial(this, row, serial) : undefined;
    } finally {
      this.leave();
    }
  }

  /**
   * Folded stacks (`root;physics;step (physics.ts:12) 4096` lines) for
   * flame-graph tools (speedscope, inferno, flamegraph.pl): scope path first,
   * then call frames outermost first. Values sum to the selection's total;
   * blocks without a stack end at their scope's frame.
   */
  foldedStacks(options: FoldedStacksOptions = {}): string {
    this.enterAll();
    try {
      if (!this.alive) throw this.endedError("foldedStacks");
      return foldStacks(this, { row: this.row, gen: this.gen, path: this.path }, options);
    } finally {
      this.leave();
    }
  }
}
