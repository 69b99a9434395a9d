import { AllocatorError, CorruptionError, InvalidArgumentError, OutOfMemoryError, describe, hex } from "@memkit/core";
import type { Allocator, ControlLayout } from "@memkit/core";
import { ContainerCore } from "./container-core.js";
import { ELEMENT_KINDS, kindCode, type ElementKind, type ElementKindInfo, type ElementView, type KeyKind } from "./element-kind.js";
import type { SpaceViews } from "@memkit/core";
import { KEY_OPS } from "./hash.js";
import { DEFAULT_MAX_LOAD_FACTOR, MAX_LOAD_FACTOR_LIMIT, MAX_TABLE_SLOTS, MIN_TABLE_SLOTS, entryLayout, slotsFor } from "./hash-geometry.js";
import { callbackError, isCount } from "./errors.js";
import { ContainerDescriptor } from "./descriptor.js";
import { D_MAX_LOAD, HASH_MAP_LAYOUT, HASH_SET_LAYOUT, NO_VALUE, W_KEY_KIND, W_SLOTS, W_USED, W_VALUE_KIND } from "./hash-descriptor.js";
import type { HashMap } from "./hash-map.js";
import type { HashSet } from "./hash-set.js";
import type { HashTableOptions } from "./hash-table-info.js";

/**
 * Builds the open-addressing core for one (key kind, value kind) pair.
 * Everything is compiled per pair so typed-array accesses stay monomorphic.
 *
 * Layout: one block of `slots + 1` entries. Linear probing over a power-of-two
 * number of slots; an empty slot holds key 0. Key 0 itself (and -0 for f64)
 * lives in the extra entry after the last slot, whose key field is 1 while
 * key 0 is present — so "empty" needs no separate metadata, and each probe
 * reads one entry (key and value side by side, usually one cache line).
 *
 * ```
 * u32 -> f32 (stride 8):  | key u32 | value f32 | ... slots ... | present? | value-of-key-0 |
 * u32 -> f64 (stride 16): | key u32 | pad 4 | value f64 | ...
 * f64 set    (stride 8):  | key f64 | ...
 * ```
 *
 * Deletion shifts later entries of the probe run back into the hole
 * (Knuth's Algorithm R): no tombstones, so lookups never slow down with
 * churn, and the load factor counts live entries only.
 */
