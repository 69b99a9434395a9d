/**
 * The compact allocation-trace format (version 1), shared by the writer and
 * the reader. A file is gzip (node:zlib) of:
 *
 * ```
 * "MKTR"                  4 bytes, magic
 * version                 1 byte (TRACE_VERSION)
 * header length           varint, then that many bytes of UTF-8 JSON (TraceHeader)
 * event count             varint
 * id count                varint: block ids are 0 .. id count - 1
 * events                  event count times: a tag byte, then varints
 * ```
 *
 * Varints are unsigned LEB128 (7 bits a byte, low first); signed values are
 * zigzag-mapped first. The tag byte is the event kind (`TraceKind`).
 *
 * | kind            | after the tag                                  |
 * |-----------------|------------------------------------------------|
 * | ALLOC, CALLOC   | size                                           |
 * | ALIGNED         | size, log2(alignment)                          |
 * | REALLOC         | id delta, new size                             |
 * | FREE            | id delta                                       |
 *
 * Pointers are replaced by dense block ids. An allocating event does not
 * store its id: both sides assign it the same way, the id freed most
 * recently that is not live again yet, else the next new id (a LIFO of free
 * ids), so ids stay below the most blocks live at once. A block keeps its id
 * across reallocations. An id delta is zigzag(id - id of the previous event
 * that named or got an id), which keeps frees of recent blocks to one byte.
 * Sizes are bytes as requested (0 is allowed, as malloc(0) is).
 */

/** The kinds of event. */
export const TraceKind = { ALLOC: 0, CALLOC: 1, REALLOC: 2, FREE: 3, ALIGNED: 4 } as const;
export type TraceKind = (typeof TraceKind)[keyof typeof TraceKind];

export const TRACE_MAGIC = "MKTR";
export const TRACE_VERSION = 1;

/** What a trace says about itself (the JSON header). Extra fields are kept as they are. */
export interface TraceHeader {
  /** Short name, e.g. "sqlite". */
  name: string;
  /** What was recorded: program, input, how. */
  program: string;
  /** Events the recording produced (before any cap). */
  recordedEvents?: number;
  /** True when only the first `eventCount` events were kept. */
  capped?: boolean;
  /** Raw records that could not be turned into events (e.g. a free of a pointer never seen), by reason. */
  dropped?: Record<string, number>;
  [key: string]: unknown;
}

/** A trace in memory: one entry per event in each array. */
export interface TraceEvents {
  readonly count: number;
  /** {@link TraceKind} of each event. */
  readonly kinds: Uint8Array;
  /** The block id each event allocates, reallocates or frees. */
  readonly ids: Int32Array;
  /** Bytes requested (ALLOC, CALLOC, ALIGNED, REALLOC); 0 for FREE. */
  readonly sizes: Int32Array;
  /** log2 of the alignment of ALIGNED events, else 0. */
  readonly alignLog2: Uint8Array;
  /** Number of distinct ids (ids are 0 .. idCount - 1). */
  readonly idCount: number;
}

/** A decoded trace file. */
export interface Trace {
  readonly header: TraceHeader;
  readonly events: TraceEvents;
}

/** Thrown for bytes that are not a trace of a known version. */
export class TraceFormatError extends Error {
  override readonly name = "TraceFormatError";
}

/** Zigzag: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ... */
export function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

export function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}
