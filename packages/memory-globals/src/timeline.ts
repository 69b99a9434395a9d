import {
  Attachment,
  CONTROL_BLOCK_HEADER_WORDS,
  CorruptionError,
  controlWord,
  hex,
  initControl,
  sealControl,
  type AddressSpace,
  type Allocator,
  type ControlLayout,
  type Ptr,
} from "@memkit/core";
import { ROW_SAMPLE_FIELDS, RS_ALLOCS, RS_BUDGET, RS_FREES, RS_LIVE_BYTES, RS_LIVE_COUNT, RS_SERIAL, RS_TOTAL_BYTES, type TraceAllocator } from "@memkit/trace-allocator";

/*
 * The timeline: one sample per frame, taken at the frame boundary
 * (`memory.beginFrame()`), of every scope and of the allocators, kept in a
 * fixed ring in linear memory (so save/restore carries it). Sampling reads
 * the scope rows where they are (TraceAllocator.sampleRows) and the
 * allocators' stats: the allocate and free paths are untouched.
 *
 *   u32 words from the block's start
 *   0..3   header ("MKTL", version, bytes, seal)
 *   fixed (sealed):  4 FRAMES (samples the ring holds)   5 COLUMNS (scope rows sampled)
 *                    6 LEAK_WINDOW (frames the leak-suspect test looks back over; leak-suspects.ts)
 *   state:           7 WRITTEN (samples ever taken)      8 ROWS (most scope rows seen: past COLUMNS, left out)
 *   9..15   unused (the column table starts 64-aligned)
 *   16 ..   column table: COLUMNS entries of 6 words: serial + 1 of the scope last sampled in that row
 *           (0: none), unused, f64 its allocations ever, f64 its frees ever (for the per-frame counts)
 *   then    the samples: FRAMES records of SAMPLE_HEAD + COLUMNS * CELL words
 *           head: frame, pages handed out, generic reserved, frame live, frame reserved, scratch peak,
 *                 scratch reserved, time (performance.now() in microseconds: low and high 32 bits)
 *           cell per scope row: serial + 1 (0: no open scope), own live bytes, own live blocks,
 *                 subtree live bytes, allocations in the frame, frees in the frame, budget (0: none)
 *
 * Byte figures fit u32: a wasm32 space is at most 4 GiB (memkit: 2 GiB);
 * a budget above that is stored as 0xffffffff.
 */

export const TIMELINE_LAYOUT: ControlLayout = { kind: "Timeline", magic: "MKTL", version: 1, fixedWords: 3 };

const F = CONTROL_BLOCK_HEADER_WORDS;
const W_FRAMES = F;
const W_COLUMNS = F + 1;
const W_LEAK_WINDOW = F + 2;
const W_WRITTEN = F + 3;
const W_ROWS = F + 4;
const W_COLUMN_TABLE = 16;
const COLUMN_WORDS = 6;
/** Words of a sample's head. */
export const SAMPLE_HEAD = 9;
/** Words of a scope cell. */
export const CELL = 7;

// Head words.
export const H_FRAME = 0;
export const H_PAGES = 1;
export const H_GENERIC_RESERVED = 2;
export const H_FRAME_LIVE = 3;
export const H_FRAME_RESERVED = 4;
export const H_SCRATCH_PEAK = 5;
export const H_SCRATCH_RESERVED = 6;
export const H_TIME_LO = 7;
export const H_TIME_HI = 8;
// Cell words.
export const C_SERIAL = 0;
export const C_LIVE_BYTES = 1;
export const C_LIVE_COUNT = 2;
export const C_TOTAL_BYTES = 3;
export const C_ALLOCS = 4;
export const C_FREES = 5;
export const C_BUDGET = 6;

/** Largest ring (frames x scope rows) a timeline may ask for. */
export const MAX_TIMELINE_FRAMES = 1 << 16;
export const MAX_TIMELINE_SCOPES = 4096;

/** Bytes of a ring of `frames` samples of `columns` scope rows. */
export function timelineBytes(frames: number, columns: number): number {
  return samplesWord(columns) * 4 + frames * recordWords(columns) * 4;
}

function recordWords(columns: number): number {
  return SAMPLE_HEAD + columns * CELL;
}

function samplesWord(columns: number): number {
  return W_COLUMN_TABLE + columns * COLUMN_WORDS;
}

/** The allocators a sample reads (their stats(), once per frame). */
export interface TimelineSources {
  root: TraceAllocator;
  pages: Allocator;
  generic: Allocator;
  frame: Allocator;
  scratch: Allocator;
}

