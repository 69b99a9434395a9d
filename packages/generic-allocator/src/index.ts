export { GenericAllocator } from "./generic-allocator.js";
export type { GenericTier } from "./generic-allocator.js";
export type { GenericAllocatorOptions, GenericAttachOptions } from "./options.js";
