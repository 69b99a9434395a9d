import type { AddressSpace } from "./address-space.js";
import { CONTROL_BLOCK_HEADER_WORDS, controlWord, initControl, retireControl, sealControl, type ControlLayout } from "./control-block.js";
import { CorruptionError, InvalidArgumentError, OutOfMemoryError } from "./errors.js";
import { hex } from "./format.js";
import { Attachment, SpaceHandle } from "./space-handle.js";
import type { ViewSet } from "./space-views.js";
import type { Ptr } from "./types.js";
import { describe } from "./validate.js";

/*
 * The thread table of a shared memory: one slot per attached thread, claimed
 * with a compare-and-swap, so any thread can learn whether the holder of a
 * lock is alive (see shared-lock.ts).
 *
 *   control block (u32 words from controlPtr, 8-aligned)
 *   0..3   core's control header: magic "THRD", version, bytes, seal
 *   4      slotCount    \ fixed words, sealed
 *   5      slotWords    /
 *   6..    slots[slotCount], SLOT_WORDS words each:
 *     +0      state word   generation << 8 | state      24 + 6 (zero) + 2 = 32 bits
 *     +1      heap         \  control blocks the thread owns: plain words,
 *     +2      frame         | written by the thread, read by whoever adopts
 *     +3      scratch      /   its resources
 *     +4      name length  bytes of UTF-8, 0..28
 *     +5..11  name         28 bytes of UTF-8
 *     +12..23 figures      6 float64: live bytes, peak live bytes, allocations, frees
 *                          (written by the thread), and bytes and blocks of its
 *                          blocks that other threads freed (written under a lock)
 *   after the slots: owners[256] bytes, one per page-map owner id: the slot + 1 of
 *     the thread whose heap leases pages under that owner (0: none), so the
 *     thread a block came from is one tag read and one byte away
 *
 * Slot 0 starts at byte 24 and a slot is 96 bytes, so the figures (byte 48 of
 * a slot) are 8-aligned. State and generation share one word so a reader never
 * sees the state of one thread with the generation of the next: a claim moves
 * FREE(g) -> LIVE(g + 1) in one compare-and-swap. Generations wrap at 2^24,
 * the width a lock's holder word keeps (see shared-lock.ts).
 *
 * Figures are plain float64 stores (Atomics has no float64), so their writers
 * must not race: the owning thread writes the first four (recordAllocate,
 * recordFree) without a lock, and a free of its block by another thread goes
 * to the last two, whose writers all hold one lock (a shared scope tree's:
 * recordFreeOf). Other threads read them as a snapshot; live bytes are the
 * first less the fifth.
 */

/** The thread table's control block. */
export const THREAD_TABLE_LAYOUT: ControlLayout = { kind: "ThreadTable", magic: "THRD", version: 3, fixedWords: 2 };

/** Slots in a table: threads that can be attached at once. */
export const THREAD_SLOTS = 64;
/** Longest thread name kept, in UTF-8 bytes. */
export const THREAD_NAME_BYTES = 28;

/** A slot's state. */
export const ThreadState = { FREE: 0, LIVE: 1, ENDED: 2, DEAD: 3 } as const;
export type ThreadState = (typeof ThreadState)[keyof typeof ThreadState];
const STATE_NAMES = ["FREE", "LIVE", "ENDED", "DEAD"] as const;

const W_SLOT_COUNT = CONTROL_BLOCK_HEADER_WORDS;
const W_SLOT_WORDS = CONTROL_BLOCK_HEADER_WORDS + 1;
const W_SLOTS = CONTROL_BLOCK_HEADER_WORDS + 2;
const SLOT_WORDS = 24;
const S_STATE = 0;
const S_HEAP = 1;
const S_FRAME = 2;
const S_SCRATCH = 3;
const S_NAME_LENGTH = 4;
const S_NAME = 5;
const S_FIGURES = 12;
/** Float64 slots of the figures, from the figures' first float64. */
const F_LIVE = 0;
const F_PEAK = 1;
const F_ALLOCS = 2;
const F_FREES = 3;
const F_OTHER_BYTES = 4;
const F_OTHER_FREES = 5;
const GENERATION_MASK = 0xff_ffff;
/** Page-map owner ids the owners map covers (ids are 1..255). */
const OWNER_IDS = 256;

