export { SlotAllocator } from "./slot-allocator.js";
export type { SlotAllocatorOptions, SlotAttachOptions } from "./options.js";
export type { SlabStats, SlabVisitor } from "./report.js";
export { sizeClasses, classIndex, roundingWaste, naturalAlignment, GRANULE } from "./size-classes.js";
export { slotsPerSlab } from "./layout.js";
export { foreignSlotSize, slotRemoteFreeWord } from "./foreign.js";
