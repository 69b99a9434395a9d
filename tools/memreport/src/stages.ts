import type { StageReport } from "./report-types.js";

/*
 * Stages as a scope x stage matrix: a row per scope path (in the order the
 * reports list them: parents before children), a column per stage.
 */

/** One cell: a scope's figures in one stage. */
export type StageCell = StageReport["scopes"][number];

/** What {@link stageMatrix} returns. */
export interface StageMatrix {
  stages: readonly StageReport[];
  /** Every scope path of any stage, first appearance first. */
  paths: string[];
  /** The scope's figures in stage `index`, undefined when it did not exist then. */
  cell: (path: string, index: number) => StageCell | undefined;
}

/** Arranges the stages as a scope x stage matrix. */
export function stageMatrix(stages: readonly StageReport[]): StageMatrix {
  const paths: string[] = [];
  const seen = new Set<string>();
  const cells = stages.map((stage) => {
    const byPath = new Map<string, StageCell>();
    for (const s of stage.scopes) {
      byPath.set(s.path, s);
      if (!seen.has(s.path)) {
        seen.add(s.path);
        paths.push(s.path);
      }
    }
    return byPath;
  });
  return { stages, paths, cell: (path, index) => cells[index]?.get(path) };
}

/** For each scope path, the index of the stage with its highest peak (the first on a tie); scopes that never held a byte are left out. */
export function heaviestStages(stages: readonly StageReport[]): Map<string, number> {
  const best = new Map<string, { index: number; peak: number }>();
  stages.forEach((stage, index) => {
    for (const s of stage.scopes) {
      const b = best.get(s.path);
      if (s.peakLiveBytes > 0 && (b === undefined || s.peakLiveBytes > b.peak)) best.set(s.path, { index, peak: s.peakLiveBytes });
    }
  });
  return new Map([...best].map(([path, b]) => [path, b.index]));
}
