import type { TimelineScope } from "./timeline-report.js";

/*
 * Churn from the timeline: per scope, the blocks that came and went in the
 * same frame at the most — min(allocations, frees) of each frame, summed over
 * the frames sampled. It is an upper bound on the blocks allocated and freed
 * within one frame (a free in the frame may be of an older block), read from
 * the per-frame counts alone: the allocate and free paths stay as they are.
 * A scope that churns many blocks every frame is where the frame allocator
 * (or the scratch stack) would serve them without a free.
 */

/** A scope's churn over the frames sampled. */
export interface ScopeChurn {
  path: string;
  /** Sum over the frames of min(allocations, frees) in the frame. */
  blocks: number;
  /** blocks / frames sampled. */
  perFrame: number;
  /** Frames in which the scope both allocated and freed. */
  frames: number;
}

/** Scopes with any churn, most blocks per frame first. */
export function rankChurn(frameCount: number, scopes: readonly TimelineScope[]): ScopeChurn[] {
  if (frameCount === 0) return [];
  const out: ScopeChurn[] = [];
  for (const s of scopes) {
    let blocks = 0;
    let frames = 0;
    for (let i = 0; i < frameCount; i++) {
      const both = Math.min(s.allocs[i]!, s.frees[i]!);
      blocks += both;
      if (both > 0) frames++;
    }
    if (blocks > 0) out.push({ path: s.path, blocks, perFrame: blocks / frameCount, frames });
  }
  return out.sort((a, b) => b.blocks - a.blocks || a.path.localeCompare(b.path));
}
