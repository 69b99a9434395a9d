export { MemoryGlobals } from "./memory-globals.js";
export { BootstrapHeap } from "./bootstrap-heap.js";
export { NULL_GUARD_BYTES } from "./options.js";
export type { MemoryGlobalsOptions, ResolvedOptions, TracingLevel } from "./options.js";
