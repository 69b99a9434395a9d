export type { Ptr, Allocator, AllocatorStats, StorageReport, Checkable, StorageReporting, BlockOrigin, OriginTracking, BlockLabels } from "./types.js";
export { hasOriginTracking, hasBlockLabels } from "./types.js";
export type { AllocatorErrorCode, LeakedBlock, LeakReport } from "./errors.js";
export {
  AllocatorError,
  InvalidArgumentError,
  OutOfMemoryError,
  InvalidPointerError,
  DoubleFreeError,
  LeakError,
  CorruptionError,
  DestroyedError,
  destroyedError,
} from "./errors.js";
export type { AddressSpaceOptions, AttachOptions, GrowListener } from "./address-space.js";
export { AddressSpace, WASM_PAGE_BYTES, MAX_ADDRESS_SPACE_BYTES } from "./address-space.js";
export type { ByteMoves, CopyBytes, FillBytes } from "./byte-moves.js";
export { MemoryModule } from "./memory-module.js";
export {
  MAX_SIZE,
  MAX_ALIGN,
  DEFAULT_ALIGN,
  isValidSize,
  isValidAlign,
  validateAllocation,
  validateSize,
  validatePointerShape,
  invalidPointer,
  describe,
  alignUp,
  isPowerOfTwo,
} from "./validate.js";
export { hex, formatBytes, formatCount, formatSize } from "./format.js";
export { SeededRandom } from "./random.js";
export { allocateZeroed } from "./allocate-zeroed.js";
export { markEntryPoints, entryPointsByName } from "./entry-points.js";
export type { EntryPoint } from "./entry-points.js";
export {
  CONTROL_BLOCK_HEADER_BYTES,
  CONTROL_BLOCK_HEADER_WORDS,
  initControl,
  sealControl,
  openControl,
  isControlBlock,
  retireControl,
  controlWord,
  describeMagic,
  magic,
} from "./control-block.js";
export type { ControlLayout } from "./control-block.js";
export { hashWords } from "./hash.js";
export { SpaceViews } from "./space-views.js";
export type { ViewHolder, ViewKind, ViewSet } from "./space-views.js";
export { SpaceHandle, Attachment } from "./space-handle.js";
export type { HandleEnd } from "./space-handle.js";
export { captureStack, stackKey, CapturedStack } from "./user-stack.js";
export { pushRemoteFree, takeRemoteFrees, nextRemoteFree, peekRemoteFrees, collectRemoteFrees } from "./remote-free.js";
export { ThreadTable, ThreadState, THREAD_SLOTS, THREAD_NAME_BYTES, THREAD_TABLE_LAYOUT, threadStateName } from "./thread-table.js";
export type { ThreadSeat, ThreadFigures, ThreadResource } from "./thread-table.js";
export { SharedLock, threadMayBlock, describeHolder } from "./shared-lock.js";
export type { SharedLockOptions } from "./shared-lock.js";