/** A ring of per-frame samples in linear memory; the JS object is a handle (see the drawing above). */
export class Timeline {
  readonly space: AddressSpace;
  readonly ptr: Ptr;
  readonly frames: number;
  readonly columns: number;
  readonly leakWindow: number;
  readonly #sources: TimelineSources;
  /** Scratch for sampleRows; grows (cold) when the tree has more rows. */
  #rows = new Float64Array(64 * ROW_SAMPLE_FIELDS);
  /** Paths of the scopes seen, by serial + 1: a closed scope keeps its name in the report (not saved: after a restore a closed scope prints as "#serial"). */
  readonly #paths = new Map<number, string>();

  private constructor(space: AddressSpace, ptr: Ptr, sources: TimelineSources) {
    this.space = space;
    this.ptr = ptr;
    this.#sources = sources;
    const w = ptr >>> 2;
    this.frames = space.u32[w + W_FRAMES]!;
    this.columns = space.u32[w + W_COLUMNS]!;
    this.leakWindow = space.u32[w + W_LEAK_WINDOW]!;
  }

  /** A new empty ring of `frames` samples of `scopes` scope rows at `ptr` (timelineBytes(frames, scopes) bytes, 8-aligned). */
  static create(space: AddressSpace, ptr: Ptr, size: { frames: number; scopes: number; leakWindow: number }, sources: TimelineSources): Timeline {
    const { frames, scopes: columns } = size;
    const bytes = timelineBytes(frames, columns);
    space.u8.fill(0, ptr, ptr + bytes);
    initControl(space, ptr, TIMELINE_LAYOUT, bytes);
    space.u32[(ptr >>> 2) + W_FRAMES] = frames;
    space.u32[(ptr >>> 2) + W_COLUMNS] = columns;
    space.u32[(ptr >>> 2) + W_LEAK_WINDOW] = size.leakWindow;
    sealControl(space, ptr, TIMELINE_LAYOUT);
    return new Timeline(space, ptr, sources);
  }

  /** The ring a memory root records (a restore): magic, version, size and seal checked, then its state words. */
  static attach(space: AddressSpace, ptr: Ptr, sources: TimelineSources): Timeline {
    Attachment.open(space, ptr, TIMELINE_LAYOUT, "Timeline.attach");
    const u32 = space.u32;
    const frames = controlWord(u32, ptr, W_FRAMES, 1, MAX_TIMELINE_FRAMES, TIMELINE_LAYOUT, "frames");
    const columns = controlWord(u32, ptr, W_COLUMNS, 1, MAX_TIMELINE_SCOPES, TIMELINE_LAYOUT, "columns");
    controlWord(u32, ptr, W_LEAK_WINDOW, 1, MAX_TIMELINE_FRAMES, TIMELINE_LAYOUT, "leakWindow");
    if (u32[(ptr >>> 2) + 2]! !== timelineBytes(frames, columns)) {
      throw new CorruptionError(`Timeline at ${hex(ptr)}: the block's size does not match ${frames} frames of ${columns} scopes: the memory root is damaged.`);
    }
    const timeline = new Timeline(space, ptr, sources);
    timeline.check();
    return timeline;
  }

  /** Samples ever taken. */
  get written(): number {
    return this.space.u32[(this.ptr >>> 2) + W_WRITTEN]!;
  }

  /** The most scope rows a sample saw (those past `columns` are left out of the ring). */
  get rowsSeen(): number {
    return this.space.u32[(this.ptr >>> 2) + W_ROWS]!;
  }

