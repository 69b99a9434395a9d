export { GenericAllocator } from "./generic-allocator.js";
export type { GenericAllocatorOptions, GenericTier } from "./generic-allocator.js";
