import { StructArray, defineStruct, type StructField } from "@memkit/containers";
import type { TraceAllocator } from "@memkit/trace-allocator";
import type { SpaceViews } from "@memkit/containers";
import { fieldWord, strideWords } from "./record-words.js";
import { restoreContainer, type GameState } from "./game-record.js";

const GameEvent = defineStruct({ x: "f64", y: "f64", a: "u32", b: "u32", value: "u32", type: "u8" });
/** Event records as f64 words, for the hot loops' typed-view access (see record-words.ts). */
export const EVENT_WORDS = strideWords(GameEvent, 8);
export const E_X = fieldWord(GameEvent, "x", 8);
export const E_Y = fieldWord(GameEvent, "y", 8);

/**
 * The frame's event queue: what happened (a shot, a hit, a death, a spawn),
 * posted by one subsystem and read by the others in the same frame, then
 * cleared. Records in one StructArray that keeps its block between frames, so
 * posting is a bump and clearing is O(1); events posted while the queue is
 * being read (a hit that kills posts a death) are read in the same pass.
 *
 * ```
 * record (32 B): | x f64 | y f64 | a u32 | b u32 | value u32 | type u8 | pad |
 *   FIRE  a = shooter      HIT   a = target, b = attacker, value = damage
 *   DEATH a = unit, b = killer                SPAWN a = unit
 * ```
 * Every argument of `post` is an integer: the position is copied from the
 * record the event is about (a body, a bullet), given as the f64 index of its
 * (x, y) pair, so posting never passes a double through a call.
 */
export class EventQueue implements Disposable {
  readonly mem: TraceAllocator;
  readonly records: StructArray<typeof GameEvent>;
  readonly type: StructField<"u8">;
  readonly a: StructField<"u32">;
  readonly b: StructField<"u32">;
  readonly x: StructField<"f64">;
  readonly y: StructField<"f64">;
  readonly value: StructField<"u32">;
  /** Events posted since the run started. */
  posted = 0;

  readonly #views: SpaceViews;

  /**
   * `mem`: the queue's own scope (the sample uses `root/gameplay/events`),
   * disposed with the queue. `capacity`: events a frame may post before the
   * queue grows (growing mid-frame is a rare path, which would deoptimise the
   * loop that posts). `saved`: the descriptor of a saved queue's records, taken over instead.
   */
  constructor(mem: TraceAllocator, views: SpaceViews, debug: boolean, capacity: number, saved?: GameState) {
    this.mem = mem;
    this.#views = views;
    if (saved === undefined) {
      this.records = new StructArray(mem, GameEvent, { name: "events", debug, capacity });
    } else {
      this.records = restoreContainer(saved, "gameplay.events", (p) => StructArray.restore(mem, p, GameEvent, { debug }));
      this.posted = saved.numbers["gameplay.eventsPosted"];
    }
    this.type = this.records.field("type");
    this.a = this.records.field("a");
    this.b = this.records.field("b");
    this.x = this.records.field("x");
    this.y = this.records.field("y");
    this.value = this.records.field("value");
  }

  /** Events in the queue now. */
  get length(): number {
    return this.records.length;
  }

  /**
   * Posts an event and returns its index. `at` is the f64 index (in the
   * address space) of the x, y pair the event happened at — `X` of a body,
   * `B_X` of a bullet — which is copied into the event.
   */
  post(type: number, a: number, b: number, value: number, at: number): number {
    const i = this.records.push();
    this.type.set(i, type);
    this.a.set(i, a);
    this.b.set(i, b);
    this.value.set(i, value);
    // Read the view after the push: growing the queue may have grown the space.
    const f64 = this.#views.f64;
    const o = (this.records.ptr >>> 3) + i * EVENT_WORDS;
    f64[o + E_X] = f64[at]!;
    f64[o + E_Y] = f64[at + 1]!;
    this.posted++;
    return i;
  }

  /** The f64 index of event `e`'s record: its x is at `+ E_X`, its y at `+ E_Y`. Valid until the queue grows. */
  word(e: number): number {
    return (this.records.ptr >>> 3) + e * EVENT_WORDS;
  }

  /** Persists the queue into `state` (MemkitGame.persist, between frames: the queue is empty then). */
  saveState(state: GameState): void {
    state.containers["gameplay.events"] = this.records.persist();
    state.numbers["gameplay.eventsPosted"] = this.posted;
  }

  /** Empties the queue (keeps its block). */
  clear(): void {
    this.records.clear();
  }

  /** Frees the queue's block. Idempotent. */
  unload(): void {
    this.records.dispose();
  }

  [Symbol.dispose](): void {
    this.unload();
    this.mem.dispose();
  }
}