  /**
   * Takes the sample of frame `frame` (the frame that ends): every scope
   * row's counters and the allocators' figures, into the oldest slot of the
   * ring. Allocations and frees are counted since the row's last sample.
   */
  sample(frame: number): void {
    const s = this.#sources;
    let rows = this.#rows;
    let n = s.root.sampleRows(rows);
    if (n * ROW_SAMPLE_FIELDS > rows.length) {
      rows = this.#rows = new Float64Array(Math.max(n, this.columns) * 2 * ROW_SAMPLE_FIELDS);
      n = s.root.sampleRows(rows);
    }
    const pages = s.pages.stats();
    const generic = s.generic.stats();
    const frameStats = s.frame.stats();
    const scratch = s.scratch.stats();
    const u32 = this.space.u32;
    const f64 = this.space.f64;
    const w = this.ptr >>> 2;
    const written = u32[w + W_WRITTEN]!;
    if (n > u32[w + W_ROWS]!) u32[w + W_ROWS] = n;
    const cols = this.columns;
    const at = w + samplesWord(cols) + (written % this.frames) * recordWords(cols);
    u32[at + H_FRAME] = frame;
    u32[at + H_PAGES] = pages.liveBytes;
    u32[at + H_GENERIC_RESERVED] = generic.reservedBytes;
    u32[at + H_FRAME_LIVE] = frameStats.liveBytes;
    u32[at + H_FRAME_RESERVED] = frameStats.reservedBytes;
    u32[at + H_SCRATCH_PEAK] = scratch.peakLiveBytes;
    u32[at + H_SCRATCH_RESERVED] = scratch.reservedBytes;
    const us = Math.round(performance.now() * 1000);
    u32[at + H_TIME_LO] = us % 0x100000000;
    u32[at + H_TIME_HI] = Math.floor(us / 0x100000000);
    const used = Math.min(n, cols);
    for (let r = 0; r < cols; r++) {
      const c = at + SAMPLE_HEAD + r * CELL;
      const o = r * ROW_SAMPLE_FIELDS;
      const serial = r < used ? rows[o + RS_SERIAL]! : 0;
      u32[c + C_SERIAL] = serial;
      if (serial === 0) {
        u32[c + C_LIVE_BYTES] = u32[c + C_LIVE_COUNT] = u32[c + C_TOTAL_BYTES] = u32[c + C_ALLOCS] = u32[c + C_FREES] = u32[c + C_BUDGET] = 0;
        continue;
      }
      const col = w + W_COLUMN_TABLE + r * COLUMN_WORDS;
      const d = (col + 2) >>> 1;
      if (u32[col]! !== serial) {
        // A scope new to this row: its counts start at 0 (a new scope's counters do).
        u32[col] = serial;
        f64[d] = 0;
        f64[d + 1] = 0;
        if (!this.#paths.has(serial)) {
          const path = s.root.pathOfRow(r, serial - 1);
          if (path !== undefined) this.#paths.set(serial, path);
        }
      }
      const allocs = rows[o + RS_ALLOCS]!;
      const frees = rows[o + RS_FREES]!;
      u32[c + C_LIVE_BYTES] = rows[o + RS_LIVE_BYTES]!;
      u32[c + C_LIVE_COUNT] = rows[o + RS_LIVE_COUNT]!;
      u32[c + C_TOTAL_BYTES] = rows[o + RS_TOTAL_BYTES]!;
      u32[c + C_ALLOCS] = allocs - f64[d]!;
      u32[c + C_FREES] = frees - f64[d + 1]!;
      u32[c + C_BUDGET] = Math.min(rows[o + RS_BUDGET]!, 0xffffffff);
      f64[d] = allocs;
      f64[d + 1] = frees;
    }
    u32[w + W_WRITTEN] = written + 1;
  }

  /** The path of the scope whose serial + 1 is `serial`, sampled in `row`: from this handle's names, else the tree (a scope still open after a restore), else "#serial". */
  pathOf(row: number, serial: number): string {
    let path = this.#paths.get(serial);
    if (path === undefined && this.#sources.root.alive) {
      path = this.#sources.root.pathOfRow(row, serial - 1);
      if (path !== undefined) this.#paths.set(serial, path);
    }
    return path ?? `#${serial - 1}`;
  }

  /** Word index of the sample `age` frames old (0: the newest), or -1 when the ring holds fewer. */
  recordAt(age: number): number {
    const written = this.written;
    const held = Math.min(written, this.frames);
    if (age < 0 || age >= held) return -1;
    return (this.ptr >>> 2) + samplesWord(this.columns) + ((written - 1 - age) % this.frames) * recordWords(this.columns);
  }

  /** CorruptionError when a state word or a sample is impossible. */
  check(): void {
    const u32 = this.space.u32;
    const w = this.ptr >>> 2;
    const rows = u32[w + W_ROWS]!;
    if (u32[w + W_WRITTEN]! > 0 && rows === 0) throw new CorruptionError(`Timeline at ${hex(this.ptr)}: samples were taken but no scope row was ever seen: the ring is damaged.`);
    const held = Math.min(this.written, this.frames);
    let later = Infinity;
    for (let age = 0; age < held; age++) {
      const at = this.recordAt(age);
      const frame = u32[at + H_FRAME]!;
      if (frame >= later) {
        throw new CorruptionError(`Timeline at ${hex(this.ptr)}: the ring holds a sample of frame ${frame} older than its sample of frame ${later}: frames only go forward, so the ring is damaged.`);
      }
      later = frame;
    }
  }
}
