// Element kinds
export type {
  ElementKind,
  BigIntKind,
  NumberKind,
  KeyKind,
  ValueOf,
  ElementKindInfo,
  TypedArray,
  TypedArrayOf,
  TypedArrayByKind,
  TypedArrayConstructor,
} from "./element-kind.js";
export { ELEMENT_KINDS, elementKind, isElementKind } from "./element-kind.js";

// What every container shares
export type { ContainerOptions } from "./container-core.js";
export { ContainerCore, CONTAINER_ALIGN } from "./container-core.js";
export { CONTAINER_GROWTH_FACTOR, CONTAINER_MIN_CAPACITY } from "./growth.js";
export { SpaceViews } from "@memkit/core";
export type { ViewHolder } from "@memkit/core";

// Saving and restoring (persist() / restore())
export type { RestoreOptions, ContainerDescriptor } from "./descriptor.js";
export { DYNAMIC_ARRAY_LAYOUT } from "./dynamic-array.js";
export { STRUCT_ARRAY_LAYOUT } from "./struct-array.js";
export { STRUCT_OF_ARRAYS_LAYOUT } from "./struct-of-arrays.js";
export { HASH_MAP_LAYOUT, HASH_SET_LAYOUT } from "./hash-descriptor.js";
export { HANDLE_POOL_LAYOUT } from "./handle-pool.js";

// Arrays
export type { DynamicArrayOptions, DynamicArrayConstructor, DynamicArrayRestoreOptions } from "./dynamic-array.js";
export { DynamicArray } from "./dynamic-array.js";

// Structs
export type { StructFields, StructFieldInfo, StructLayout, FieldName, FieldKind } from "./struct-layout.js";
export { defineStruct, sizeOf, alignOf, offsetOf } from "./struct-layout.js";
export type { StructField } from "./struct-field.js";
export type { StructArrayOptions, RecordOf } from "./record-container.js";
export { RecordContainer } from "./record-container.js";
export { StructArray } from "./struct-array.js";
export { StructOfArrays } from "./struct-of-arrays.js";

// Hash tables
export type { HashTableOptions, HashTableInfo } from "./hash-table-info.js";
export { DEFAULT_MAX_LOAD_FACTOR, MAX_LOAD_FACTOR_LIMIT, MIN_TABLE_SLOTS, MAX_TABLE_SLOTS } from "./hash-geometry.js";
export type { HashMapOptions, HashMapConstructor, HashMapRestoreOptions } from "./hash-map.js";
export { HashMap } from "./hash-map.js";
export type { HashSetOptions, HashSetConstructor, HashSetRestoreOptions } from "./hash-set.js";
export { HashSet } from "./hash-set.js";
export { hash32, hashF64 } from "./hash.js";

// Handles
export type { HandlePoolOptions, Handle } from "./handle-pool.js";
export type { PoolField } from "./pool-field.js";
export { HandlePool, NULL_HANDLE, HANDLE_BITS, DEFAULT_INDEX_BITS } from "./handle-pool.js";
export { StaleHandleError } from "./errors.js";

// Blocks a relocatable allocator may move
export type { BlockHolder, MovableBlocks } from "./movable-blocks.js";
export { hasMovableBlocks } from "./movable-blocks.js";

// Leak detection
export type { ContainerLeak, ContainerLeakHandler } from "./leak-detection.js";
export { setContainerDebug, isContainerDebug, setContainerLeakHandler, formatContainerLeak } from "./leak-detection.js";
