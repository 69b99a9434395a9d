import { InvalidArgumentError, describe } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { keyKind, type KeyKind } from "./element-kind.js";
import { defineHashSet, type HashTableInfo, type HashTableOptions, type TableClass } from "./hash-table.js";
import { ContainerCore } from "./container-core.js";

/** Options of {@link HashSet}. */
export interface HashSetOptions<K extends KeyKind> extends HashTableOptions {
  /** Key kind: u32, i32 or f64. */
  key: K;
}

/**
 * A set of numeric keys in one block of the address space: the same table
 * as {@link HashMap} without values (entries are just keys: 4 or 8 bytes).
 * `add`, `has`, `delete` and cursor iteration create no JS objects.
 */
export interface HashSet<K extends KeyKind = KeyKind> extends HashTableInfo<K> {
  /** Adds `key`; returns true when it was not there yet. */
  add(key: number): boolean;
  /** True when `key` is present. */
  has(key: number): boolean;
  /** Removes `key`; returns whether it was present. */
  delete(key: number): boolean;
  /** Removes every key (O(capacity)). */
  clear(): void;
  /** Calls `callback(key)` per key. Throws if the callback adds or deletes keys. */
  forEach(callback: (key: number) => void): void;
  /** The cursor after `cursor`; start with -1, -1 again at the end. */
  next(cursor: number): number;
  /** Key at an occupied cursor. */
  keyAt(cursor: number): number;
  /** The keys, for debugging and tests. */
  toArray(): number[];
  /** Verifies the table's invariants; CorruptionError at the first fault. */
  check(): void;
  /** Frees the table; afterwards every call throws. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** `new HashSet(allocator, { key, ... })`. */
export interface HashSetConstructor {
  new <K extends KeyKind>(allocator: Allocator, options: HashSetOptions<K>): HashSet<K>;
  readonly prototype: HashSet;
}

const impls: Partial<Record<KeyKind, TableClass>> = {};

/**
 * Creates a hash set in memory from `allocator`.
 *
 * ```ts
 * const seen = new HashSet(allocator, { key: "u32" });
 * if (seen.add(entityId)) visit(entityId);
 * seen.dispose();
 * ```
 */
export const HashSet = function HashSet(this: unknown, allocator: Allocator, options: HashSetOptions<KeyKind>): object {
  if (new.target === undefined) throw new TypeError("Class constructor HashSet cannot be invoked without 'new'");
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`HashSet: expected options { key }, received ${describe(options)}.`);
  }
  const k = keyKind("HashSet", options.key).kind as KeyKind;
  let impl = impls[k];
  if (impl === undefined) {
    impl = defineHashSet(k, publicPrototype);
    impls[k] = impl;
  }
  return new impl(allocator, options);
} as unknown as HashSetConstructor;

const publicPrototype: object = HashSet.prototype;
Object.setPrototypeOf(publicPrototype, ContainerCore.prototype);
