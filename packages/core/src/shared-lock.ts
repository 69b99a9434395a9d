import type { AddressSpace } from "./address-space.js";
import { AllocatorError, CorruptionError, InvalidArgumentError } from "./errors.js";
import { hex } from "./format.js";
import { SpaceHandle } from "./space-handle.js";
import { SpaceViews, type ViewHolder, type ViewSet } from "./space-views.js";
import { ThreadTable, type ThreadSeat } from "./thread-table.js";
import type { Ptr } from "./types.js";
import { describe } from "./validate.js";

/*
 * A lock in linear memory that survives a dead holder (docs/threads.md).
 *
 *   words from ptr (8-aligned; zeroed words are a free lock with an empty log)
 *   +0  holder     0 when free; a seat: (slot + 1) | generation << 8   8 + 24 = 32 bits
 *                  anonymous: id << 8 (slot byte 0: cannot be recovered)
 *   +1  entries    log entries written by the current holder: the commit word
 *   +2  table      controlPtr of the thread table the holders' seats come from (0: none yet)
 *   +3  anonymous  last anonymous id handed out
 *   +4  waiters    threads sleeping in Atomics.wait on the holder word
 *   +5  takeovers  times a dead holder's section was undone
 *   +6  log        capacity entries of two words:
 *                    (word index, old value)                       one word
 *                    (word index | RANGE, old value), (n | TAIL, 0) n words that all held old value
 *
 * Memory ordering. Every word of the lock (holder, entries, table, counters)
 * is an Atomics access (sequentially consistent). A thread that takes the lock
 * (compareExchange on the holder word) therefore sees every store the
 * previous holder made before its release (an Atomics.store of 0 to the
 * holder word), and may read and write the protected words with plain
 * accesses. Within a section, write() stores the entry's two words, then the
 * entry count with Atomics.store, then the word itself: the count store
 * orders the entry before the store it covers, so a holder that stops
 * anywhere leaves either an entry not yet counted (its store not made) or a
 * counted entry whose old value puts the word back. Only a taker reads a log,
 * and only once the holder's thread-table slot reads DEAD (an Atomics load),
 * which is declared after the thread stopped: no store of the dead holder
 * can land after the undo. One sequentially consistent store per logged
 * write is the price of that guarantee (plain entry and data stores keep it
 * to one).
 */

const H_HOLDER = 0;
const H_ENTRIES = 1;
const H_TABLE = 2;
const H_ANONYMOUS = 3;
const H_WAITERS = 4;
const H_TAKEOVERS = 5;
const H_LOG = 6;
const RANGE = 0x8000_0000;
const TAIL = 0x4000_0000;
/** Largest word index a log entry can name (2 GiB of u32 words). */
const INDEX_MASK = 0x3fff_ffff;
/** Loads of the holder word between two looks at the holder's thread state. */
const SPIN_BATCH = 1 << 10;
/** Longest sleep in Atomics.wait before looking at the holder again, in ms. */
const WAIT_MS = 2;
/** Default longest wait for a live holder, in ms (SharedLockOptions.maxWaitMs). */
const DEFAULT_MAX_WAIT_MS = 5000;

/** Options for {@link SharedLock}. */
export interface SharedLockOptions {
  /**
   * The calling thread's seat: its holder id, so a waiter can take the lock
   * over once the thread is declared dead. Without one the holder is
   * anonymous (an id unique to this thread) and a dead anonymous holder
   * keeps the lock forever.
   */
  thread?: ThreadSeat;
  /** Name used in messages. @defaultValue "lock" */
  name?: string;
  /**
   * Whether acquire may sleep in Atomics.wait. @defaultValue a probe: true
   * where this thread may block (workers, Node's main thread), false on a
   * browser's main thread, which then only spins.
   */
  mayBlock?: boolean;
  /** Word range [from, to) the log may name; a dead holder's log naming another word is a CorruptionError. @defaultValue the whole space */
  words?: readonly [number, number];
  /**
   * Longest wait for a live holder, in ms, before acquire gives up with an
   * AllocatorError naming the holder (nothing changed; call again). Sections
   * last microseconds, so a holder past this is stopped — terminated or
   * crashed without being declared dead — or paused in a debugger: the error
   * says to declare it (`memory.threadEnded(name)`), which the waiting thread
   * could not do while it waited (its event loop never ran). Infinity waits
   * forever. @defaultValue 5000
   */
  maxWaitMs?: number;
}

let blockingProbe: boolean | undefined;