/** The control blocks a thread owns, recorded in its slot for whoever adopts them. */
export type ThreadResource = "heap" | "frame" | "scratch";
const RESOURCE_WORD: Readonly<Record<ThreadResource, number>> = { heap: S_HEAP, frame: S_FRAME, scratch: S_SCRATCH };

/** A thread's place in the table: what {@link ThreadTable.claim} returns and a lock names as its holder. */
export interface ThreadSeat {
  readonly table: ThreadTable;
  /** Slot index, 0..63. */
  readonly slot: number;
  /** The claim's generation: a reused slot is a different thread. */
  readonly generation: number;
}

/** A thread's figures, as its slot holds them. */
export interface ThreadFigures {
  liveBytes: number;
  peakLiveBytes: number;
  allocCount: number;
  freeCount: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The thread table in linear memory (see the layout above). Every thread
 * that uses a shared memory claims a slot and keeps the {@link ThreadSeat};
 * `end` marks it ENDED when the thread detaches, `declareDead` marks it DEAD
 * when someone saw it terminated, and `release` frees the slot once whatever
 * it owned has been handed on. A lock whose holder's slot is DEAD can be taken
 * over (shared-lock.ts). All state words are read and written with Atomics.
 */
export class ThreadTable extends SpaceHandle {
  /** Bytes of the control block: place it 8-aligned in memory the caller owns. */
  static readonly bytes: number = (W_SLOTS + THREAD_SLOTS * SLOT_WORDS) * 4 + OWNER_IDS;

  readonly name: string = "ThreadTable";
  private u32!: Uint32Array;
  private u8!: Uint8Array;
  private f64!: Float64Array;
  private readonly sw: number;
  /** Byte offset of the owners map. */
  private readonly ownersAt: number;

  /**
   * A new table in the {@link ThreadTable.bytes} bytes at `controlPtr`, or,
   * given an {@link Attachment}, a handle on an existing one. Prefer
   * {@link ThreadTable.create} and {@link ThreadTable.attach}.
   */
  constructor(source: AddressSpace | Attachment, controlPtr?: Ptr) {
    const attaching = source instanceof Attachment;
    const space = attaching ? source.space : source;
    const ptr = attaching ? source.controlPtr : (controlPtr ?? 0);
    if (!attaching) {
      if (typeof ptr !== "number" || ptr >>> 0 !== ptr || ptr === 0 || ptr % 8 !== 0) {
        throw new InvalidArgumentError(`ThreadTable.create: controlPtr must be a non-zero 8-aligned address, received ${describe(ptr)}.`);
      }
      initControl(space, ptr, THREAD_TABLE_LAYOUT, ThreadTable.bytes);
      const u32 = space.u32;
      u32[(ptr >>> 2) + W_SLOT_COUNT] = THREAD_SLOTS;
      u32[(ptr >>> 2) + W_SLOT_WORDS] = SLOT_WORDS;
      sealControl(space, ptr, THREAD_TABLE_LAYOUT);
    } else {
      const u32 = space.u32;
      controlWord(u32, ptr, W_SLOT_COUNT, THREAD_SLOTS, THREAD_SLOTS, THREAD_TABLE_LAYOUT, "slotCount");
      controlWord(u32, ptr, W_SLOT_WORDS, SLOT_WORDS, SLOT_WORDS, THREAD_TABLE_LAYOUT, "slotWords");
      for (let slot = 0; slot < THREAD_SLOTS; slot++) {
        const state = u32[(ptr >>> 2) + W_SLOTS + slot * SLOT_WORDS + S_STATE]! & 0xff;
        if (state > ThreadState.DEAD) {
          throw new CorruptionError(`ThreadTable at ${hex(ptr)}: slot ${slot} holds state ${state}, outside 0..3: the block is damaged.`);
        }
        controlWord(u32, ptr, W_SLOTS + slot * SLOT_WORDS + S_NAME_LENGTH, 0, THREAD_NAME_BYTES, THREAD_TABLE_LAYOUT, `slot ${slot} name length`);
      }
    }
    super(space, ptr);
    this.sw = (ptr >>> 2) + W_SLOTS;
    this.ownersAt = ptr + (W_SLOTS + THREAD_SLOTS * SLOT_WORDS) * 4;
    this.followViews();
  }

