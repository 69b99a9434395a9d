import { THREAD_SLOTS, ThreadState, threadStateName, type ThreadSeat, type ThreadTable } from "@memkit/core";

/*
 * The thread table seen from MemoryGlobals: per-thread figures for reports,
 * declaring a terminated worker, and who else is still attached.
 */

/** One thread of a shared memory, for reports. */
export interface ThreadReport {
  name: string;
  /** "live", "ended" (detached; its heap waits to be adopted) or "dead" (declared ended with threadEnded). */
  state: string;
  /** Bytes this thread allocated that are still live, and their high-water mark (resettable per thread). */
  liveBytes: number;
  peakLiveBytes: number;
  allocCount: number;
  freeCount: number;
}

/** Every claimed slot's figures, in slot order. */
export function threadFigures(table: ThreadTable): ThreadReport[] {
  const out: ThreadReport[] = [];
  for (let slot = 0; slot < THREAD_SLOTS; slot++) {
    const state = table.stateOf(slot);
    if (state === ThreadState.FREE) continue;
    const f = table.figuresOf(slot);
    out.push({ name: table.nameOf(slot), state: threadStateName(state).toLowerCase(), liveBytes: f.liveBytes, peakLiveBytes: f.peakLiveBytes, allocCount: f.allocCount, freeCount: f.freeCount });
  }
  return out;
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
