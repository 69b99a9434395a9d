export { RelocatableAllocator } from "./relocatable-allocator.js";
export type { CompactOptions, RelocationStats } from "./api.js";
export type { CompactResult } from "./compact.js";
export { SCAN_COST } from "./compact.js";
export type { RelocatableAllocatorOptions, RelocatableAttachOptions } from "./options.js";
export { RELOCATABLE_LAYOUT, DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES } from "./layout.js";
export type { PageUseMap } from "./map.js";
