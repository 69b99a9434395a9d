// The report format memreport reads belongs to @memkit/memory-globals (what `memory.snapshot()` returns).
export type { MemoryReport, StageReport, AllocatorReport, SlabReport, MemoryMap, MapSpan, TimelineReport, TimelineScope, LeakSuspect, ScopeChurn } from "@memkit/memory-globals";
export { MEMORY_REPORT_SCHEMA } from "@memkit/memory-globals";
