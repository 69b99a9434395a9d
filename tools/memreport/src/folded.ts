import { InvalidArgumentError } from "@memkit/core";
import type { ScopeReport } from "@memkit/trace-allocator";
import type { MemoryReport } from "./report-types.js";

/*
 * Folded stacks (`root;level;loadChunk (level/stream.ts:88) 4096` per line)
 * come ready-made in the report, written by the trace allocator's
 * foldedStacks(). Each line starts with the scope path, then the block's label
 * when it has one (`[HashMap<u32, u32> "grid"]`: a container's name), then the
 * call frames, outermost first; lines of blocks without a captured stack stop
 * at the scope (or the label).
 */

/** Which folded stacks to print: live bytes, live block counts, or bytes live at each scope's peak. */
export type FoldedMetric = "bytes" | "count" | "peak";

/** The metrics `--folded` accepts. */
export const FOLDED_METRICS: readonly FoldedMetric[] = ["bytes", "count", "peak"];

/**
 * The report's folded stacks for `metric`. `"peak"` needs a report taken with
 * tracing "callstacks"; without it this throws InvalidArgumentError saying so.
 */
export function foldedText(report: MemoryReport, metric: FoldedMetric): string {
  if (metric === "bytes") return report.folded.liveBytes;
  if (metric === "count") return report.folded.liveCount;
  if (metric === "peak") {
    if (report.folded.peakBytes === "" && report.scopes.totalPeakLiveBytes > 0) {
      throw new InvalidArgumentError(
        `the report has no peak stacks (it was taken with tracing ${JSON.stringify(report.options.tracing)}); peak stacks need tracing "callstacks".`,
      );
    }
    return report.folded.peakBytes;
  }
  throw new InvalidArgumentError(`folded metric must be one of ${FOLDED_METRICS.join(", ")}, received ${JSON.stringify(metric)}.`);
}

/** Every scope path of a report tree (`root`, `root/level`, ...). */
export function scopePaths(scopes: ScopeReport, into: Set<string> = new Set()): Set<string> {
  into.add(scopes.path);
  for (const child of scopes.children) scopePaths(child, into);
  return into;
}

/** A folded line's frames split into its scope path, its block label and its call frames (outermost first). */
export interface SplitStack {
  scope: string;
  /** The block label (a container's name) without its brackets, when the line has one. */
  label?: string;
  calls: string[];
}

/** True for the frame of a block label: `[HashMap<u32, u32> "grid"]`. */
export function isLabelFrame(frame: string): boolean {
  return frame.length >= 2 && frame.startsWith("[") && frame.endsWith("]");
}

/**
 * Splits folded frames at the end of the scope path: the longest prefix that
 * is a path in `paths`, extended over the frames after it that do not look
 * like call sites (`fn (file:line)`, `file:line`) or a label — the scopes of
 * a subtree disposed since the tree in `paths` was reported. The first frame
 * is always a scope (the root). A label frame right after the scope path is
 * the block label.
 */
export function splitStack(frames: readonly string[], paths: ReadonlySet<string>): SplitStack {
  let cut = 0;
  let path = "";
  for (let i = 0; i < frames.length; i++) {
    path = i === 0 ? frames[0]! : `${path}/${frames[i]!}`;
    if (paths.has(path)) cut = i + 1;
  }
  cut = Math.max(cut, 1);
  while (cut < frames.length && !isLabelFrame(frames[cut]!) && !/[(:]/.test(frames[cut]!)) cut++;
  const split: SplitStack = { scope: frames.slice(0, cut).join("/"), calls: frames.slice(cut) };
  if (cut < frames.length && isLabelFrame(frames[cut]!)) {
    split.label = frames[cut]!.slice(1, -1);
    split.calls = frames.slice(cut + 1);
  }
  return split;
}
