// What a HashMap and a HashSet share as seen from outside: their options and
// the properties that describe their table.
import type { Allocator } from "@memkit/core";
import type { ContainerOptions } from "./container-core.js";
import type { KeyKind } from "./element-kind.js";

/** Options of {@link HashMap} and {@link HashSet}. */
export interface HashTableOptions extends ContainerOptions {
  /** Entries to make room for up front (no growth until then). @defaultValue 0 (8 slots) */
  capacity?: number;
  /**
   * Grow (double the slots) when an insert would push the load past this.
   * From 0.25 to 0.875. @defaultValue 0.75
   */
  maxLoadFactor?: number;
}

/** What HashMap and HashSet both expose about their table. */
export interface HashTableInfo<K extends KeyKind> {
  /** The allocator the table comes from and is freed through. */
  readonly allocator: Allocator;
  /** The name given at construction. */
  readonly name: string;
  /** Key kind. */
  readonly keyKind: K;
  /** Number of entries (keys). */
  readonly size: number;
  /** Slots in the table (a power of two). */
  readonly capacity: number;
  /** The load at which the table doubles. */
  readonly maxLoadFactor: number;
  /** The table's block (valid until the next growth). */
  readonly ptr: number;
  /** Bytes held from the allocator. */
  readonly byteLength: number;
  /** True after dispose(). */
  readonly disposed: boolean;
  /** How messages name this table. */
  readonly label: string;
}
