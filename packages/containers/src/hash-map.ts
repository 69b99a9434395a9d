import { CorruptionError, InvalidArgumentError, describe, hex } from "@memkit/core";
import type { Allocator, Ptr } from "@memkit/core";
import { elementKind, keyKind, kindOfCode, type ElementKind, type KeyKind, type ValueOf } from "./element-kind.js";
import { defineHashMap, type TableClass } from "./hash-table.js";
import type { HashTableInfo, HashTableOptions } from "./hash-table-info.js";
import { ContainerCore } from "./container-core.js";
import { ContainerDescriptor, type RestoreOptions } from "./descriptor.js";
import { HASH_MAP_LAYOUT, W_KEY_KIND, W_VALUE_KIND } from "./hash-descriptor.js";
import { checkAllocator } from "./errors.js";

/** Options of {@link HashMap}: the key and value kinds, plus the table options. */
export interface HashMapOptions<K extends KeyKind, V extends ElementKind> extends HashTableOptions {
  /** Key kind: u32, i32 or f64. */
  key: K;
  /** Value kind: any element kind. */
  value: V;
}

/** Options of `HashMap.restore`: the kinds expected (the descriptor records them; others are a CorruptionError). */
export interface HashMapRestoreOptions<K extends KeyKind, V extends ElementKind> extends RestoreOptions {
  key?: K;
  value?: V;
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
  /**
   * Writes the table's descriptor (block, slots, key count, kinds, load
   * factor, name) into memory from its allocator and returns its address, for
   * `HashMap.restore`. A snapshot of the key count: call it again after
   * inserting or deleting, right before saving the memory.
   */
  persist(): Ptr;
  /** The descriptor {@link persist} wrote, or 0 before the first persist(). */
  readonly descriptorPtr: Ptr;
  /** Frees the table (and the descriptor); afterwards every call throws. Idempotent. */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** `new HashMap(allocator, { key, value, ... })` and `HashMap.restore(allocator, descriptorPtr, options?)`. */
export interface HashMapConstructor {
  new <K extends KeyKind, V extends ElementKind>(allocator: Allocator, options: HashMapOptions<K, V>): HashMap<K, V>;
  /**
   * A handle on the map whose descriptor ({@link HashMap.persist}) is at
   * `descriptorPtr`, allocating and freeing through `allocator` (the one it
   * was created with, or a handle attached to it). Same entries, capacity,
   * load factor and name. A handle this thread still holds on that map ends
   * (one live handle per container). A damaged, wrong or stale descriptor is
   * a CorruptionError naming what was found.
   */
  restore<K extends KeyKind = KeyKind, V extends ElementKind = ElementKind>(allocator: Allocator, descriptorPtr: Ptr, options?: HashMapRestoreOptions<K, V>): HashMap<K, V>;
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
  return new (implFor(k, v))(allocator, options);
} as unknown as HashMapConstructor;

const publicPrototype: object = HashMap.prototype;
Object.setPrototypeOf(publicPrototype, ContainerCore.prototype);

function implFor(k: KeyKind, v: ElementKind): TableClass {
  const id = `${k}:${v}`;
  let impl = impls.get(id);
  if (impl === undefined) {
    impl = defineHashMap(k, v, publicPrototype);
    impls.set(id, impl);
  }
  return impl;
}

HashMap.restore = function restore<K extends KeyKind, V extends ElementKind>(allocator: Allocator, descriptorPtr: Ptr, options?: HashMapRestoreOptions<K, V>): HashMap<K, V> {
  const who = "HashMap.restore";
  checkAllocator(who, allocator);
  const wantKey = options?.key === undefined ? undefined : keyKind(who, options.key).kind;
  const wantValue = options?.value === undefined ? undefined : elementKind(`${who}: value`, options.value).kind;
  const d = ContainerDescriptor.open(who, allocator, descriptorPtr, HASH_MAP_LAYOUT, options);
  const k = kindOfCode(d.word(W_KEY_KIND, 0, 9, "key kind"))!;
  if (k !== "u32" && k !== "i32" && k !== "f64") throw d.damaged(`key kind ${k} is not a key kind`);
  const v = kindOfCode(d.word(W_VALUE_KIND, 0, 9, "value kind"))!;
  if ((wantKey !== undefined && wantKey !== k) || (wantValue !== undefined && wantValue !== v)) {
    throw new CorruptionError(`${who}: the descriptor at ${hex(descriptorPtr)} ("${d.name}") is a HashMap<${k}, ${v}>, not a HashMap<${wantKey ?? k}, ${wantValue ?? v}>.`);
  }
  return new (implFor(k, v))(allocator, d) as unknown as HashMap<K, V>;
};
