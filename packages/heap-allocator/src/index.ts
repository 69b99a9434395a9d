export { HeapAllocator } from "./heap-allocator.js";
export type { HeapAllocatorOptions, HeapAttachOptions, BlockVisitor } from "./types.js";
export { BLOCK_HEADER, MIN_BLOCK, MAX_REQUEST, GRANULE } from "./layout.js";
export { foreignHeapBlockSize, heapRemoteFreeWord } from "./foreign.js";
