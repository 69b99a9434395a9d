import { MAX_OWNERS, NAME_TABLE_BYTES, W_NAMES, W_NAME_BYTES, W_OWNER_COUNT } from "./layout.js";

/*
 * The owner name table in the page control block (see layout.ts): names live
 * in linear memory, so a handle attached from another thread, or after a
 * restore, reports "heap" rather than "owner#1".
 */

/** Longest name kept, in UTF-8 bytes (a length byte counts them). */
const MAX_NAME_BYTES = 255;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Writes owner `id`'s entry (the next one) at the end of the table, word by
 * word through `put` (the allocator's store: logged under its lock on a
 * shared space). A name too long for the entry or for the room left is cut on
 * a character boundary; one byte stays reserved for every later id, so each
 * owner gets an entry, possibly empty.
 */
export function appendOwnerName(u32: Uint32Array, cw: number, id: number, name: string, put: (index: number, value: number) => void): void {
  const used = u32[cw + W_NAME_BYTES]!;
  const room = NAME_TABLE_BYTES - used - (MAX_OWNERS - id) - 1;
  const bytes = encoder.encode(name);
  let n = Math.min(bytes.length, MAX_NAME_BYTES, Math.max(0, room));
  while (n > 0 && n < bytes.length && (bytes[n]! & 0xc0) === 0x80) n--; // not inside a character
  // The entry (length byte, then n bytes) over the words it touches, the first one's earlier bytes kept.
  const first = used >>> 2;
  const last = (used + n) >>> 2;
  const words = new Uint32Array(last - first + 1);
  for (let w = 0; w < words.length; w++) words[w] = u32[cw + W_NAMES + first + w]!;
  const entry = new Uint8Array(words.buffer);
  entry[used & 3] = n;
  entry.set(bytes.subarray(0, n), (used & 3) + 1);
  for (let w = 0; w < words.length; w++) put(cw + W_NAMES + first + w, words[w]!);
  put(cw + W_NAME_BYTES, used + 1 + n);
}

/** Owner `id`'s name as the table holds it, or undefined (no such owner, an empty entry, a damaged table). O(owners). */
export function readOwnerName(u8: Uint8Array, u32: Uint32Array, cw: number, id: number): string | undefined {
  const count = u32[cw + W_OWNER_COUNT]!;
  const used = Math.min(u32[cw + W_NAME_BYTES]!, NAME_TABLE_BYTES);
  if (!(id >= 1 && id <= count && count <= MAX_OWNERS)) return undefined;
  const table = (cw + W_NAMES) * 4;
  let at = 0;
  for (let i = 1; i < id; i++) {
    if (at >= used) return undefined;
    at += 1 + u8[table + at]!;
  }
  const n = u8[table + at]!;
  if (at >= used || n === 0 || at + 1 + n > used) return undefined;
  return decoder.decode(u8.slice(table + at + 1, table + at + 1 + n)); // a copy: decode refuses shared views
}

/** What is wrong with the table (entries must fill exactly nameBytes with valid UTF-8), or undefined. */
export function nameTableFault(u8: Uint8Array, u32: Uint32Array, cw: number): string | undefined {
  const count = u32[cw + W_OWNER_COUNT]!;
  const used = u32[cw + W_NAME_BYTES]!;
  if (count > MAX_OWNERS || used > NAME_TABLE_BYTES) return `owner count ${count} or name bytes ${used} out of range`;
  const table = (cw + W_NAMES) * 4;
  let at = 0;
  for (let id = 1; id <= count; id++) {
    const n = u8[table + at]!;
    if (at >= used || at + 1 + n > used) return `the entry of owner ${id} runs past the ${used} bytes used`;
    try {
      strict.decode(u8.slice(table + at + 1, table + at + 1 + n));
    } catch {
      return `the name of owner ${id} is not UTF-8`;
    }
    at += 1 + n;
  }
  if (at !== used) return `${count} entries fill ${at} bytes, the table says ${used}`;
  for (let i = table + used; i < table + NAME_TABLE_BYTES; i++) if (u8[i] !== 0) return `a stray byte past the last entry, at +${i - table}`;
  return undefined;
}
