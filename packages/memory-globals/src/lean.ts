// The lean entry, `@memkit/memory-globals/lean`: everything the main entry has
// but the debug allocators (see debug-layer.ts). `debug: true` then needs
// `import "@memkit/memory-globals/debug"` first.
export { MemoryGlobals } from "./memory-globals.js";
export { BootstrapHeap } from "./bootstrap-heap.js";
export { NULL_GUARD_BYTES } from "./options.js";
export type { MemoryGlobalsOptions, ResolvedOptions, GenericPolicyOptions, FrameOptions, TimelineOptions } from "./options.js";
export type { TimelineReport, TimelineScope, TimelineAllocators } from "./timeline-report.js";
export type { LeakSuspect } from "./leak-suspects.js";
export { findLeakSuspects, MIN_LEAK_WINDOW } from "./leak-suspects.js";
export { rankChurn } from "./churn.js";
export type { ScopeChurn } from "./churn.js";
export type { TracingLevel } from "@memkit/trace-allocator";
export { MEMORY_REPORT_SCHEMA } from "./memory-report.js";
export type { RestoreOptions } from "./assemble.js";
export { SAVE_FORMAT_VERSION } from "./saved-memory.js";
export { MAX_ROOTS } from "./memory-root.js";
export type { MemoryReport, StageReport, AllocatorReport, SlabReport, MemoryMap, MapSpan } from "./memory-report.js";
export type { MemoryShare, MemoryAttachOptions } from "./thread-attach.js";
export type { ThreadReport } from "./threads.js";
export type { ThreadScopeShare } from "./threads.js";
export { WasmHeap, wasmHeapOf } from "./wasm-imports.js";
export type { WasmEnv, WasmImports, WasmImportOptions } from "./wasm-imports.js";
export { wasmModuleLayout } from "./wasm-module-layout.js";
export type { WasmModuleLayout } from "./wasm-module-layout.js";
export { encodeAllocLog, decodeAllocLog, AllocLogKind, ALLOC_LOG_MAGIC, ALLOC_LOG_VERSION } from "./alloc-log.js";
export type { AllocLog, AllocLogHeader } from "./alloc-log.js";
