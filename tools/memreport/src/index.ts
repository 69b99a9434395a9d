/*
 * @memkit/memreport: reads the JSON memory reports memkit writes
 * (`memory.snapshot()`) and turns them into text, folded stacks, diffs and a
 * self-contained HTML page. The `memreport` command (cli.ts) is a thin layer
 * over these functions.
 */
export { loadReport, parseReport, validateReport } from "./load-report.js";
export { formatText, describeReport } from "./text.js";
export { foldedText, splitStack, isLabelFrame, scopePaths, FOLDED_METRICS } from "./folded.js";
export type { FoldedMetric, SplitStack } from "./folded.js";
export { diffMemoryReports, formatMemoryDiff, hasCallStacks } from "./diff.js";
export type { MemoryReportDiff, ScopeChange, StackChange, AllocatorChange, DiffFormatOptions } from "./diff.js";
export { summarizeMap, ownerName } from "./map-summary.js";
export type { MapSummary, OwnerSummary } from "./map-summary.js";
export { stageMatrix, heaviestStages } from "./stages.js";
export type { StageMatrix, StageCell } from "./stages.js";
export { renderHtml } from "./html/page.js";
export { renderTimeline, timelineBands, SHOWN as TIMELINE_BANDS_SHOWN } from "./html/timeline-chart.js";
export type { TimelineBand } from "./html/timeline-chart.js";
export { formatTimeline, formatLeakSuspects, formatChurn } from "./timeline-text.js";
export { timelineTraceEvents, TRACE_COUNTERS } from "./trace-events.js";
export type { TraceEvent, TraceFile } from "./trace-events.js";
export { buildFlameTree, layoutFlame } from "./html/flame-graph.js";
export type { FlameNode, FlameRect, FlameLayout } from "./html/flame-graph.js";
export { buildMapModel, MAX_CELLS, MAX_SPANS } from "./html/memory-map.js";
export type { MapModel, LegendEntry } from "./html/memory-map.js";
export { main, mainAsync, USAGE, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from "./cli.js";
export { replayText, formatReplay } from "./replay.js";
export type { CliIo } from "./cli.js";
