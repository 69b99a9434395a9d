import { AllocatorError, LeakError, describe } from "@memkit/core";
import type { ScopeReport, TraceAllocator } from "@memkit/trace-allocator";
import { mergeLeaks } from "./leaks.js";
import type { MemoryParts, SharedParts } from "./assemble.js";

/**
 * Shutdown's steps in reverse construction order: the scope tree's report is
 * handed to `keepReport` (and the timeline's, when there is one, to
 * `keepTimeline`) first, then every scope is disposed deepest first and every
 * allocator destroyed. Each step runs even when an earlier one threw; then
 * one LeakError covering every leak is thrown, or the first other error.
 */
export function tearDown(parts: MemoryParts, keepReport: (report: ScopeReport) => void, keepTimeline: () => void): void {
  let leak: LeakError | undefined;
  let failure: Error | undefined;
  const step = (run: () => void): void => {
    try {
      run();
    } catch (err) {
      if (err instanceof LeakError) leak = leak === undefined ? err : mergeLeaks(leak, err);
      else failure ??= err instanceof Error ? err : new AllocatorError(`MemoryGlobals.shutdown: a teardown step threw ${describe(err)}.`);
    }
  };
  step(() => keepReport(parts.root.report()));
  step(keepTimeline);
  step(() => {
    disposeDeepestFirst(parts.root);
    parts.root.dispose();
  });
  step(() => parts.frame.destroy());
  step(() => parts.scratch.assertReleased());
  step(() => parts.scratch.destroy());
  step(() => {
    if (parts.timeline !== undefined) parts.pages.deallocate(parts.timeline.ptr);
  });
  // The scope tree's own state is leased from the debug layer (or generic): it goes before them.
  step(() => parts.root.destroy());
  step(() => parts.debug?.destroy());
  step(() => parts.generic.destroy());
  step(() => parts.pages.destroy());
  if (leak !== undefined) throw leak;
  if (failure !== undefined) throw failure;
}

/** Disposes every descendant scope that holds nothing, children before parents; scopes with leaks stay for the root's report. */
function disposeDeepestFirst(scope: TraceAllocator): void {
  for (const child of [...scope.children]) {
    disposeDeepestFirst(child);
    try {
      child.dispose();
    } catch (err) {
      if (!(err instanceof LeakError)) throw err;
    }
  }
}

/**
 * detach()'s steps: the blocks other threads gave back to this thread's heap
 * are collected, its frame and scratch allocators destroyed (a scratch mark
 * still held is a LeakError first), every handle it holds detached, and its
 * seat ended: its heap stays for the next thread that attaches to adopt.
 */
export function detachThread(parts: MemoryParts, threads: SharedParts): void {
  parts.generic.collectRemoteFrees();
  parts.frame.destroy();
  parts.scratch.assertReleased();
  parts.scratch.destroy();
  threads.table.setResource(threads.seat, "frame", 0);
  threads.table.setResource(threads.seat, "scratch", 0);
  parts.root.detach();
  parts.generic.detach();
  parts.pages.detach();
  threads.table.endSeat(threads.seat);
  threads.table.detach();
}
