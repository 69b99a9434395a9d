import type { Allocator } from "@memkit/core";
import type { SpaceViews } from "@memkit/containers";
import type { FrameAllocator } from "@memkit/temp-allocator";
import { BRAIN_F64_WORDS, BRAIN_PATH, BRAIN_PATH_LEN, BRAIN_PATH_POS, BRAIN_TARGET, BRAIN_THINK, BRAIN_U32_WORDS } from "../game/ai.js";
import {
  CELLS,
  DT,
  GRID_COLS,
  KIND_SPEED,
  MAX_CANDIDATES,
  SIGHT_CELLS,
  THINK_INTERVAL,
  cellAt,
  cellCenterX,
  cellCenterY,
} from "../game/config.js";
import { FrameList } from "../game/frame-list.js";
import { engage, followPath, nearest } from "../game/ai-math.js";
import { HEALTH, UNIT_BYTES, UNIT_HANDLE_WORD, UNIT_KIND_BYTE, UNIT_WORDS } from "../game/gameplay.js";
import { BODY_WORDS, RADIUS, TEAM_BYTE, X, Y } from "../game/physics.js";
import {
  PHASE_AI_PLAN_STEER,
  PHASE_AI_THINK,
  PHASE_CONTACTS,
  RESULT_WORDS,
  R_CONTACTS,
  R_CONTACT_COUNT,
  R_PLANS,
  R_SENSES,
  W_BODIES,
  W_BRAINS,
  W_FLOW,
  W_HEADS,
  W_N,
  W_NEXT,
  W_PLANS,
  W_RESULTS,
  W_TARGETS,
  W_UNITS,
  rangeStart,
} from "./job-board.js";

const BODY_BYTES = BODY_WORDS * 8;
const UNIT_U32_WORDS = UNIT_BYTES / 4;

/** A plan request packs the unit's cell (below 2^16) and, once the main thread drew it, its waypoint count above. */
export const PLAN_CELL_MASK = 0xffff;
export const PLAN_WAYPOINTS_SHIFT = 16;
if (CELLS > PLAN_CELL_MASK + 1) throw new Error("kernels: a cell index must fit a plan request's low 16 bits");

/**
 * The parallel parts of a frame, over one chunk (an index range) of the
 * units: what the job workers and the main thread run. They read and write
 * the game's records through typed views of the shared memory, at the
 * addresses the main thread put on the board: the container objects live on
 * the main thread (one handle per container), the bytes are shared.
 *
 * Each kernel does what its single-threaded counterpart does for the units
 * of its chunk, in the same order, touching only its own units' records
 * (and its thread's frame memory), so a split run plays the same game:
 * - {@link findContacts}: the search half of `Physics.separate` (the pairs
 *   (i, j > i) for i in the chunk, in the same order); the main thread
 *   resolves the lists in chunk order with `Physics.resolveContacts`.
 * - {@link think}: `Ai.update`'s timers and `#sense`; a unit that must plan
 *   files a request instead, because planning draws from the game's one random
 *   generator, which the main thread draws in unit order between the phases.
 * - {@link planSteer}: `Ai.#plan` (through this thread's handle on the `ai`
 *   scope: a path block may be allocated by one thread, resized by another
 *   and freed by a third) and `Ai.#steer`, whose target the main thread
 *   resolved from its handle beforehand (the handle pool stays on the main thread).
 *
 * `test/jobs.test.ts` plays the same seeds with and without workers and
 * compares the checksums: a kernel that drifts from the game fails it.
 */
export class JobKernels {
  /** Sensing passes and plans of the chunk being run. */
  senses = 0;
  plans = 0;
  readonly #views: SpaceViews;
  readonly #frame: FrameAllocator;
  readonly #openAi: () => Allocator;
  #ai: Allocator | undefined;
  readonly #contacts: FrameList;

  /** `frame`: this thread's frame allocator; `openAi` opens this thread's handle on the `ai` scope (at the first plan: the game may not have made the scope yet). */
  constructor(views: SpaceViews, frame: FrameAllocator, openAi: () => Allocator) {
    this.#views = views;
    this.#frame = frame;
    this.#openAi = openAi;
    this.#contacts = new FrameList(frame, views);
  }

