import { AllocatorError, InvalidArgumentError } from "@memkit/core";
import type { ScopeReport, TraceAllocator } from "@memkit/trace-allocator";
import type { StageReport } from "./memory-report.js";

/** What a save keeps of the recorder: the finished stages and the one running. */
export interface StageRecords {
  done: StageReport[];
  current: { name: string; startFrame: number; counts: [string, { allocs: number; frees: number }][] } | null;
}

/** Records each stage's peak per scope: begin resets the peaks, end reads them. */
export class StageRecorder {
  readonly done: StageReport[] = [];
  #current: { name: string; startFrame: number; counts: Map<string, { allocs: number; frees: number }> } | undefined;

  /** Plain JSON for a save's note. */
  toJSON(): StageRecords {
    const c = this.#current;
    return { done: this.done, current: c === undefined ? null : { name: c.name, startFrame: c.startFrame, counts: [...c.counts] } };
  }

  /** A recorder as it was saved (a restore); anything else is ignored as no stages. */
  static fromJSON(records: unknown): StageRecorder {
    const recorder = new StageRecorder();
    const r = records as Partial<StageRecords> | null;
    if (r === null || typeof r !== "object" || !Array.isArray(r.done)) return recorder;
    recorder.done.push(...r.done);
    if (r.current != null && Array.isArray(r.current.counts)) {
      recorder.#current = { name: String(r.current.name), startFrame: Number(r.current.startFrame), counts: new Map(r.current.counts) };
    }
    return recorder;
  }

  begin(name: string, frame: number, root: TraceAllocator): void {
    if (typeof name !== "string" || name.length === 0) {
      throw new InvalidArgumentError(`MemoryGlobals.beginStage: expected a stage name, received ${JSON.stringify(name)}.`);
    }
    if (this.#current !== undefined) {
      throw new AllocatorError(`MemoryGlobals.beginStage("${name}"): stage "${this.#current.name}" has not ended; call endStage() first.`);
    }
    root.resetPeak(name);
    const counts = new Map<string, { allocs: number; frees: number }>();
    forEachScope(root.report(), (s) => counts.set(s.path, { allocs: s.allocCount, frees: s.freeCount }));
    this.#current = { name, startFrame: frame, counts };
  }

  end(frame: number, root: TraceAllocator): StageReport {
    const stage = this.#current;
    if (stage === undefined) throw new AllocatorError("MemoryGlobals.endStage: no stage is running; call beginStage(name) first.");
    const scopes: StageReport["scopes"] = [];
    forEachScope(root.report(), (s) => {
      const before = stage.counts.get(s.path) ?? { allocs: 0, frees: 0 };
      scopes.push({
        path: s.path,
        peakLiveBytes: s.totalPeakLiveBytes,
        liveBytes: s.totalLiveBytes,
        allocCount: s.allocCount - before.allocs,
        freeCount: s.freeCount - before.frees,
      });
    });
    const record: StageReport = { name: stage.name, startFrame: stage.startFrame, endFrame: frame, scopes };
    this.done.push(record);
    this.#current = undefined;
    return record;
  }
}

function forEachScope(report: ScopeReport, visit: (s: ScopeReport) => void): void {
  visit(report);
  for (const child of report.children) forEachScope(child, visit);
}
