import { CorruptionError, InvalidArgumentError, describe, hex } from "@memkit/core";
import type { Allocator, Ptr } from "@memkit/core";
import { keyKind, kindOfCode, type KeyKind } from "./element-kind.js";
import { defineHashSet, type TableClass } from "./hash-table.js";
import type { HashTableInfo, HashTableOptions } from "./hash-table-info.js";
import { ContainerCore } from "./container-core.js";
import { ContainerDescriptor, type RestoreOptions } from "./descriptor.js";
import { HASH_SET_LAYOUT, NO_VALUE, W_KEY_KIND, W_VALUE_KIND } from "./hash-descriptor.js";
import { checkAllocator } from "./errors.js";

/** Options of {@link HashSet}. */
export interface HashSetOptions<K extends KeyKind> extends HashTableOptions {
  /** Key kind: u32, i32 or f64. */
  key: K;
}

/** Options of `HashSet.restore`: the key kind expected (the descriptor records it; another is a CorruptionError). */
export interface HashSetRestoreOptions<K extends KeyKind> extends RestoreOptions {
  key?: K;
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
  /** As HashMap's: writes the set's descriptor for `HashSet.restore`; call it again after adding or deleting, before saving. */
  persist(): Ptr;
  /** The descriptor {@link persist} wrote, or 0 before the first persist(). */
  readonly descriptorPtr: Ptr;
  /** Frees the table (and the descriptor); afterwards every call throws. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** `new HashSet(allocator, { key, ... })` and `HashSet.restore(allocator, descriptorPtr, options?)`. */
export interface HashSetConstructor {
  new <K extends KeyKind>(allocator: Allocator, options: HashSetOptions<K>): HashSet<K>;
  /** As `HashMap.restore`, for a set's descriptor. */
  restore<K extends KeyKind = KeyKind>(allocator: Allocator, descriptorPtr: Ptr, options?: HashSetRestoreOptions<K>): HashSet<K>;
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
  return new (implFor(k))(allocator, options);
} as unknown as HashSetConstructor;

const publicPrototype: object = HashSet.prototype;
Object.setPrototypeOf(publicPrototype, ContainerCore.prototype);

function implFor(k: KeyKind): TableClass {
  return (impls[k] ??= defineHashSet(k, publicPrototype));
}

HashSet.restore = function restore<K extends KeyKind>(allocator: Allocator, descriptorPtr: Ptr, options?: HashSetRestoreOptions<K>): HashSet<K> {
  const who = "HashSet.restore";
  checkAllocator(who, allocator);
  const wantKey = options?.key === undefined ? undefined : keyKind(who, options.key).kind;
  const d = ContainerDescriptor.open(who, allocator, descriptorPtr, HASH_SET_LAYOUT, options);
  const k = kindOfCode(d.word(W_KEY_KIND, 0, 9, "key kind"))!;
  if (k !== "u32" && k !== "i32" && k !== "f64") throw d.damaged(`key kind ${k} is not a key kind`);
  d.word(W_VALUE_KIND, NO_VALUE, NO_VALUE, "value kind");
  if (wantKey !== undefined && wantKey !== k) {
    throw new CorruptionError(`${who}: the descriptor at ${hex(descriptorPtr)} ("${d.name}") is a HashSet<${k}>, not a HashSet<${wantKey}>.`);
  }
  return new (implFor(k))(allocator, d) as unknown as HashSet<K>;
};
