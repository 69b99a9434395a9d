import { alignUp } from "@memkit/core";
import type { ElementKindInfo } from "./element-kind.js";

// The geometry of the hash tables: load limits, slot counts and where the key
// and the value sit inside one entry.

/** The default maximum load factor: linear probing stays short (about 2.5 probes per hit on average) below it. */
export const DEFAULT_MAX_LOAD_FACTOR = 0.75;
/** The highest maximum load factor a table accepts. */
export const MAX_LOAD_FACTOR_LIMIT = 0.875;
/** Fewest slots a table has. */
export const MIN_TABLE_SLOTS = 8;
/** Most slots a table may have (2^27: with 16-byte entries, the whole 2 GiB address space). */
export const MAX_TABLE_SLOTS = 2 ** 27;

/** Where things sit inside one entry; see the diagram in hash-table.ts. */
export interface EntryLayout {
  stride: number;
  valueOffset: number;
  /** Stride in key-sized elements. */
  keyStep: number;
  /** Stride in value-sized elements (0 for a set). */
  valueStep: number;
}

/** Entry geometry for a key kind and an optional value kind. */
export function entryLayout(key: ElementKindInfo, value: ElementKindInfo | null): EntryLayout {
  if (value === null) return { stride: key.size, valueOffset: 0, keyStep: 1, valueStep: 0 };
  const valueOffset = alignUp(key.size, value.size);
  const stride = alignUp(valueOffset + value.size, Math.max(key.size, value.size));
  return { stride, valueOffset, keyStep: stride / key.size, valueStep: stride / value.size };
}

/** Slots for `entries` entries at `maxLoad`: the power of two that holds them without growing. */
export function slotsFor(entries: number, maxLoad: number): number {
  let slots = MIN_TABLE_SLOTS;
  while (Math.floor(slots * maxLoad) < entries) slots *= 2;
  return slots;
}