/**
 * True when this thread may block in Atomics.wait. Probed once: a wait on a
 * value that does not match returns at once where waiting is allowed and
 * throws where it is not (a browser's main thread).
 */
export function threadMayBlock(): boolean {
  if (blockingProbe === undefined) {
    try {
      blockingProbe = typeof SharedArrayBuffer !== "undefined" && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0) === "not-equal";
    } catch {
      blockingProbe = false;
    }
  }
  return blockingProbe;
}

/** This thread's anonymous id per lock (module state is per thread), so two handles of one thread never wait on each other. */
const anonymousIds = new WeakMap<AddressSpace, Map<Ptr, number>>();

/**
 * A mutual-exclusion lock in linear memory whose holder logs every word it
 * writes, so that when the holder's thread is declared dead
 * ({@link ThreadTable.declareDead}) the next thread to acquire undoes the
 * dead thread's half-done section and goes on. See the layout above and
 * docs/threads.md.
 *
 * ```ts
 * lock.acquire();
 * try {
 *   lock.write(u32, i, v);          // logged, then stored
 *   lock.fill(u32, i, n, v);        // n words that all hold one value: one entry
 * } catch (err) {
 *   lock.rollback();                // a section that fails changes nothing
 *   throw err;
 * } finally {
 *   lock.release();                 // one store commits the section
 * }
 * ```
 *
 * Not re-entrant: acquiring a lock this thread holds throws AllocatorError
 * instead of waiting forever. A holder is never robbed while it lives, however
 * slow: only a declared death releases its lock.
 */
export class SharedLock implements ViewHolder {
  /** Bytes of lock words and log for `capacity` log entries (a multiple of 8). */
  static bytes(capacity: number): number {
    return (H_LOG + 2 * capacity) * 4;
  }

  readonly space: AddressSpace;
  readonly ptr: Ptr;
  /** Log entries a section may write (a range takes two). */
  readonly capacity: number;
  readonly name: string;
  /** The value this handle stores in the holder word. */
  readonly holderId: number;
  readonly mayBlock: boolean;
  /** Longest wait for a live holder (see {@link SharedLockOptions.maxWaitMs}). */
  readonly maxWaitMs: number;
  /** @internal see {@link ViewHolder}. */
  viewSlot = -1;
  readonly #seat: ThreadSeat | undefined;
  readonly #words: readonly [number, number];
  #table: ThreadTable | undefined;
  #i32!: Int32Array;
  #u32!: Uint32Array;
  /** Word index of the holder word. */
  readonly #w: number;
  /** Entries logged in the current section (only the holder writes them). */
  #count = 0;

