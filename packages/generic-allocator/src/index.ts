export { GenericAllocator } from "./generic-allocator.js";
export type { GenericTier } from "./generic-allocator.js";
export type { GenericAllocatorOptions, GenericAttachOptions } from "./options.js";
export { createRemoteRoutes, ROUTES_BYTES } from "./routes.js";
