import type { ControlLayout } from "@memkit/core";
import { W_KIND_WORDS, descriptorLayout } from "./descriptor.js";

/*
 * HashMap / HashSet descriptor (persist()): the common words (descriptor.ts), then
 *   +8      W_KEY_KIND     key kind code (kindCode: u32, i32 or f64)
 *   +9      W_VALUE_KIND   value kind code; NO_VALUE for a set
 *   +10,11  D_MAX_LOAD     max load factor (f64 slot 5: the block is 8-aligned)
 *   +12     W_SLOTS        slots (a power of two)
 *   +13     W_USED         keys in the slots (key 0 is flagged in the extra entry)
 * Everything else of a table is in its block; restore recounts the keys and
 * refuses a descriptor whose count differs (stale: persist() was not called
 * after the last insert or delete).
 */
export const W_KEY_KIND = W_KIND_WORDS;
export const W_VALUE_KIND = W_KIND_WORDS + 1;
export const D_MAX_LOAD = (W_KIND_WORDS + 2) / 2;
export const W_SLOTS = W_KIND_WORDS + 4;
export const W_USED = W_KIND_WORDS + 5;
/** W_VALUE_KIND of a set. */
export const NO_VALUE = 0xffffffff;
/** The HashMap descriptor: magic "HMAP". */
export const HASH_MAP_LAYOUT: ControlLayout = descriptorLayout("HashMap", "HMAP", W_USED);
/** The HashSet descriptor: magic "HSET". */
export const HASH_SET_LAYOUT: ControlLayout = descriptorLayout("HashSet", "HSET", W_USED);
