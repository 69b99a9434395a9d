export { PageAllocator } from "./page-allocator.js";
export type { PageAllocatorOptions, PageAttachOptions, SpanVisitor } from "./page-allocator.js";
export type { PageReclaimer, ReclaimRegistry } from "./reclaimers.js";
export { pageAllocatorAt } from "./handle-at.js";