function defineHashTable(type: string, key: ElementKindInfo, value: ElementKindInfo | null, publicPrototype: object) {
  const ops = KEY_OPS[key.kind as "u32" | "i32" | "f64"];
  const validKey = ops.valid;
  const hashKey = ops.hash;
  const { stride, valueOffset, keyStep, valueStep } = entryLayout(key, value);
  const hasValues = value !== null;
  const layout = hasValues ? HASH_MAP_LAYOUT : HASH_SET_LAYOUT;

  abstract class HashTableImpl extends ContainerCore {
    /** The grow threshold as a fraction of the slots. */
    readonly maxLoadFactor: number;
    /** Whole-space views of the key and value kinds (refreshed after growth). */
    protected keys: ElementView;
    protected vals: ElementView;
    /** Element index of slot 0's key / value. */
    protected kb = 0;
    protected vb = 0;
    protected slots = 0;
    protected mask = 0;
    /** Entries in the slots (key 0 is counted apart). */
    protected used = 0;
    protected growAt = 0;
    /** Bumped by every insert of a new key, delete and clear: forEach refuses to continue past one. */
    protected version = 0;

    protected constructor(allocator: Allocator, options: HashTableOptions | ContainerDescriptor | undefined) {
      super(type, allocator, options);
      this.keys = this.views.view(key.kind) as unknown as ElementView;
      this.vals = this.views.view((value ?? key).kind) as unknown as ElementView;
      if (options instanceof ContainerDescriptor) {
        const maxLoad = options.f64(D_MAX_LOAD);
        if (!(maxLoad >= 0.25 && maxLoad <= MAX_LOAD_FACTOR_LIMIT)) throw options.damaged(`max load factor ${maxLoad}, outside 0.25..${MAX_LOAD_FACTOR_LIMIT}`);
        this.maxLoadFactor = maxLoad;
        this.restoreFrom(options, () => {
          const slots = options.word(W_SLOTS, MIN_TABLE_SLOTS, MAX_TABLE_SLOTS, "slots");
          if ((slots & (slots - 1)) !== 0) throw options.damaged(`slots ${slots} is not a power of two`);
          this.place(this.block, slots);
          this.used = options.word(W_USED, 0, this.growAt, "keys");
        });
        this.attachViews();
        return;
      }
      const maxLoad: unknown = options?.maxLoadFactor === undefined ? DEFAULT_MAX_LOAD_FACTOR : options.maxLoadFactor;
      if (typeof maxLoad !== "number" || !(maxLoad >= 0.25 && maxLoad <= MAX_LOAD_FACTOR_LIMIT)) {
        throw new InvalidArgumentError(`${this.label}: option maxLoadFactor must be a number from 0.25 to ${MAX_LOAD_FACTOR_LIMIT}, received ${describe(maxLoad)}.`);
      }
      const capacity: unknown = options?.capacity === undefined ? 0 : options.capacity;
      const maxEntries = Math.floor(MAX_TABLE_SLOTS * maxLoad);
      if (!isCount(capacity, maxEntries)) {
        throw new InvalidArgumentError(`${this.label}: option capacity must be an integer from 0 to ${maxEntries}, received ${describe(capacity)}.`);
      }
      this.maxLoadFactor = maxLoad;
      this.rehash(slotsFor(capacity, maxLoad));
      this.attachViews();
    }

    /** Number of entries. */
    get size(): number {
      if (this.block === 0) return 0;
      return this.used + (this.keys[this.kb + this.slots * keyStep] !== 0 ? 1 : 0);
    }

    /** Slots in the table (a power of two); it grows when size would exceed `capacity × maxLoadFactor`. */
    get capacity(): number {
      return this.slots;
    }

    /** True when `key` is present. */
    has(k: number): boolean {
      return this.find(k) >= 0;
    }

    /** Removes `key`; returns whether it was present. */
    delete(k: number): boolean {
      const s = this.find(k);
      if (s < 0) return false;
      this.removeSlot(s);
      return true;
    }

    /** Removes every entry (O(capacity)); keeps the table's size. */
    clear(): void {
      if (this.block === 0) this.throwDisposed();
      this.views.u8.fill(0, this.block, this.block + this.blockBytes);
      this.used = 0;
      this.version++;
    }

    /**
     * The cursor after `cursor` (start with -1; -1 again means the end).
     * Cursors are slot indexes: allocation-free iteration —
     * `for (let c = t.next(-1); c !== -1; c = t.next(c)) t.keyAt(c)`.
     * Inserting a new key or deleting one invalidates cursors.
     */
    next(cursor: number): number {
      if (this.block === 0) this.throwDisposed();
      const slots = this.slots;
      if (typeof cursor !== "number" || (cursor | 0) !== cursor || cursor < -1 || cursor > slots) throw this.cursorError(cursor);
      const keys = this.keys;
      const kb = this.kb;
      for (let s = cursor + 1; s < slots; s++) if (keys[kb + s * keyStep] !== 0) return s;
      if (cursor < slots && keys[kb + slots * keyStep] !== 0) return slots;
      return -1;
    }

    /** The key at an occupied cursor; RangeError otherwise. */
    keyAt(cursor: number): number {
      this.checkCursor(cursor);
      return cursor === this.slots ? 0 : this.keys[this.kb + cursor * keyStep]!;
    }

    /**
     * Verifies the table: every key reachable from its home slot without
     * crossing an empty slot, no key stored twice, `size` matching the slots.
     * Throws CorruptionError at the first fault. O(capacity × probe length).
     */
    check(): void {
      if (this.isDisposed) return;
      const slots = this.slots;
      if (this.block === 0 || this.blockBytes !== (slots + 1) * stride || this.kb !== this.block >>> key.shift || this.used > this.growAt) {
        throw new CorruptionError(`${this.label}: block ${hex(this.block)} of ${this.blockBytes} bytes does not hold ${slots} slots with ${this.used} keys.`);
      }
      this.checkBlock(this.blockBytes);
      const keys = this.keys;
      const mask = this.mask;
      let count = 0;
      for (let s = 0; s < this.slots; s++) {
        const k = keys[this.kb + s * keyStep]!;
        if (k === 0) continue;
        count++;
        if (!validKey(k)) throw new CorruptionError(`${this.label}: slot ${s} holds ${describe(k)}, not a valid key.`);
        let p = hashKey(k) & mask;
        while (p !== s) {
          const other = keys[this.kb + p * keyStep]!;
          if (other === 0) throw new CorruptionError(`${this.label}: key ${k} in slot ${s} is cut off from its home slot by an empty slot ${p}.`);
          if (other === k) throw new CorruptionError(`${this.label}: key ${k} is stored twice (slots ${p} and ${s}).`);
          p = (p + 1) & mask;
        }
      }
      if (count !== this.used) throw new CorruptionError(`${this.label}: ${count} keys in the slots, but the count says ${this.used}.`);
    }

    /** @internal */
    refreshViews(views: SpaceViews): void {
      this.keys = views.view(key.kind) as unknown as ElementView;
      this.vals = views.view((value ?? key).kind) as unknown as ElementView;
    }

    protected descriptorLayout(): ControlLayout {
      return layout;
    }

    protected writeDescriptorWords(u32: Uint32Array, w: number): void {
      u32[w + W_KEY_KIND] = kindCode(key.kind);
      u32[w + W_VALUE_KIND] = value === null ? NO_VALUE : kindCode(value.kind);
      this.views.f64[(w >>> 1) + D_MAX_LOAD] = this.maxLoadFactor;
      u32[w + W_SLOTS] = this.slots;
      u32[w + W_USED] = this.used;
    }

    protected resetState(): void {
      this.slots = 0;
      this.mask = 0;
      this.used = 0;
      this.kb = 0;
      this.vb = 0;
    }

    /** The slot of `k` (`slots` for key 0), or -1. Throws for a disposed table or a key outside the key kind. */
    protected find(k: number): number {
      if (this.block === 0) this.throwDisposed();
      if (k === 0) return this.keys[this.kb + this.slots * keyStep] !== 0 ? this.slots : -1;
      if (!validKey(k)) this.throwKey(k);
      const keys = this.keys;
      const kb = this.kb;
      const mask = this.mask;
      let s = hashKey(k) & mask;
      for (;;) {
        const found = keys[kb + s * keyStep];
        if (found === k) return s;
        if (found === 0) return -1;
        s = (s + 1) & mask;
      }
    }

    /**
     * The slot of `k`, inserting the key when absent: returns the slot when
     * it was inserted, `~slot` (negative) when it was already there. Grows
     * first when the insert would pass the load limit.
     */
    protected insert(k: number): number {
      if (this.block === 0) this.throwDisposed();
      if (k === 0) {
        const z = this.kb + this.slots * keyStep;
        if (this.keys[z] !== 0) return ~this.slots;
        this.keys[z] = 1;
        this.version++;
        return this.slots;
      }
      if (!validKey(k)) this.throwKey(k);
      for (;;) {
        const keys = this.keys;
        const kb = this.kb;
        const mask = this.mask;
        let s = hashKey(k) & mask;
        let found = keys[kb + s * keyStep];
        while (found !== 0) {
          if (found === k) return ~s;
          s = (s + 1) & mask;
          found = keys[kb + s * keyStep];
        }
        if (this.used >= this.growAt) {
          this.grow();
          continue; // probe again in the larger table
        }
        keys[kb + s * keyStep] = k;
        this.used++;
        this.version++;
        return s;
      }
    }

    /** Empties slot `s`, shifting the rest of its probe run back so no tombstone is left. */
    protected removeSlot(s: number): void {
      this.version++;
      if (s === this.slots) {
        this.keys[this.kb + s * keyStep] = 0;
        return;
      }
      const keys = this.keys;
      const vals = this.vals;
      const kb = this.kb;
      const vb = this.vb;
      const mask = this.mask;
      let hole = s;
      let j = s;
      for (;;) {
        j = (j + 1) & mask;
        const k = keys[kb + j * keyStep]!;
        if (k === 0) break;
        // The entry at j may fill the hole only if the hole lies on its probe path (home..j, cyclically).
        const home = hashKey(k) & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
          keys[kb + hole * keyStep] = k;
          if (hasValues) vals[vb + hole * valueStep] = vals[vb + j * valueStep]!;
          hole = j;
        }
      }
      keys[kb + hole * keyStep] = 0;
      this.used--;
    }

    /** Throws unless `cursor` is an occupied slot (or the present key-0 entry). */
    protected checkCursor(cursor: number): void {
      if (this.block === 0) this.throwDisposed();
      if (typeof cursor !== "number" || cursor >>> 0 !== cursor || cursor > this.slots || this.keys[this.kb + cursor * keyStep] === 0) {
        throw this.cursorError(cursor);
      }
    }

    protected throwKey(k: unknown): never {
      throw new InvalidArgumentError(`${this.label}: key ${describe(k)} is not a ${key.kind} key (${ops.domain}).`);
    }

    /** Throws the error for a structural change made by a forEach callback. */
    protected throwModified(): never {
      throw new AllocatorError(
        `${this.label}: modified during forEach (a new key or a delete moves entries, so iteration would skip or repeat some).\n` +
          `  Collect the keys first, then change the table; changing values of existing keys is fine.`,
      );
    }

    /** Throws unless `callback` is a function (or the table was disposed). */
    protected checkIteration(callback: unknown): void {
      if (this.block === 0) this.throwDisposed();
      if (typeof callback !== "function") throw callbackError(this.label, "forEach", callback);
    }

    /** InvalidArgumentError for a cursor that is not a number; RangeError for a number that is no occupied slot. */
    private cursorError(cursor: unknown): RangeError | InvalidArgumentError {
      if (typeof cursor !== "number") {
        return new InvalidArgumentError(`${this.label}: cursor ${describe(cursor)} is not a number; get cursors from next().`);
      }
      return new RangeError(`${this.label}: cursor ${describe(cursor)} is not an occupied slot (capacity ${this.slots}); get cursors from next().`);
    }

    private grow(): void {
      if (this.slots >= MAX_TABLE_SLOTS) {
        throw new OutOfMemoryError(`${this.label}: full: cannot grow past ${MAX_TABLE_SLOTS} slots (${this.used} entries).`);
      }
      this.rehash(this.slots * 2);
    }

    /**
     * Moves every entry into a fresh zeroed block of `slots + 1` entries. The
     * allocator may grow the space: everything is read through `this.views`
     * after the allocation. If the allocation throws, nothing changed.
     */
    private rehash(slots: number): void {
      const bytes = (slots + 1) * stride;
      const ptr = this.allocateBlock(bytes);
      const views = this.views;
      // Zeroed: an empty slot is key 0, and a reused block holds its last owner's bytes.
      views.u8.fill(0, ptr, ptr + bytes);
      const keys = views.view(key.kind) as unknown as ElementView;
      const vals = views.view((value ?? key).kind) as unknown as ElementView;
      const kb = ptr >>> key.shift;
      const vb = value !== null ? (ptr + valueOffset) >>> value.shift : 0;
      const mask = slots - 1;
      const old = this.block;
      if (old !== 0) {
        const okb = this.kb;
        const ovb = this.vb;
        const oldSlots = this.slots;
        for (let s = 0; s <= oldSlots; s++) {
          const k = keys[okb + s * keyStep]!;
          if (k === 0) continue;
          // The key-0 entry moves to the new key-0 entry; the rest are re-probed.
          let t = slots;
          if (s < oldSlots) {
            t = hashKey(k) & mask;
            while (keys[kb + t * keyStep] !== 0) t = (t + 1) & mask;
          }
          keys[kb + t * keyStep] = k;
          if (hasValues) vals[vb + t * valueStep] = vals[ovb + s * valueStep]!;
        }
      }
      this.place(ptr, slots);
      this.version++;
      this.setBlock(ptr, bytes);
      this.refreshViews(views);
      if (old !== 0) this.allocator.deallocate(old);
      this.blockMoved();
    }

    protected override rebase(): void {
      this.place(this.block, this.slots);
    }

    /** Points the table at `slots` slots in the block at `ptr`. */
    private place(ptr: number, slots: number): void {
      this.kb = ptr >>> key.shift;
      this.vb = value !== null ? (ptr + valueOffset) >>> value.shift : 0;
      this.slots = slots;
      this.mask = slots - 1;
      this.growAt = Math.floor(slots * this.maxLoadFactor);
    }
  }

  // Chain through the public constructor's prototype so `instanceof HashMap` / `instanceof HashSet` holds for every kind pair.
  Object.setPrototypeOf(HashTableImpl.prototype, publicPrototype);
  return HashTableImpl;
}

