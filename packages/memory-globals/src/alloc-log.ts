import { CorruptionError } from "@memkit/core";

/*
 * The allocation log (format version 1): every allocate, free and reallocate
 * of the scopes, with its scope, size, alignment and frame, as compact bytes
 * (no compression: packages/ run in browsers; gzip it if you keep it).
 *
 *   "MKAL"            4 bytes, magic
 *   version           1 byte (ALLOC_LOG_VERSION)
 *   header length     varint, then that many bytes of UTF-8 JSON (AllocLogHeader)
 *   event count       varint
 *   id count          varint: block ids are 0 .. id count - 1
 *   events            event count times: a kind byte, then varints
 *
 *   | kind        | after the kind byte                                                    |
 *   |-------------|------------------------------------------------------------------------|
 *   | ALLOC   (0) | scope, size, log2(alignment), frame delta                              |
 *   | FREE    (1) | scope, id delta, frame delta                                           |
 *   | REALLOC (2) | scope, id delta, new size, log2(alignment), frame delta                |
 *
 * Varints are unsigned LEB128; deltas are zigzag-mapped first. `scope` is an
 * index into the header's `scopes` (paths). Pointers are dense block ids
 * assigned as tools/bench's trace format does: an allocation takes the id
 * freed most recently that is not live again, else the next new one (a LIFO
 * of free ids); a block keeps its id across reallocations; an id delta is
 * zigzag(id - the id of the previous event that named or got one). A frame
 * delta is zigzag(frame - the previous event's frame), the first against 0.
 * Sizes are the bytes asked for.
 */

export const ALLOC_LOG_MAGIC = "MKAL";
export const ALLOC_LOG_VERSION = 1;

/** Event kinds. */
export const AllocLogKind = { ALLOC: 0, FREE: 1, REALLOC: 2 } as const;
export type AllocLogKind = (typeof AllocLogKind)[keyof typeof AllocLogKind];

/** What a log says about itself. */
export interface AllocLogHeader {
  /** What was recorded ("game-loop --frames 600"). */
  label: string;
  /** Scope paths; events name them by index. */
  scopes: string[];
  /** The tracing level the memory ran at. */
  tracing: string;
  [key: string]: unknown;
}

/** A decoded log: one entry per event in each array. */
export interface AllocLog {
  header: AllocLogHeader;
  count: number;
  kinds: Uint8Array;
  scopes: Uint32Array;
  /** The block id each event allocates, frees or reallocates. */
  ids: Int32Array;
  /** Bytes asked for (ALLOC, REALLOC); 0 for FREE. */
  sizes: Float64Array;
  /** log2 of the alignment (ALLOC, REALLOC); 0 for FREE. */
  alignLog2: Uint8Array;
  frames: Uint32Array;
  /** Distinct block ids (0 .. idCount - 1). */
  idCount: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Growable byte output. */
class Bytes {
  buf = new Uint8Array(1024);
  length = 0;

  byte(b: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = b;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }

  bytes(b: Uint8Array): void {
    for (const x of b) this.byte(x);
  }
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/** Encodes a log (its ids must follow the LIFO rule above; the recorder's do). */
export function encodeAllocLog(log: AllocLog): Uint8Array {
  const out = new Bytes();
  out.bytes(encoder.encode(ALLOC_LOG_MAGIC));
  out.byte(ALLOC_LOG_VERSION);
  const header = encoder.encode(JSON.stringify(log.header));
  out.varint(header.byteLength);
  out.bytes(header);
  out.varint(log.count);
  out.varint(log.idCount);
  let lastId = 0;
  let lastFrame = 0;
  for (let i = 0; i < log.count; i++) {
    const kind = log.kinds[i]!;
    out.byte(kind);
    out.varint(log.scopes[i]!);
    if (kind !== AllocLogKind.ALLOC) out.varint(zigzag(log.ids[i]! - lastId));
    if (kind !== AllocLogKind.FREE) {
      out.varint(log.sizes[i]!);
      out.byte(log.alignLog2[i]!);
    }
    out.varint(zigzag(log.frames[i]! - lastFrame));
    lastId = log.ids[i]!;
    lastFrame = log.frames[i]!;
  }
  return out.buf.slice(0, out.length);
}

/** Decodes a log; a file that is not one (or is cut short, or names an id that is not live) is a CorruptionError saying where. */
export function decodeAllocLog(bytes: Uint8Array): AllocLog {
  let at = 0;
  const fail = (why: string): never => {
    throw new CorruptionError(`allocation log: ${why} (at byte ${at} of ${bytes.byteLength}).`);
  };
  const byte = (): number => (at < bytes.byteLength ? bytes[at++]! : fail("the file ends in the middle of an event"));
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (let k = 0; k < 8; k++) {
      const b = byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
    return fail("a number longer than 8 bytes");
  };
  if (bytes.byteLength < 5 || decoder.decode(bytes.subarray(0, 4)) !== ALLOC_LOG_MAGIC) fail(`not an allocation log: it does not start with "${ALLOC_LOG_MAGIC}"`);
  at = 4;
  const version = byte();
  if (version !== ALLOC_LOG_VERSION) fail(`format version ${version}; this memkit reads version ${ALLOC_LOG_VERSION}`);
  const headerBytes = varint();
  if (at + headerBytes > bytes.byteLength) fail("the header is cut short");
  let header: AllocLogHeader;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(at, at + headerBytes))) as AllocLogHeader;
  } catch {
    return fail("the header is not JSON");
  }
  if (typeof header !== "object" || header === null || !Array.isArray(header.scopes)) fail("the header has no scopes list");
  at += headerBytes;
  const count = varint();
  const idCount = varint();
  if (count > bytes.byteLength) fail(`${count} events cannot fit in the file`);
  const log: AllocLog = {
    header,
    count,
    kinds: new Uint8Array(count),
    scopes: new Uint32Array(count),
    ids: new Int32Array(count),
    sizes: new Float64Array(count),
    alignLog2: new Uint8Array(count),
    frames: new Uint32Array(count),
    idCount,
  };
  const live = new Uint8Array(idCount);
  const freeIds: number[] = [];
  let nextId = 0;
  let lastId = 0;
  let lastFrame = 0;
  for (let i = 0; i < count; i++) {
    const kind = byte();
    if (kind > AllocLogKind.REALLOC) fail(`event ${i} has kind ${kind}`);
    const scope = varint();
    if (scope >= header.scopes.length) fail(`event ${i} names scope ${scope} of ${header.scopes.length}`);
    let id: number;
    if (kind === AllocLogKind.ALLOC) {
      id = freeIds.length > 0 ? freeIds.pop()! : nextId++;
      if (id >= idCount) fail(`event ${i} needs block id ${id}, past the ${idCount} the header counts`);
      live[id] = 1;
    } else {
      id = lastId + unzigzag(varint());
      if (id < 0 || id >= idCount || live[id] === 0) fail(`event ${i} names block ${id}, which is not live`);
      if (kind === AllocLogKind.FREE) {
        live[id] = 0;
        freeIds.push(id);
      }
    }
    if (kind !== AllocLogKind.FREE) {
      log.sizes[i] = varint();
      log.alignLog2[i] = byte();
    }
    const frame = lastFrame + unzigzag(varint());
    if (frame < 0) fail(`event ${i} has frame ${frame}`);
    log.kinds[i] = kind;
    log.scopes[i] = scope;
    log.ids[i] = id;
    log.frames[i] = frame;
    lastId = id;
    lastFrame = frame;
  }
  if (at !== bytes.byteLength) fail(`${bytes.byteLength - at} bytes after the last event`);
  return log;
}