  /**
   * Runs chunk `chunk` of `chunks` of the board's phase (an index range of
   * its units) and writes the chunk's results into its row of the board.
   */
  run(board: Int32Array, phase: number, chunk: number, chunks: number): void {
    const n = board[W_N]!;
    const a = rangeStart(n, chunk, chunks);
    const b = rangeStart(n, chunk + 1, chunks);
    const row = W_RESULTS + chunk * RESULT_WORDS;
    if (phase === PHASE_CONTACTS) {
      this.findContacts(board, a, b);
      board[row + R_CONTACTS] = this.#contacts.base;
      board[row + R_CONTACT_COUNT] = this.#contacts.length;
    } else if (phase === PHASE_AI_THINK) {
      this.think(board, a, b, DT);
      board[row + R_SENSES] = this.senses;
      this.senses = 0;
    } else if (phase === PHASE_AI_PLAN_STEER) {
      this.planSteer(board, a, b);
      board[row + R_PLANS] = this.plans;
      this.plans = 0;
    }
  }

  /** Overlapping pairs (i, j) with i in [a, b) and j > i, in `Physics.separate`'s order, into a list in this thread's frame memory. */
  findContacts(board: Int32Array, a: number, b: number): void {
    const views = this.#views;
    const contacts = this.#contacts;
    const base = board[W_BODIES]! >>> 3;
    const heads = board[W_HEADS]! >>> 2;
    const next = board[W_NEXT]! >>> 2;
    contacts.begin((b - a) * 4);
    for (let i = a; i < b; i++) {
      // contacts.push may chain a frame chunk, which may grow the space: read the views per body.
      const f64 = views.f64;
      const i32 = views.i32;
      const o = base + i * BODY_WORDS;
      const xi = f64[o + X]!;
      const yi = f64[o + Y]!;
      const ri = f64[o + RADIUS]!;
      const home = cellAt(xi | 0, yi | 0);
      const cx = home % GRID_COLS;
      const cy = (home - cx) / GRID_COLS;
      for (let dy = -1; dy <= 1; dy++) {
        const row = cy + dy;
        if (row < 0 || row >= GRID_COLS) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const col = cx + dx;
          if (col < 0 || col >= GRID_COLS) continue;
          for (let j = i32[heads + row * GRID_COLS + col]!; j >= 0; j = i32[next + j]!) {
            if (j <= i) continue;
            const p = base + j * BODY_WORDS;
            const ex = f64[p + X]! - xi;
            const ey = f64[p + Y]! - yi;
            const rr = ri + f64[p + RADIUS]!;
            if (ex * ex + ey * ey < rr * rr) {
              contacts.push(i);
              contacts.push(j);
            }
          }
        }
      }
    }
  }

  /** Think timers and sensing for the living units of [a, b); a unit with no target and a walked path files a plan request. */
  think(board: Int32Array, a: number, b: number, dt: number): void {
    const views = this.#views;
    const units = board[W_UNITS]! >>> 3;
    const brains = board[W_BRAINS]! >>> 3;
    const plans = board[W_PLANS]! >>> 2;
    // One buffer of this thread's frame memory for every sensing pass of the range.
    const candidates = this.#frame.allocate(MAX_CANDIDATES * 4) >>> 2;
    for (let i = a; i < b; i++) {
      const f64 = views.f64;
      views.i32[plans + i] = -1;
      if (f64[units + i * UNIT_WORDS + HEALTH]! <= 0) continue;
      const t = brains + i * BRAIN_F64_WORDS + BRAIN_THINK;
      let think = f64[t]! - dt;
      if (think <= 0) {
        think += THINK_INTERVAL;
        this.#sense(board, i, candidates);
      }
      f64[t] = think;
    }
  }

  /** Plans (where the main thread granted a request) and steers the living units of [a, b). */
  planSteer(board: Int32Array, a: number, b: number): void {
    const views = this.#views;
    const units = board[W_UNITS]! >>> 3;
    const plans = board[W_PLANS]! >>> 2;
    for (let i = a; i < b; i++) {
      // Read the views per unit: planning resizes paths (which may grow the space).
      if (views.f64[units + i * UNIT_WORDS + HEALTH]! <= 0) continue;
      const plan = views.i32[plans + i]!;
      if (plan >= 0) this.#plan(board, i, plan & PLAN_CELL_MASK, plan >>> PLAN_WAYPOINTS_SHIFT);
      this.#steer(board, i);
    }
  }

  /** `Ai.#sense`: targets the nearest living enemy within sight; with none, requests a plan once the current path is walked. */
  #sense(board: Int32Array, i: number, candidates: number): void {
    const { u8, u32, i32, f64 } = this.#views;
    const bodiesByte = board[W_BODIES]!;
    const bodies = bodiesByte >>> 3;
    const units = board[W_UNITS]! >>> 3;
    const heads = board[W_HEADS]! >>> 2;
    const next = board[W_NEXT]! >>> 2;
    const brain = (board[W_BRAINS]! >>> 2) + i * BRAIN_U32_WORDS;
    const side = u8[bodiesByte + i * BODY_BYTES + TEAM_BYTE]!;
    const xi = f64[bodies + i * BODY_WORDS + X]!;
    const yi = f64[bodies + i * BODY_WORDS + Y]!;
    const home = cellAt(xi | 0, yi | 0);
    const cx = home % GRID_COLS;
    const cy = (home - cx) / GRID_COLS;
    let count = 0;
    for (let dy = -SIGHT_CELLS; dy <= SIGHT_CELLS; dy++) {
      const row = cy + dy;
      if (row < 0 || row >= GRID_COLS) continue;
      for (let dx = -SIGHT_CELLS; dx <= SIGHT_CELLS; dx++) {
        const col = cx + dx;
        if (col < 0 || col >= GRID_COLS) continue;
        for (let j = i32[heads + row * GRID_COLS + col]!; j >= 0 && count < MAX_CANDIDATES; j = i32[next + j]!) {
          if (u8[bodiesByte + j * BODY_BYTES + TEAM_BYTE] !== side && f64[units + j * UNIT_WORDS + HEALTH]! > 0) u32[candidates + count++] = j;
        }
      }
    }
    const best = nearest(f64, u32, bodies, candidates, count, xi, yi);
    this.senses++;
    const targets = board[W_TARGETS]! >>> 2;
    if (best >= 0) {
      u32[brain + BRAIN_TARGET] = u32[(board[W_UNITS]! >>> 2) + best * UNIT_U32_WORDS + UNIT_HANDLE_WORD]!;
      i32[targets + i] = best;
      return;
    }
    u32[brain + BRAIN_TARGET] = 0;
    i32[targets + i] = -1;
    if (u32[brain + BRAIN_PATH_POS]! >= u32[brain + BRAIN_PATH_LEN]!) i32[(board[W_PLANS]! >>> 2) + i] = home;
  }

  /** `Ai.#plan`: follows the flow field for `waypoints` cells from `cell`, resizing the unit's path block through this thread's `ai` scope. */
  #plan(board: Int32Array, i: number, cell: number, waypoints: number): void {
    const views = this.#views;
    const brain = (board[W_BRAINS]! >>> 2) + i * BRAIN_U32_WORDS;
    const ai = (this.#ai ??= this.#openAi());
    const path = ai.reallocate(views.u32[brain + BRAIN_PATH]!, waypoints * 16);
    // Read after reallocate: it may have grown the space.
    const { u8, u32, i32, f64 } = views;
    u32[brain + BRAIN_PATH] = path;
    const side = u8[board[W_BODIES]! + i * BODY_BYTES + TEAM_BYTE]!;
    const flow = (board[W_FLOW]! >>> 2) + side * CELLS;
    const base = path >>> 3;
    let at = cell;
    let length = 0;
    for (let k = 0; k < waypoints; k++) {
      const n = i32[flow + at]!;
      if (n < 0) break;
      at = n;
      f64[base + length * 2] = cellCenterX(at);
      f64[base + length * 2 + 1] = cellCenterY(at);
      length++;
    }
    u32[brain + BRAIN_PATH_LEN] = length;
    u32[brain + BRAIN_PATH_POS] = 0;
    this.plans++;
  }

  /** `Ai.#steer`: engage the target, else walk the path, else stand. */
  #steer(board: Int32Array, i: number): void {
    const { u8, u32, i32, f64 } = this.#views;
    const bodies = board[W_BODIES]! >>> 3;
    const units = board[W_UNITS]! >>> 3;
    const brain = (board[W_BRAINS]! >>> 2) + i * BRAIN_U32_WORDS;
    const o = bodies + i * BODY_WORDS;
    const xi = f64[o + X]!;
    const yi = f64[o + Y]!;
    const speed = KIND_SPEED[u8[board[W_UNITS]! + i * UNIT_BYTES + UNIT_KIND_BYTE]!]!;
    if (u32[brain + BRAIN_TARGET] !== 0) {
      const j = i32[(board[W_TARGETS]! >>> 2) + i]!;
      if (j >= 0 && f64[units + j * UNIT_WORDS + HEALTH]! > 0) {
        const p = bodies + j * BODY_WORDS;
        if (engage(f64, o, f64[p + X]! - xi, f64[p + Y]! - yi, speed)) return;
      }
      u32[brain + BRAIN_TARGET] = 0;
    }
    const pos = u32[brain + BRAIN_PATH_POS]!;
    const aimed = followPath(f64, o, xi, yi, speed, u32[brain + BRAIN_PATH]! >>> 3, pos, u32[brain + BRAIN_PATH_LEN]!);
    if (aimed !== pos) u32[brain + BRAIN_PATH_POS] = aimed;
  }
}
