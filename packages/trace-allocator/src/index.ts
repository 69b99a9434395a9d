export { TraceAllocator } from "./trace-allocator.js";
export type {
  TracingLevel,
  BudgetAction,
  BudgetOptions,
  BudgetWarning,
  TraceScopeOptions,
  TraceAllocatorOptions,
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
export { diffReports, formatReportDiff } from "./report-diff.js";
export type { ReportDiff, ScopeDelta, ScopeNumbers } from "./report-diff.js";
export { parseFoldedStacks, diffFoldedStacks, foldLeakReport } from "./folded-stacks.js";
export type { FoldedLine } from "./folded-stacks.js";
export { formatLeakMessage, LEAK_MESSAGE_BLOCKS } from "./leaks.js";
export { MEMKIT_FRAME_PATTERN, shortFrame } from "./call-stacks.js";
