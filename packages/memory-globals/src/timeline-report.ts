import {
  CELL,
  C_ALLOCS,
  C_BUDGET,
  C_FREES,
  C_LIVE_BYTES,
  C_LIVE_COUNT,
  C_SERIAL,
  C_TOTAL_BYTES,
  H_FRAME,
  H_FRAME_LIVE,
  H_FRAME_RESERVED,
  H_GENERIC_RESERVED,
  H_PAGES,
  H_SCRATCH_PEAK,
  H_SCRATCH_RESERVED,
  H_TIME_HI,
  H_TIME_LO,
  SAMPLE_HEAD,
  type Timeline,
} from "./timeline.js";
import { findLeakSuspects, type LeakSuspect } from "./leak-suspects.js";
import { rankChurn, type ScopeChurn } from "./churn.js";

/*
 * The timeline as plain JSON (in `memory.snapshot().timeline` and
 * `memory.timeline()`): the ring's samples, oldest first, one array entry
 * per frame in every series.
 */

/** One scope's figures per frame (0 in frames where it was not open). */
export interface TimelineScope {
  path: string;
  /** Bytes of the scope's own live blocks (stacked areas add up without double counting). */
  liveBytes: number[];
  /** The scope's own live blocks. */
  liveCount: number[];
  /** Bytes live in the scope's subtree (what its budget counts). */
  totalBytes: number[];
  /** Allocations and frees of the scope's own during the frame. */
  allocs: number[];
  frees: number[];
  /** The subtree budget in bytes (0: none); budget use is totalBytes / budgetBytes. */
  budgetBytes: number[];
}

/** The allocators' figures per frame. */
export interface TimelineAllocators {
  /** Bytes in page spans handed out (every allocator's footprint). */
  pagesBytes: number[];
  /** Bytes the generic allocator holds from the pages. */
  genericReservedBytes: number[];
  /** Bytes live in the frame allocator's arenas when the frame ended (the last `frameArenas` frames). */
  frameLiveBytes: number[];
  frameReservedBytes: number[];
  /** The scratch stack's peak so far, and what it holds from the pages. */
  scratchPeakBytes: number[];
  scratchReservedBytes: number[];
}

/** Per-frame samples, oldest first. */
export interface TimelineReport {
  /** Frames the ring holds; older samples were overwritten. */
  capacity: number;
  /** The frame of each sample: a sample is the state when that frame ended (at the next beginFrame()). */
  frames: number[];
  /** When each sample was taken: `performance.now()` in milliseconds (this process's clock; a restored memory's older samples keep the saving process's). */
  timeMs: number[];
  /** Every scope seen in the samples, in row order (root first). */
  scopes: TimelineScope[];
  allocators: TimelineAllocators;
  /** Scope rows past the ring's `scopes` capacity: left out of the samples (raise `timeline.scopes`). */
  scopesLeftOut: number;
  /** Frames the leak-suspect test looks back over (`timeline.leakWindow`). */
  leakWindow: number;
  /** Scopes whose own live bytes grew across the last `leakWindow` frames without returning (leak-suspects.ts), largest growth first. */
  leakSuspects: LeakSuspect[];
  /** Scopes whose blocks come and go in the same frame (at most min(allocs, frees) per frame; churn.ts), most first: candidates for memory.frame or memory.scratch. */
  churn: ScopeChurn[];
}

/** Decodes the ring (cold: builds the JSON). */
export function readTimeline(timeline: Timeline): TimelineReport {
  const leakWindow = timeline.leakWindow;
  const held = Math.min(timeline.written, timeline.frames);
  const u32 = timeline.space.u32;
  const frames: number[] = [];
  const timeMs: number[] = [];
  const allocators: TimelineAllocators = {
    pagesBytes: [],
    genericReservedBytes: [],
    frameLiveBytes: [],
    frameReservedBytes: [],
    scratchPeakBytes: [],
    scratchReservedBytes: [],
  };
  const bySerial = new Map<number, TimelineScope>();
  const order: { row: number; serial: number }[] = [];
  for (let i = 0; i < held; i++) {
    const at = timeline.recordAt(held - 1 - i);
    frames.push(u32[at + H_FRAME]!);
    timeMs.push((u32[at + H_TIME_HI]! * 0x100000000 + u32[at + H_TIME_LO]!) / 1000);
    allocators.pagesBytes.push(u32[at + H_PAGES]!);
    allocators.genericReservedBytes.push(u32[at + H_GENERIC_RESERVED]!);
    allocators.frameLiveBytes.push(u32[at + H_FRAME_LIVE]!);
    allocators.frameReservedBytes.push(u32[at + H_FRAME_RESERVED]!);
    allocators.scratchPeakBytes.push(u32[at + H_SCRATCH_PEAK]!);
    allocators.scratchReservedBytes.push(u32[at + H_SCRATCH_RESERVED]!);
    for (let r = 0; r < timeline.columns; r++) {
      const c = at + SAMPLE_HEAD + r * CELL;
      const serial = u32[c + C_SERIAL]!;
      if (serial === 0) continue;
      let scope = bySerial.get(serial);
      if (scope === undefined) {
        scope = { path: "", liveBytes: zeros(held), liveCount: zeros(held), totalBytes: zeros(held), allocs: zeros(held), frees: zeros(held), budgetBytes: zeros(held) };
        bySerial.set(serial, scope);
        order.push({ row: r, serial });
      }
      scope.liveBytes[i] = u32[c + C_LIVE_BYTES]!;
      scope.liveCount[i] = u32[c + C_LIVE_COUNT]!;
      scope.totalBytes[i] = u32[c + C_TOTAL_BYTES]!;
      scope.allocs[i] = u32[c + C_ALLOCS]!;
      scope.frees[i] = u32[c + C_FREES]!;
      scope.budgetBytes[i] = u32[c + C_BUDGET]!;
    }
  }
  order.sort((a, b) => a.row - b.row || a.serial - b.serial);
  const scopes = order.map(({ row, serial }) => {
    const scope = bySerial.get(serial)!;
    scope.path = timeline.pathOf(row, serial);
    return scope;
  });
  return {
    capacity: timeline.frames,
    frames,
    timeMs,
    scopes,
    allocators,
    scopesLeftOut: Math.max(0, timeline.rowsSeen - timeline.columns),
    leakWindow,
    leakSuspects: findLeakSuspects(frames, scopes, leakWindow),
    churn: rankChurn(frames.length, scopes),
  };
}

function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}
