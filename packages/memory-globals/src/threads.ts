import { THREAD_SLOTS, ThreadState, formatBytes, formatCount, threadStateName, type Ptr, type ThreadSeat, type ThreadTable } from "@memkit/core";
import type { TraceAllocator } from "@memkit/trace-allocator";

/*
 * The thread table seen from MemoryGlobals: per-thread figures for reports,
 * declaring a terminated worker, and who else is still attached.
 */

/** One thread of a shared memory, for reports. */
export interface ThreadReport {
  name: string;
  /** "live", "ended" (detached; its heap waits to be adopted) or "dead" (declared ended with threadEnded). */
  state: string;
  /** Bytes (sizes asked for) of live blocks this thread allocated — whichever thread frees them — and their high-water mark. */
  liveBytes: number;
  peakLiveBytes: number;
  /** Blocks this thread allocated, ever, and of those, freed (by any thread). */
  allocCount: number;
  freeCount: number;
  /** This thread's live blocks per scope (the scopes where it has some). */
  scopes: ThreadScopeShare[];
}

/** A thread's live blocks in one scope. */
export interface ThreadScopeShare {
  path: string;
  liveBytes: number;
  liveCount: number;
}

/**
 * Every claimed slot's figures, in slot order, with each thread's live blocks
 * per scope: one walk over the scope tree's live blocks, each attributed to
 * the thread whose heap holds it (`threadOf`). O(live blocks): a report, not
 * a frame-time call.
 */
export function threadFigures(table: ThreadTable, root: TraceAllocator, threadOf: (ptr: Ptr) => number): ThreadReport[] {
  const shares = new Map<number, Map<string, ThreadScopeShare>>();
  root.forEachLiveBlock((ptr, size, scope) => {
    const slot = threadOf(ptr);
    let byScope = shares.get(slot);
    if (byScope === undefined) shares.set(slot, (byScope = new Map<string, ThreadScopeShare>()));
    let share = byScope.get(scope);
    if (share === undefined) byScope.set(scope, (share = { path: scope, liveBytes: 0, liveCount: 0 }));
    share.liveBytes += size;
    share.liveCount++;
  });
  const out: ThreadReport[] = [];
  for (let slot = 0; slot < THREAD_SLOTS; slot++) {
    const state = table.stateOf(slot);
    if (state === ThreadState.FREE) continue;
    const f = table.figuresOf(slot);
    const scopes = [...(shares.get(slot)?.values() ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    out.push({
      name: table.nameOf(slot),
      state: threadStateName(state).toLowerCase(),
      liveBytes: f.liveBytes,
      peakLiveBytes: f.peakLiveBytes,
      allocCount: f.allocCount,
      freeCount: f.freeCount,
      scopes,
    });
  }
  return out;
}

/** The thread figures as aligned text, after the scope tree in a text report. */
export function formatThreads(threads: readonly ThreadReport[]): string {
  const lines = ["threads (live blocks each thread allocated, by scope):"];
  const width = Math.max(...threads.map((t) => t.name.length + t.state.length + 3));
  for (const t of threads) {
    lines.push(
      `  ${`${t.name} [${t.state}]`.padEnd(width)}  live ${formatBytes(t.liveBytes)}, peak ${formatBytes(t.peakLiveBytes)}, ` +
        `${formatCount(t.allocCount)} allocations, ${formatCount(t.freeCount)} freed`,
    );
    for (const s of t.scopes) lines.push(`    ${s.path}  ${formatBytes(s.liveBytes)} in ${formatCount(s.liveCount)} blocks`);
  }
  return lines.join("\n");
}

/** Declares the live thread named `name` dead; false when there is none. */
export function threadEnded(table: ThreadTable, name: string): boolean {
  for (let slot = 0; slot < THREAD_SLOTS; slot++) {
    if (table.stateOf(slot) === ThreadState.LIVE && table.nameOf(slot) === name) return table.declareDead(slot, table.generationOf(slot));
  }
  return false;
}

/** Names of the live threads other than `seat`'s. */
export function liveOtherThreads(table: ThreadTable, seat: ThreadSeat): string[] {
  const names: string[] = [];
  for (let slot = 0; slot < THREAD_SLOTS; slot++) {
    if (slot !== seat.slot && table.stateOf(slot) === ThreadState.LIVE) names.push(table.nameOf(slot));
  }
  return names;
}