  /** Lays a new, empty table at `controlPtr` ({@link ThreadTable.bytes} bytes, 8-aligned). */
  static create(space: AddressSpace, controlPtr: Ptr): ThreadTable {
    return new ThreadTable(space, controlPtr);
  }

  /** A handle on the table at `controlPtr` (another thread's view of it). CorruptionError when there is none. */
  static attach(space: AddressSpace, controlPtr: Ptr): ThreadTable {
    return new ThreadTable(Attachment.open(space, controlPtr, THREAD_TABLE_LAYOUT, "ThreadTable.attach", [ThreadTable.bytes, ThreadTable.bytes]));
  }

  /** @internal */
  refreshViews(views: ViewSet): void {
    this.u32 = views.u32;
    this.u8 = views.u8;
    this.f64 = views.f64;
  }

  /** Ends this handle; the table and its threads live on. */
  detach(): void {
    this.end("detached");
  }

  /** Ends the table: attaching to it is refused afterwards. */
  destroy(): void {
    if (!this.alive) return;
    retireControl(this.space, this.controlPtr);
    this.end("destroyed");
  }

  /**
   * Claims a free slot for the calling thread (LIVE, its generation bumped,
   * resource words and figures zeroed) and returns the seat. `name` is up to
   * 28 bytes of UTF-8. A table whose every slot is taken throws
   * OutOfMemoryError saying how many are live and how many wait for `release`.
   */
  claim(name: string): ThreadSeat {
    this.assertAlive("claim");
    if (typeof name !== "string") throw new InvalidArgumentError(`ThreadTable.claim: the thread name must be a string, received ${describe(name)}.`);
    const bytes = encoder.encode(name);
    if (bytes.length > THREAD_NAME_BYTES) {
      throw new InvalidArgumentError(`ThreadTable.claim(${JSON.stringify(name)}): the name is ${bytes.length} bytes of UTF-8; the table keeps at most ${THREAD_NAME_BYTES}. Use a shorter name.`);
    }
    const u32 = this.u32;
    for (let slot = 0; slot < THREAD_SLOTS; slot++) {
      const at = this.sw + slot * SLOT_WORDS;
      const word = Atomics.load(u32, at + S_STATE);
      if ((word & 0xff) !== ThreadState.FREE) continue;
      const generation = ((word >>> 8) + 1) & GENERATION_MASK;
      if (Atomics.compareExchange(u32, at + S_STATE, word, ((generation << 8) | ThreadState.LIVE) >>> 0) !== word) continue;
      // The slot is ours: nobody else writes it until we end.
      for (let i = S_HEAP; i < S_FIGURES; i++) Atomics.store(u32, at + i, 0);
      const padded = new Uint8Array(THREAD_NAME_BYTES);
      padded.set(bytes);
      const words = new Uint32Array(padded.buffer);
      for (let i = 0; i < THREAD_NAME_BYTES / 4; i++) Atomics.store(u32, at + S_NAME + i, words[i]!);
      Atomics.store(u32, at + S_NAME_LENGTH, bytes.length);
      this.f64.fill(0, (at + S_FIGURES) >>> 1, ((at + S_FIGURES) >>> 1) + 4);
      return Object.freeze({ table: this, slot, generation });
    }
    let live = 0;
    for (let slot = 0; slot < THREAD_SLOTS; slot++) if (this.stateOf(slot) === ThreadState.LIVE) live++;
    throw new OutOfMemoryError(
      `ThreadTable.claim(${JSON.stringify(name)}): all ${THREAD_SLOTS} thread slots are taken (${live} live, ${THREAD_SLOTS - live} ended or dead, not yet released).\n` +
        `  A table holds ${THREAD_SLOTS} threads at once: endSeat() each thread that finishes, release() the slots of ended and dead ones, or run fewer threads.`,
    );
  }