  /**
   * A handle on the lock whose words are at `ptr` ({@link SharedLock.bytes}
   * of `capacity`, zeroed when new). A log count beyond `capacity` is a
   * CorruptionError; a seat from another table than the lock's, an
   * InvalidArgumentError.
   */
  constructor(space: AddressSpace, ptr: Ptr, capacity: number, options: SharedLockOptions = {}) {
    this.name = options.name ?? "lock";
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr === 0 || ptr % 8 !== 0 || typeof capacity !== "number" || capacity >>> 0 !== capacity || capacity < 2) {
      throw new InvalidArgumentError(`SharedLock ${this.name}: needs a non-zero 8-aligned address and a capacity of at least 2 entries, received ${describe(ptr)} and ${describe(capacity)}.`);
    }
    if (ptr + SharedLock.bytes(capacity) > space.byteLength) {
      throw new InvalidArgumentError(`SharedLock ${this.name}: ${SharedLock.bytes(capacity)} bytes at ${hex(ptr)} run past the ${space.byteLength}-byte space.`);
    }
    this.space = space;
    this.ptr = ptr;
    this.capacity = capacity;
    this.#w = ptr >>> 2;
    this.#words = options.words ?? [0, Math.floor(space.maximumBytes / 4)];
    this.mayBlock = options.mayBlock ?? (space.shared && threadMayBlock());
    const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    if (typeof maxWaitMs !== "number" || !(maxWaitMs >= 0)) {
      throw new InvalidArgumentError(`SharedLock ${this.name}: maxWaitMs must be a number of milliseconds >= 0 (Infinity waits forever), received ${describe(maxWaitMs)}.`);
    }
    this.maxWaitMs = maxWaitMs;
    const views = SpaceViews.of(space);
    views.register(this);
    this.refreshViews(views);
    const entries = Atomics.load(this.#u32, this.#w + H_ENTRIES);
    if (entries > capacity) throw this.damaged(`its log counts ${entries} entries, more than its ${capacity}`);
    const seat = options.thread;
    if (seat !== undefined) {
      if (seat === null || typeof seat !== "object" || !(seat.table instanceof ThreadTable) || seat.table.space.memory !== space.memory) {
        throw new InvalidArgumentError(`SharedLock ${this.name}: option thread must be a seat claimed from a ThreadTable of the same memory, received ${describe(seat)}.`);
      }
      const found = Atomics.compareExchange(this.#u32, this.#w + H_TABLE, 0, seat.table.controlPtr);
      if (found !== 0 && found !== seat.table.controlPtr) {
        throw new InvalidArgumentError(
          `SharedLock ${this.name}: its holders' seats come from the thread table at ${hex(found)}; this seat is from the one at ${hex(seat.table.controlPtr)}. Claim the seat from the memory's one table.`,
        );
      }
      this.#seat = seat;
      this.#table = seat.table;
      this.holderId = ((seat.slot + 1) | (seat.generation << 8)) | 0;
    } else {
      this.holderId = anonymousId(space, ptr, this.#u32, this.#w + H_ANONYMOUS);
    }
  }

  /** @internal */
  refreshViews(views: ViewSet): void {
    this.#i32 = views.i32;
    this.#u32 = views.u32;
  }

  /** The seat this handle holds the lock as, if any. */
  get thread(): ThreadSeat | undefined {
    return this.#seat;
  }

  /** The holder word now: 0 when free. */
  get holder(): number {
    return Atomics.load(this.#i32, this.#w + H_HOLDER);
  }

  /** True while this thread holds the lock (through any handle with the same id). */
  get held(): boolean {
    return this.holder === this.holderId;
  }

  /** Times a dead holder's section was undone on this lock (by any thread). */
  get takeovers(): number {
    return Atomics.load(this.#u32, this.#w + H_TAKEOVERS);
  }

  /**
   * Takes the lock, waiting for a live holder up to {@link maxWaitMs}, taking
   * over from a dead one (its logged words restored). Returns true when it
   * took the lock over from a dead holder: what the dead section wrote without
   * logging is the caller's to repair. Throws AllocatorError when this thread
   * holds it already, or when the wait gave up.
   */
  acquire(): boolean {
    const tookOver = Atomics.compareExchange(this.#i32, this.#w + H_HOLDER, 0, this.holderId) !== 0 && this.acquireSlow();
    this.#count = 0;
    return tookOver;
  }

  /** Takes the lock if it is free now (or its holder is dead); never waits. */
  tryAcquire(): boolean {
    const i32 = this.#i32;
    const h = Atomics.compareExchange(i32, this.#w + H_HOLDER, 0, this.holderId);
    if (h === 0) {
      this.#count = 0;
      return true;
    }
    if (h === this.holderId) throw this.reentered();
    if (this.holderIsDead(h) && Atomics.compareExchange(i32, this.#w + H_HOLDER, h, this.holderId) === h) {
      this.undoDeadSection(h);
      return true;
    }
    return false;
  }

  /** Commits the section (one store empties the log) and frees the lock. */
  release(): void {
    const i32 = this.#i32;
    const w = this.#w;
    if (Atomics.load(i32, w + H_HOLDER) !== this.holderId) {
      throw new CorruptionError(
        `SharedLock ${this.name} at ${hex(this.ptr)}: released by ${describeHolder(this.holderId)}, which does not hold it (holder ${describeHolder(Atomics.load(i32, w + H_HOLDER))}): ` +
          `this thread was declared dead while it held the lock, or release() ran twice.`,
      );
    }
    // The commit: the log emptied with one store (none when the section logged nothing, as a tree lock's never does).
    if (this.#count !== 0) Atomics.store(i32, w + H_ENTRIES, 0);
    this.#count = 0;
    Atomics.store(i32, w + H_HOLDER, 0);
    if (Atomics.load(i32, w + H_WAITERS) !== 0) Atomics.notify(i32, w + H_HOLDER, 1);
  }

  /**
   * Stores `value` at `u32[index]` after logging the word's old value. Call
   * only while holding the lock. A section that would overflow the log is a
   * programming error: CorruptionError naming the lock, thrown before the write.
   */
  write(u32: Uint32Array, index: number, value: number): void {
    const n = this.#count;
    if (n >= this.capacity) throw this.overflow(index);
    const lu = this.#u32;
    const e = this.#w + H_LOG + 2 * n;
    lu[e] = index;
    lu[e + 1] = u32[index]!;
    Atomics.store(lu, this.#w + H_ENTRIES, (this.#count = n + 1)); // orders the entry before the store it covers
    u32[index] = value;
  }

  /**
   * Stores `value` in `count` words from `index`. When they all hold one
   * value now (a span's page tags) that is one range entry; otherwise every
   * word is logged.
   */
  fill(u32: Uint32Array, index: number, count: number, value: number): void {
    if (count <= 0) return;
    const old = u32[index]!;
    for (let i = 1; i < count; i++) {
      if (u32[index + i] !== old) {
        for (let j = 0; j < count; j++) this.write(u32, index + j, value);
        return;
      }
    }
    if (count === 1) {
      this.write(u32, index, value);
      return;
    }
    const n = this.#count;
    if (n + 2 > this.capacity) throw this.overflow(index);
    const lu = this.#u32;
    const e = this.#w + H_LOG + 2 * n;
    lu[e] = (index | RANGE) >>> 0;
    lu[e + 1] = old;
    lu[e + 2] = (count | TAIL) >>> 0;
    lu[e + 3] = 0;
    Atomics.store(lu, this.#w + H_ENTRIES, (this.#count = n + 2));
    u32.fill(value, index, index + count);
  }

  /** Puts back every word this section logged (newest first) and empties the log; the lock stays held. */
  rollback(): void {
    this.undo(this.#count);
    Atomics.store(this.#u32, this.#w + H_ENTRIES, 0);
    this.#count = 0;
  }

  /** acquire once the lock was not free: true when it was taken over from a dead holder. */
  private acquireSlow(): boolean {
    const i32 = this.#i32;
    const hw = this.#w + H_HOLDER;
    const me = this.holderId;
    let since = -1;
    for (;;) {
      let h = Atomics.load(i32, hw);
      if (h === me) throw this.reentered();
      for (let i = 0; i < SPIN_BATCH; i++) {
        if (h === 0) {
          h = Atomics.compareExchange(i32, hw, 0, me);
          if (h === 0) return false;
        } else {
          h = Atomics.load(i32, hw);
        }
      }
      if (h === 0) continue;
      if (this.holderIsDead(h)) {
        if (Atomics.compareExchange(i32, hw, h, me) === h) {
          this.undoDeadSection(h);
          return true;
        }
        continue;
      }
      // Time is read once per batch: a bounded wait for a holder that never comes back.
      const now = performance.now();
      if (since < 0) since = now;
      else if (now - since > this.maxWaitMs) throw this.heldTooLong(h, now - since);
      if (this.mayBlock) {
        Atomics.add(i32, this.#w + H_WAITERS, 1);
        Atomics.wait(i32, hw, h, WAIT_MS);
        Atomics.sub(i32, this.#w + H_WAITERS, 1);
      }
    }
  }

  /** The error of a wait that gave up: who holds the lock, and what to do. */
  private heldTooLong(h: number, ms: number): AllocatorError {
    const slot = (h & 0xff) - 1;
    const table = slot < 0 ? undefined : this.threadTable();
    const who = table === undefined ? describeHolder(h) : `thread "${table.nameOf(slot)}" (slot ${slot}, generation ${h >>> 8})`;
    return new AllocatorError(
      `SharedLock ${this.name} at ${hex(this.ptr)}: ${who} has held it for ${Math.round(ms)} ms; nothing was changed.\n` +
        `  A lock is held for microseconds: that thread has stopped (terminated or crashed) or is paused. If it ended, declare it ` +
        `(memory.threadEnded(name), or ThreadTable.declareDead) and call again; raise maxWaitMs to wait longer.`,
    );
  }

  /** True when `h` names a seat whose thread-table slot is DEAD at that generation. */
  private holderIsDead(h: number): boolean {
    const slot = (h & 0xff) - 1;
    if (slot < 0) return false;
    return this.threadTable()?.isDead(slot, h >>> 8) ?? false;
  }

  /** The table the holders' seats come from: this handle's seat's, else the one the lock records (attached on first need). */
  private threadTable(): ThreadTable | undefined {
    if (this.#table?.alive === true) return this.#table;
    const ptr = Atomics.load(this.#u32, this.#w + H_TABLE);
    if (ptr === 0) return undefined;
    this.#table = SpaceHandle.lookup(this.space, ptr, ThreadTable) ?? ThreadTable.attach(this.space, ptr);
    return this.#table;
  }

  /**
   * We took the lock over from dead holder `h`: check its log, put back every
   * logged word newest first, empty the log. A log that is damaged (a count
   * past the capacity, a word outside `words`) changes nothing: the lock goes
   * back to the dead holder, so every thread sees the CorruptionError.
   */
  private undoDeadSection(h: number): void {
    const lu = this.#u32;
    const n = Atomics.load(lu, this.#w + H_ENTRIES);
    const fault = this.logFault(n);
    if (fault !== undefined) {
      Atomics.store(this.#i32, this.#w + H_HOLDER, h);
      throw this.damaged(`the log of dead holder ${describeHolder(h)} ${fault}`);
    }
    this.undo(n);
    Atomics.store(lu, this.#w + H_ENTRIES, 0);
    Atomics.add(lu, this.#w + H_TAKEOVERS, 1);
    this.#count = 0;
  }

  private logFault(n: number): string | undefined {
    if (n > this.capacity) return `counts ${n} entries, more than its ${this.capacity}`;
    const lu = this.#u32;
    const [from, to] = this.#words;
    for (let k = n - 1; k >= 0; k--) {
      const a = Atomics.load(lu, this.#w + H_LOG + 2 * k);
      let index = a & INDEX_MASK;
      let count = 1;
      if ((a & TAIL) !== 0) {
        const head = k > 0 ? Atomics.load(lu, this.#w + H_LOG + 2 * (k - 1)) : 0;
        if (k === 0 || (head & RANGE) === 0) return `has a range tail without its head at entry ${k}`;
        index = head & INDEX_MASK;
        count = a & INDEX_MASK;
        k--;
      } else if ((a & RANGE) !== 0) {
        return `has a range head without its tail at entry ${k}`;
      }
      if (index < from || index + count > to) return `names words ${index}..${index + count - 1}, outside ${from}..${to - 1}`;
    }
    return undefined;
  }

  /** Writes the old values of the first `n` entries back, newest first. */
  private undo(n: number): void {
    const lu = this.#u32;
    for (let k = n - 1; k >= 0; k--) {
      const e = this.#w + H_LOG + 2 * k;
      const a = Atomics.load(lu, e);
      if ((a & TAIL) !== 0) {
        const head = e - 2;
        const index = Atomics.load(lu, head) & INDEX_MASK;
        const old = Atomics.load(lu, head + 1);
        const count = a & INDEX_MASK;
        for (let i = 0; i < count; i++) Atomics.store(lu, index + i, old);
        k--;
      } else {
        Atomics.store(lu, a & INDEX_MASK, Atomics.load(lu, e + 1));
      }
    }
  }

  private reentered(): AllocatorError {
    return new AllocatorError(
      `SharedLock ${this.name} at ${hex(this.ptr)}: acquired again by ${describeHolder(this.holderId)}, which already holds it. ` +
        `The lock is not re-entrant: code run while it is held (a grow listener, a span visitor) must not call back into what it guards.`,
    );
  }

  private overflow(index: number): CorruptionError {
    return new CorruptionError(
      `SharedLock ${this.name} at ${hex(this.ptr)}: the section's undo log is full (${this.capacity} entries) at the write of word ${index}; ` +
        `a section must write at most ${this.capacity} logged words. This is a bug in the code holding the lock.`,
    );
  }

  private damaged(what: string): CorruptionError {
    return new CorruptionError(`SharedLock ${this.name} at ${hex(this.ptr)}: ${what}: the lock is damaged.`);
  }
}

/** "thread slot 3 (generation 2)" or "anonymous holder 5". */
export function describeHolder(h: number): string {
  const slot = h & 0xff;
  return slot === 0 ? `anonymous holder ${h >>> 8}` : `thread slot ${slot - 1} (generation ${h >>> 8})`;
}

function anonymousId(space: AddressSpace, ptr: Ptr, u32: Uint32Array, counterWord: number): number {
  let ids = anonymousIds.get(space);
  if (ids === undefined) anonymousIds.set(space, (ids = new Map<Ptr, number>()));
  let id = ids.get(ptr);
  if (id === undefined) {
    let n = (Atomics.add(u32, counterWord, 1) + 1) & 0xff_ffff;
    if (n === 0) n = (Atomics.add(u32, counterWord, 1) + 1) & 0xff_ffff;
    id = (n << 8) | 0;
    ids.set(ptr, id);
  }
  return id;
}
