import { gzipSync } from "node:zlib";
import { TRACE_MAGIC, TRACE_VERSION, TraceKind, zigzag } from "./format.js";
import type { TraceEvents, TraceHeader } from "./format.js";

/** Appends bytes and varints to a growing buffer. */
class ByteWriter {
  private bytes = new Uint8Array(1 << 16);
  length = 0;

  byte(b: number): void {
    if (this.length === this.bytes.length) {
      const next = new Uint8Array(this.bytes.length * 2);
      next.set(this.bytes);
      this.bytes = next;
    }
    this.bytes[this.length++] = b;
  }

  /** Unsigned LEB128 of a safe integer >= 0. */
  varint(n: number): void {
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }

  raw(data: Uint8Array): void {
    for (const b of data) this.byte(b);
  }

  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/**
 * Encodes a trace (see format.ts) and gzips it. The events' ids must follow
 * the format's id rule (the converter assigns them that way); this throws
 * where they do not, so a file always reads back as written.
 */
export function encodeTrace(header: TraceHeader, events: TraceEvents): Uint8Array {
  const w = new ByteWriter();
  w.raw(new TextEncoder().encode(TRACE_MAGIC));
  w.byte(TRACE_VERSION);
  const json = new TextEncoder().encode(JSON.stringify(header));
  w.varint(json.length);
  w.raw(json);
  w.varint(events.count);
  w.varint(events.idCount);
  const ids = new IdAssigner(events.idCount);
  let lastId = 0;
  for (let i = 0; i < events.count; i++) {
    const kind = events.kinds[i]!;
    const id = events.ids[i]!;
    const size = events.sizes[i]!;
    w.byte(kind);
    switch (kind) {
      case TraceKind.ALLOC:
      case TraceKind.CALLOC:
      case TraceKind.ALIGNED: {
        const expected = ids.take();
        if (id !== expected) throw new RangeError(`event ${i}: allocates id ${id}, but the format's id rule gives ${expected}`);
        w.varint(size);
        if (kind === TraceKind.ALIGNED) w.varint(events.alignLog2[i]!);
        break;
      }
      case TraceKind.REALLOC:
        ids.expectLive(i, id);
        w.varint(zigzag(id - lastId));
        w.varint(size);
        break;
      case TraceKind.FREE:
        ids.expectLive(i, id);
        ids.release(id);
        w.varint(zigzag(id - lastId));
        break;
      default:
        throw new RangeError(`event ${i}: unknown kind ${kind}`);
    }
    lastId = id;
  }
  return gzipSync(w.finish(), { level: 9 });
}

/** The format's id rule: reuse the most recently freed id, else a new one. */
export class IdAssigner {
  private readonly free: Int32Array;
  private freeTop = 0;
  private readonly live: Uint8Array;
  /** Ids handed out so far (the next new id). */
  next = 0;

  constructor(capacity: number) {
    this.free = new Int32Array(capacity);
    this.live = new Uint8Array(capacity);
  }

  take(): number {
    const id = this.freeTop > 0 ? this.free[--this.freeTop]! : this.next++;
    if (id >= this.live.length) throw new RangeError(`more than ${this.live.length} ids live at once`);
    this.live[id] = 1;
    return id;
  }

  release(id: number): void {
    this.live[id] = 0;
    this.free[this.freeTop++] = id;
  }

  isLive(id: number): boolean {
    return id >= 0 && id < this.live.length && this.live[id] === 1;
  }

  expectLive(event: number, id: number): void {
    if (!this.isLive(id)) throw new RangeError(`event ${event}: id ${id} is not live`);
  }
}
