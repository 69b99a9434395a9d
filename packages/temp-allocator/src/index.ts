export { ScratchAllocator } from "./scratch-allocator.js";
export type { ScratchMark } from "./scratch-allocator.js";
export { FrameAllocator, FRAME_FREED_BYTE } from "./frame-allocator.js";
export type { FrameAllocatorOptions, ScratchAllocatorOptions, TempAllocatorOptions } from "./options.js";
export type { FrameGrowthWarning } from "./frame-growth.js";
export { DEFAULT_GROWTH_WARNING_FACTOR } from "./frame-growth.js";
export { DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, MAX_STANDARD_CHUNK_SIZE } from "./options.js";
export { CHUNK_HEADER } from "./chunk-pool.js";