  /** The calling thread is done (it detached): LIVE -> ENDED. Idempotent; a seat that was declared dead or released throws InvalidArgumentError. */
  endSeat(seat: ThreadSeat): void {
    const at = this.slotWord(seat, "endSeat");
    const live = ((seat.generation << 8) | ThreadState.LIVE) >>> 0;
    const ended = ((seat.generation << 8) | ThreadState.ENDED) >>> 0;
    const found = Atomics.compareExchange(this.u32, at, live, ended);
    if (found === live || found === ended) return;
    throw new InvalidArgumentError(
      `ThreadTable.endSeat: slot ${seat.slot} generation ${seat.generation} is no longer this seat's (the slot is ${STATE_NAMES[found & 3]} at generation ${found >>> 8}): it was declared dead or released.`,
    );
  }

  /**
   * Declares the thread of `slot` at `generation` dead (it was terminated):
   * LIVE -> DEAD, after which the locks it held can be taken over. Idempotent;
   * another generation, or a slot that is not LIVE, is left as it is. Returns
   * true when the slot is now DEAD at that generation. Declare only a thread
   * that has really stopped (its `terminate()` resolved): a live thread
   * declared dead loses its locks in the middle of its work.
   */
  declareDead(slot: number, generation: number): boolean {
    this.assertAlive("declareDead");
    checkSlot("declareDead", slot);
    if (typeof generation !== "number" || generation >>> 0 !== generation || generation > GENERATION_MASK) {
      throw new InvalidArgumentError(`ThreadTable.declareDead: generation must be an integer 0..${GENERATION_MASK}, received ${describe(generation)}.`);
    }
    const at = this.sw + slot * SLOT_WORDS + S_STATE;
    const dead = ((generation << 8) | ThreadState.DEAD) >>> 0;
    const found = Atomics.compareExchange(this.u32, at, ((generation << 8) | ThreadState.LIVE) >>> 0, dead);
    return found === dead || found === (((generation << 8) | ThreadState.LIVE) >>> 0);
  }

  /**
   * Frees an ENDED or DEAD slot for a new claim. With `heir`, the page-map
   * owners the slot's thread leased under become `heir`'s once the slot is
   * won (those noted before the release: a thread that claims the freed slot
   * notes its own), so its blocks never count for a freed slot. Returns false
   * (and changes nothing) when the slot is FREE already; a LIVE slot is an
   * InvalidArgumentError: end or declare it dead first.
   */
  release(slot: number, heir?: ThreadSeat): boolean {
    this.assertAlive("release");
    checkSlot("release", slot);
    if (heir !== undefined) this.slotWord(heir, "release");
    const at = this.sw + slot * SLOT_WORDS + S_STATE;
    const owners: number[] = [];
    if (heir !== undefined) for (let owner = 1; owner < OWNER_IDS; owner++) if (this.threadOfOwner(owner) === slot) owners.push(owner);
    for (;;) {
      const word = Atomics.load(this.u32, at);
      const state = word & 0xff;
      if (state === ThreadState.FREE) return false;
      if (state === ThreadState.LIVE) {
        throw new InvalidArgumentError(`ThreadTable.release(${slot}): the slot's thread is LIVE (generation ${word >>> 8}); endSeat() it or declare it dead before releasing its slot.`);
      }
      if (Atomics.compareExchange(this.u32, at, word, (word & ~0xff) >>> 0) === word) {
        for (const owner of owners) Atomics.store(this.u8, this.ownersAt + owner, heir!.slot + 1);
        return true;
      }
    }
  }

