import { InvalidArgumentError, describe } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { elementKind, keyKind, type ElementKind, type KeyKind, type ValueOf } from "./element-kind.js";
import { defineHashMap, type HashTableInfo, type HashTableOptions, type TableClass } from "./hash-table.js";
import { ContainerCore } from "./container-core.js";

/** Options of {@link HashMap}: the key and value kinds, plus the table options. */
export interface HashMapOptions<K extends KeyKind, V extends ElementKind> extends HashTableOptions {
  /** Key kind: u32, i32 or f64. */
  key: K;
  /** Value kind: any element kind. */
  value: V;
}

/**
 * A hash map from numeric keys to element-kind values, in one block of the
 * address space: open addressing with linear probing, the lowbias32 integer
 * hash, growth by doubling at the max load factor (default 0.75, at most
 * 0.875), deletion by backward shift (no tombstones). See
 * {@link defineHashTable} for the entry layout.
 *
 * `get`, `set`, `has`, `delete` and cursor iteration create no JS objects;
 * `get(key, fallback)` returns the caller's fallback for a missing key, so a
 * lookup never boxes `undefined`. Keys are checked exactly: anything but a
 * number, and numbers outside the key kind (a fraction or a negative number
 * for u32, NaN for f64), throw InvalidArgumentError; -0 and +0 are the same
 * f64 key. Values must be numbers (bigints for u64/i64) and follow
 * typed-array conversion (300 into u8 stores 44).
 *
 * Each (key, value) kind pair has its own class behind this constructor, so
 * the hot paths stay monomorphic.
 */
export interface HashMap<K extends KeyKind = KeyKind, V extends ElementKind = ElementKind> extends HashTableInfo<K> {
  /** Value kind. */
  readonly valueKind: V;

  /** The value for `key`, or `fallback` when absent. */
  get(key: number, fallback: ValueOf<V>): ValueOf<V>;
  /** Sets the value for `key` (inserting it when absent; may grow the table). */
  set(key: number, value: ValueOf<V>): void;
  /** True when `key` is present. */
  has(key: number): boolean;
  /** Removes `key`; returns whether it was present. */
  delete(key: number): boolean;
  /** Removes every entry (O(capacity)). */
  clear(): void;
  /** Calls `callback(key, value)` per entry (note: key first, unlike Map). Throws if the callback inserts or deletes keys. */
  forEach(callback: (key: number, value: ValueOf<V>) => void): void;
  /** The cursor after `cursor`; start with -1, -1 again at the end. */
  next(cursor: number): number;
  /** Key at an occupied cursor. */
  keyAt(cursor: number): number;
  /** Value at an occupied cursor. */
  valueAt(cursor: number): ValueOf<V>;
  /** Writes the value at an occupied cursor (safe during iteration). */
  setValueAt(cursor: number, value: ValueOf<V>): void;
  /** Entries as `[key, value]` pairs, for debugging and tests. */
  toArray(): [number, ValueOf<V>][];
  /** Verifies the table's invariants; CorruptionError at the first fault. */
  check(): void;
  /** Frees the table; afterwards every call throws. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** `new HashMap(allocator, { key, value, ... })`. */
export interface HashMapConstructor {
  new <K extends KeyKind, V extends ElementKind>(allocator: Allocator, options: HashMapOptions<K, V>): HashMap<K, V>;
  readonly prototype: HashMap;
}

const impls = new Map<string, TableClass>();

/**
 * Creates a hash map in memory from `allocator`.
 *
 * ```ts
 * const cells = new HashMap(allocator, { key: "u32", value: "u32", name: "grid" });
 * cells.set(cellId, bodyIndex);
 * const i = cells.get(cellId, -1);   // -1: the caller's "missing" value, no undefined
 * cells.dispose();
 * ```
 */
export const HashMap = function HashMap(this: unknown, allocator: Allocator, options: HashMapOptions<KeyKind, ElementKind>): object {
  if (new.target === undefined) throw new TypeError("Class constructor HashMap cannot be invoked without 'new'");
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`HashMap: expected options { key, value }, received ${describe(options)}.`);
  }
  const k = keyKind("HashMap", options.key).kind as KeyKind;
  const v = elementKind("HashMap: value", options.value).kind;
  const id = `${k}:${v}`;
  let impl = impls.get(id);
  if (impl === undefined) {
    impl = defineHashMap(k, v, publicPrototype);
    impls.set(id, impl);
  }
  return new impl(allocator, options);
} as unknown as HashMapConstructor;

const publicPrototype: object = HashMap.prototype;
Object.setPrototypeOf(publicPrototype, ContainerCore.prototype);
