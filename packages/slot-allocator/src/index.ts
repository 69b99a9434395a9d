export { SlotAllocator } from "./slot-allocator.js";
export type { SlotAllocatorOptions } from "./options.js";
export { sizeClasses, roundingWaste, naturalAlignment, GRANULE } from "./size-classes.js";
export { slotsPerSlab } from "./layout.js";