/** A table class as the public constructors (and restore) see it. @internal */
export type TableClass = new (allocator: Allocator, options: HashTableOptions | ContainerDescriptor) => ContainerCore;

/** The HashMap class for one (key, value) kind pair. @internal */
export function defineHashMap(keyKindName: KeyKind, valueKindName: ElementKind, publicPrototype: object): TableClass {
  const keyInfo = ELEMENT_KINDS[keyKindName];
  const valueInfo = ELEMENT_KINDS[valueKindName];
  const { keyStep, valueStep } = entryLayout(keyInfo, valueInfo);
  const Table = defineHashTable(`HashMap<${keyKindName}, ${valueKindName}>`, keyInfo, valueInfo, publicPrototype);
  // Values must be of the value kind's JS type (a literal typeof behind a constant flag: a type check in V8).
  const bigint = valueInfo.bigint;

  return class HashMapImpl extends Table implements HashMap<"f64", "f64"> {
    readonly keyKind = keyKindName as "f64";
    readonly valueKind = valueKindName as "f64";

    constructor(allocator: Allocator, options: HashTableOptions | ContainerDescriptor) {
      super(allocator, options);
    }

    get(k: number, fallback: number): number {
      const s = this.find(k);
      return s < 0 ? fallback : this.vals[this.vb + s * valueStep]!;
    }

    set(k: number, v: number): void {
      // Checked before the insert, so a refused value never leaves its key behind.
      if (bigint ? typeof (v as unknown) !== "bigint" : typeof v !== "number") this.throwValue(valueInfo, v);
      const s = this.insert(k);
      this.vals[this.vb + (s < 0 ? ~s : s) * valueStep] = v;
    }

    valueAt(cursor: number): number {
      this.checkCursor(cursor);
      return this.vals[this.vb + cursor * valueStep]!;
    }

    setValueAt(cursor: number, v: number): void {
      this.checkCursor(cursor);
      if (bigint ? typeof (v as unknown) !== "bigint" : typeof v !== "number") this.throwValue(valueInfo, v);
      this.vals[this.vb + cursor * valueStep] = v;
    }

    forEach(callback: (key: number, value: number) => void): void {
      this.checkIteration(callback);
      const version = this.version;
      for (let c = this.next(-1); c !== -1; c = this.next(c)) {
        callback(c === this.slots ? 0 : this.keys[this.kb + c * keyStep]!, this.vals[this.vb + c * valueStep]!);
        if (this.version !== version) this.throwModified();
      }
    }

    toArray(): [number, number][] {
      const out: [number, number][] = [];
      for (let c = this.next(-1); c !== -1; c = this.next(c)) out.push([this.keyAt(c), this.valueAt(c)]);
      return out;
    }
  };
}

/** The HashSet class for one key kind. @internal */
export function defineHashSet(keyKindName: KeyKind, publicPrototype: object): TableClass {
  const keyInfo = ELEMENT_KINDS[keyKindName];
  const { keyStep } = entryLayout(keyInfo, null);
  const Table = defineHashTable(`HashSet<${keyKindName}>`, keyInfo, null, publicPrototype);

  return class HashSetImpl extends Table implements HashSet<"f64"> {
    readonly keyKind = keyKindName as "f64";

    constructor(allocator: Allocator, options: HashTableOptions | ContainerDescriptor) {
      super(allocator, options);
    }

    add(k: number): boolean {
      return this.insert(k) >= 0;
    }

    forEach(callback: (key: number) => void): void {
      this.checkIteration(callback);
      const version = this.version;
      for (let c = this.next(-1); c !== -1; c = this.next(c)) {
        callback(c === this.slots ? 0 : this.keys[this.kb + c * keyStep]!);
        if (this.version !== version) this.throwModified();
      }
    }

    toArray(): number[] {
      const out: number[] = [];
      for (let c = this.next(-1); c !== -1; c = this.next(c)) out.push(this.keyAt(c));
      return out;
    }
  };
}
