import { InvalidArgumentError, LeakError, describe, type Ptr } from "@memkit/core";
import { collectLeaks, formatLeakMessage } from "./leaks.js";
import { retainBlock, unretainBlock } from "./scope-changes.js";
import { SharedBlocks } from "./shared-blocks.js";
import { closeScopes } from "./teardown.js";
import { freeTree } from "./tree-control.js";
import { parentOf } from "./tree-view.js";
import type { RetainedBlock, TraceLeakReport } from "./types.js";

/**
 * The lifetime half of a scope handle: blocks kept on purpose (retain) and
 * the ends of a scope (dispose, disposeAllowingLeaks), of a tree (destroy)
 * and of a handle (detach). The tree half (trace-allocator.ts) extends it.
 */
export abstract class ScopeLifetime extends SharedBlocks implements Disposable {
  /** The root of this scope's tree. */
  abstract get root(): { readonly path: string };

  // ---------------------------------------------------------- retained blocks

  /**
   * Marks a live block of this scope as kept on purpose (a global cache, a
   * singleton): it stays counted in `liveBytes` but is listed apart and never
   * reported as a leak. When this scope is disposed the block is adopted by
   * the parent scope; it can still be freed through this scope or the owner.
   */
  retain(ptr: Ptr, reason?: string): void {
    this.enterAll();
    try {
      this.#ownRecord(ptr, "retain");
      retainBlock(this, this.row, ptr, reason, (p) => this.#ownRecord(p, "retain"));
    } finally {
      this.leave();
    }
  }

  /** Undoes {@link retain}: the block counts as a leak again if still live at dispose. */
  unretain(ptr: Ptr): void {
    this.enterAll();
    try {
      unretainBlock(this, this.row, this.#ownRecord(ptr, "unretain"));
    } finally {
      this.leave();
    }
  }

  /** Retained blocks owned by this scope's subtree (including those adopted from disposed children). */
  retainedBlocks(): RetainedBlock[] {
    this.enter();
    try {
      if (!this.alive) throw this.endedError("retainedBlocks");
      return collectLeaks(this, this.row, this.gen, this.path).retained;
    } finally {
      this.leave();
    }
  }

  #ownRecord(ptr: Ptr, op: string): number {
    if (this.off) throw new InvalidArgumentError(`${this.path}: ${op} needs tracing "counts" or "callstacks"; this scope is "off".`);
    if (!this.isOpen()) throw this.disposedError(op);
    return this.ownLive(ptr, op);
  }

  // ---------------------------------------------------------------- teardown

  /**
   * Ends the scope, for every handle on it. Throws LeakError (nothing
   * changes; fix and call again) when it still holds blocks not retained, or
   * has live child scopes; the message names the scope path, the count and
   * bytes, and up to 20 blocks with their call stacks; `error.report` holds
   * the full list. On success, retained blocks are adopted by the parent and
   * the name is free again. Calling it again is a no-op.
   */
  dispose(): void {
    this.enterAll();
    try {
      if (!this.alive || !this.isOpen()) return;
      const report = collectLeaks(this, this.row, this.gen, this.path);
      if (report.count > 0 || report.liveScopes.length > 0) {
        throw new LeakError(formatLeakMessage(report), report);
      }
      this.#close(undefined);
    } finally {
      this.leave();
    }
  }

  /**
   * On the root: ends the whole tree. Its state goes back to the backing, its
   * control block is retired (an attach to it is refused), and every handle
   * this thread holds on it throws DestroyedError from then on. Call once
   * after the last use of the tree, e.g. after `dispose()` at shutdown.
   * Blocks still live stay with the backing. Throws InvalidArgumentError on a child.
   */
  destroy(): void {
    this.enterAll();
    try {
      if (this.row !== 0) {
        throw new InvalidArgumentError(`${this.path}: destroy() is for the root of a tree (${this.root.path}); dispose() ends a child scope.`);
      }
      if (!this.alive) return;
      freeTree(this, this.controlPtr);
      this.end("destroyed");
    } finally {
      this.leave();
    }
  }

  /**
   * Ends this handle only; the tree and its blocks live on. On the handle a
   * link began with (`new TraceAllocator` or `attach`), every scope handle
   * reached from it ends too. Calls after it throw DestroyedError.
   */
  detach(): void {
    if (!this.alive) return;
    if (this.link.root === this) for (const handle of this.link.handles.values()) if (handle !== this) (handle as unknown as ScopeLifetime).end("detached");
    this.end("detached");
  }

  /** `using scope = root.child("level")` disposes (and leak-checks) at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The escape hatch for code you cannot fix (third-party libraries): ends
   * the scope and its live children, tolerating up to `maxBytes` of leaked
   * blocks, which the parent adopts as retained ("allowed leak"). Returns the
   * report of what was tolerated. More than `maxBytes` throws LeakError and
   * changes nothing.
   */
  disposeAllowingLeaks(maxBytes: number): TraceLeakReport {
    this.enterAll();
    try {
      if (typeof maxBytes !== "number" || Number.isNaN(maxBytes) || maxBytes < 0) {
        throw new InvalidArgumentError(`${this.path}: disposeAllowingLeaks(maxBytes) expects a byte count >= 0 (Infinity for any), received ${describe(maxBytes)}.`);
      }
      if (!this.alive) throw this.endedError("disposeAllowingLeaks");
      const report = collectLeaks(this, this.row, this.gen, this.path);
      if (!this.isOpen()) return report;
      if (report.bytes > maxBytes) {
        throw new LeakError(formatLeakMessage(report, maxBytes), report);
      }
      this.#close("allowed leak");
      return report;
    } finally {
      this.leave();
    }
  }

  /** Disposes this scope and every live descendant: their blocks go to the parent (the root keeps its own). */
  #close(reason: string | undefined): void {
    const heir = this.row === 0 ? 0 : parentOf(this, this.row);
    closeScopes(this, this.row, heir, reason);
  }
}