  /** The slot's state (ThreadState). */
  stateOf(slot: number): ThreadState {
    checkSlot("stateOf", slot);
    return (Atomics.load(this.live("stateOf"), this.sw + slot * SLOT_WORDS + S_STATE) & 3) as ThreadState;
  }

  /** The slot's generation: that of its current (or last) claim. */
  generationOf(slot: number): number {
    checkSlot("generationOf", slot);
    return Atomics.load(this.live("generationOf"), this.sw + slot * SLOT_WORDS + S_STATE) >>> 8;
  }

  /** True when `slot` is DEAD at `generation`: a lock held by that thread may be taken over. */
  isDead(slot: number, generation: number): boolean {
    const word = Atomics.load(this.live("isDead"), this.sw + slot * SLOT_WORDS + S_STATE);
    return word === (((generation << 8) | ThreadState.DEAD) >>> 0);
  }

  /** The name the slot's thread claimed it with ("" for a slot never claimed). */
  nameOf(slot: number): string {
    checkSlot("nameOf", slot);
    const u32 = this.live("nameOf");
    const at = this.sw + slot * SLOT_WORDS;
    const length = Math.min(Atomics.load(u32, at + S_NAME_LENGTH), THREAD_NAME_BYTES);
    const words = new Uint32Array(THREAD_NAME_BYTES / 4);
    for (let i = 0; i < words.length; i++) words[i] = Atomics.load(u32, at + S_NAME + i);
    return decoder.decode(new Uint8Array(words.buffer, 0, length));
  }

  /** Records the control block of a resource the seat's thread owns (0 = none). */
  setResource(seat: ThreadSeat, resource: ThreadResource, controlPtr: Ptr): void {
    const at = this.slotWord(seat, "setResource") - S_STATE;
    if (!(resource in RESOURCE_WORD) || typeof controlPtr !== "number" || controlPtr >>> 0 !== controlPtr) {
      throw new InvalidArgumentError(`ThreadTable.setResource: expected heap, frame or scratch and an address, received ${describe(resource)} and ${describe(controlPtr)}.`);
    }
    Atomics.store(this.u32, at + RESOURCE_WORD[resource], controlPtr);
  }

  /** The control block of a resource the slot's thread owns, or 0. */
  resourceOf(slot: number, resource: ThreadResource): Ptr {
    checkSlot("resourceOf", slot);
    if (!(resource in RESOURCE_WORD)) throw new InvalidArgumentError(`ThreadTable.resourceOf: expected heap, frame or scratch, received ${describe(resource)}.`);
    return Atomics.load(this.live("resourceOf"), this.sw + slot * SLOT_WORDS + RESOURCE_WORD[resource]);
  }

  /**
   * Notes that the thread of `seat` leases pages under page-map owner
   * `ownerId` (its heap's tiers), so {@link threadOfOwner} finds it; a thread
   * that adopts a heap notes its owners again.
   */
  setOwnerThread(ownerId: number, seat: ThreadSeat): void {
    this.slotWord(seat, "setOwnerThread");
    if (typeof ownerId !== "number" || !Number.isInteger(ownerId) || ownerId < 1 || ownerId >= OWNER_IDS) {
      throw new InvalidArgumentError(`ThreadTable.setOwnerThread: ownerId must be an integer 1..255, received ${describe(ownerId)}.`);
    }
    Atomics.store(this.u8, this.ownersAt + ownerId, seat.slot + 1);
  }

  /** The slot of the thread whose heap leases pages under `ownerId`, or -1. */
  threadOfOwner(ownerId: number): number {
    return (Atomics.load(this.u8, this.ownersAt + (ownerId & 0xff)) | 0) - 1;
  }

