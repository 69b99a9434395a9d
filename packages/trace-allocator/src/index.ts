export { TraceAllocator } from "./trace-allocator.js";
export type {
  TracingLevel,
  BudgetAction,
  BudgetOptions,
  BudgetWarning,
  TraceScopeOptions,
  TraceAllocatorOptions,
  TraceAttachOptions,
  OpenScopeOptions,
  TracedBlock,
  RetainedBlock,
  TraceLeakReport,
  UntrackedLeak,
  ScopeReport,
  LabelReport,
  FoldedSelection,
  FoldedStacksOptions,
} from "./types.js";
export { formatReport } from "./report.js";
export { rankTemporaries } from "./temporaries.js";
export type { ScopeTemporaries } from "./temporaries.js";
export { diffReports, formatReportDiff } from "./report-diff.js";
export type { ReportDiff, ScopeDelta, ScopeNumbers } from "./report-diff.js";
export { parseFoldedStacks, diffFoldedStacks, foldLeakReport } from "./folded-stacks.js";
export type { FoldedLine } from "./folded-stacks.js";
export { formatLeakMessage, LEAK_MESSAGE_BLOCKS } from "./leaks.js";
export { MEMKIT_FRAME_PATTERN, STACK_NOT_HERE, shortFrame } from "./call-stacks.js";
export { TRACE_LAYOUT } from "./layout.js";
export { ROW_SAMPLE_FIELDS, RS_SERIAL, RS_PARENT, RS_LIVE_BYTES, RS_LIVE_COUNT, RS_TOTAL_BYTES, RS_ALLOCS, RS_FREES, RS_BUDGET } from "./row-samples.js";
