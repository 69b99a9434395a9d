export type {
  DebugWrapperOptions,
  CanaryOptions,
  EndOfPageMode,
  EndOfPageOptions,
  FillOptions,
  QuarantineOptions,
  DebugWrapOptions,
  StackCapturing,
} from "./api.js";
export { capturesStacks, isCheckable } from "./api.js";
export {
  FENCE_BYTE,
  END_GUARD_BYTE,
  CLEAN_BYTE,
  FREED_BYTE,
  DEFAULT_GUARD_BYTES,
  DEFAULT_END_GUARD_BYTES,
  DEFAULT_QUARANTINE_BYTES,
  DEFAULT_QUARANTINE_BLOCKS,
  DEFAULT_FREE_HISTORY,
  DEFAULT_FILL_SEED,
} from "./constants.js";
export type { WrapperOp } from "./debug-wrapper.js";
export { DebugWrapper } from "./debug-wrapper.js";
export { CanaryAllocator } from "./canary-allocator.js";
export { EndOfPageAllocator } from "./end-of-page-allocator.js";
export { FillAllocator } from "./fill-allocator.js";
export { QuarantineAllocator } from "./quarantine-allocator.js";
export type { DebugAttachOptions } from "./debug-allocator.js";
export { DebugAllocator, DEBUG_LAYOUT, debugWrap } from "./debug-allocator.js";
export type { WrapperAttachOptions } from "./wrapper-control.js";
export { CANARY_LAYOUT, END_OF_PAGE_LAYOUT, FILL_LAYOUT, QUARANTINE_LAYOUT } from "./wrapper-layout.js";
export { TEXT_NOT_HERE } from "./wrapper-texts.js";