  /** Counts an allocation of `bytes` in the seat's figures. Only the seat's own thread calls it. */
  recordAllocate(seat: ThreadSeat, bytes: number): void {
    const f = (this.sw + seat.slot * SLOT_WORDS + S_FIGURES) >>> 1;
    const f64 = this.f64;
    const live = (f64[f + F_LIVE] = f64[f + F_LIVE]! + bytes);
    if (live - f64[f + F_OTHER_BYTES]! > f64[f + F_PEAK]!) f64[f + F_PEAK] = live - f64[f + F_OTHER_BYTES]!;
    f64[f + F_ALLOCS]!++;
  }

  /** Counts a free of `bytes` in the seat's figures. Only the seat's own thread calls it. */
  recordFree(seat: ThreadSeat, bytes: number): void {
    const f = (this.sw + seat.slot * SLOT_WORDS + S_FIGURES) >>> 1;
    this.f64[f + F_LIVE] = this.f64[f + F_LIVE]! - bytes;
    this.f64[f + F_FREES]!++;
  }

  /**
   * Counts a free of `bytes` by thread `by` (a slot) of a block of the thread
   * of `slot` (0..63, the thread the block came from). A free by the block's
   * own thread is {@link recordFree}; one by another thread goes to figures
   * whose writers must all hold one lock (see the layout).
   */
  recordFreeOf(slot: number, by: number, bytes: number): void {
    const f = (this.sw + (slot & (THREAD_SLOTS - 1)) * SLOT_WORDS + S_FIGURES) >>> 1;
    const f64 = this.f64;
    if (slot === by) {
      f64[f + F_LIVE] = f64[f + F_LIVE]! - bytes;
      f64[f + F_FREES]!++;
    } else {
      f64[f + F_OTHER_BYTES] = f64[f + F_OTHER_BYTES]! + bytes;
      f64[f + F_OTHER_FREES]!++;
    }
  }

  /** Starts a new high-water mark at the seat's current live bytes. */
  resetPeak(seat: ThreadSeat): void {
    const f = (this.slotWord(seat, "resetPeak") - S_STATE + S_FIGURES) >>> 1;
    this.f64[f + F_PEAK] = this.f64[f + F_LIVE]! - this.f64[f + F_OTHER_BYTES]!;
  }

  /** A snapshot of the slot's figures (written by its thread; read from any). */
  figuresOf(slot: number): ThreadFigures {
    checkSlot("figuresOf", slot);
    this.assertAlive("figuresOf");
    const f = (this.sw + slot * SLOT_WORDS + S_FIGURES) >>> 1;
    const f64 = this.f64;
    return {
      liveBytes: f64[f + F_LIVE]! - f64[f + F_OTHER_BYTES]!,
      peakLiveBytes: f64[f + F_PEAK]!,
      allocCount: f64[f + F_ALLOCS]!,
      freeCount: f64[f + F_FREES]! + f64[f + F_OTHER_FREES]!,
    };
  }

  /** The u32 view, or DestroyedError once the handle ended. */
  private live(op: string): Uint32Array {
    this.assertAlive(op);
    return this.u32;
  }

  /** Word index of `seat`'s state word, after checking the seat is one of this table's. */
  private slotWord(seat: ThreadSeat, op: string): number {
    this.assertAlive(op);
    if (seat === null || typeof seat !== "object" || seat.table !== this) {
      const other = seat !== null && typeof seat === "object" && seat.table instanceof ThreadTable ? ` (it belongs to the table at ${hex(seat.table.controlPtr)})` : "";
      throw new InvalidArgumentError(`ThreadTable.${op}: expected a seat claimed from this table at ${hex(this.controlPtr)}, received ${describe(seat)}${other}.`);
    }
    return this.sw + seat.slot * SLOT_WORDS + S_STATE;
  }
}

function checkSlot(op: string, slot: number): void {
  if (typeof slot !== "number" || slot >>> 0 !== slot || slot >= THREAD_SLOTS) {
    throw new InvalidArgumentError(`ThreadTable.${op}: slot must be an integer 0..${THREAD_SLOTS - 1}, received ${describe(slot)}.`);
  }
}

/** Names a state for messages: `"DEAD"`. */
export function threadStateName(state: number): string {
  return STATE_NAMES[state & 3]!;
}
