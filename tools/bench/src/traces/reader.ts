import { gunzipSync } from "node:zlib";
import { TRACE_MAGIC, TRACE_VERSION, TraceFormatError, TraceKind, unzigzag } from "./format.js";
import type { Trace, TraceHeader } from "./format.js";

/**
 * Decodes a trace file (gzip of the format in format.ts) into typed arrays.
 * Only reads: replaying is the bench's business (src/traces/replay.ts), so
 * other producers of the format can share this reader. Throws
 * TraceFormatError for bytes that are not a well-formed version-1 trace.
 */
export function readTrace(file: Uint8Array): Trace {
  let bytes: Uint8Array;
  try {
    bytes = gunzipSync(file);
  } catch (cause) {
    throw new TraceFormatError(`not a gzip file (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  }
  let pos = 0;
  const fail = (what: string): never => {
    throw new TraceFormatError(`${what} at byte ${pos} of ${bytes.length} (after gunzip)`);
  };
  const byte = (): number => (pos < bytes.length ? bytes[pos++]! : fail("unexpected end of trace"));
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 49) fail("varint too long");
    }
  };
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== TRACE_MAGIC) fail(`bad magic "${magic}" (expected "${TRACE_MAGIC}")`);
  pos = 4;
  const version = byte();
  if (version !== TRACE_VERSION) fail(`unsupported version ${version} (this reader reads ${TRACE_VERSION})`);
  const headerLength = varint();
  if (pos + headerLength > bytes.length) fail("header runs past the end");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(pos, pos + headerLength))) as TraceHeader;
  pos += headerLength;
  const count = varint();
  const idCount = varint();
  const kinds = new Uint8Array(count);
  const ids = new Int32Array(count);
  const sizes = new Int32Array(count);
  const alignLog2 = new Uint8Array(count);
  // The format's id rule (see format.ts): the most recently freed id, else a new one.
  const free = new Int32Array(idCount);
  const live = new Uint8Array(idCount);
  let freeTop = 0;
  let nextId = 0;
  let lastId = 0;
  const size = (): number => {
    const n = varint();
    return n > 0x7fffffff ? fail(`size ${n} does not fit the bench's 31-bit sizes`) : n;
  };
  const liveId = (): number => {
    const id = lastId + unzigzag(varint());
    return id >= 0 && id < idCount && live[id] === 1 ? id : fail(`id ${id} is not live`);
  };
  for (let i = 0; i < count; i++) {
    const kind = byte();
    let id: number;
    switch (kind) {
      case TraceKind.ALLOC:
      case TraceKind.CALLOC:
      case TraceKind.ALIGNED:
        id = freeTop > 0 ? free[--freeTop]! : nextId++;
        if (id >= idCount) fail(`more than the ${idCount} ids the header announced`);
        live[id] = 1;
        sizes[i] = size();
        if (kind === TraceKind.ALIGNED) {
          const log2 = varint();
          if (log2 > 16) fail(`alignment 2^${log2} is beyond 64 KiB`);
          alignLog2[i] = log2;
        }
        break;
      case TraceKind.REALLOC:
        id = liveId();
        sizes[i] = size();
        break;
      case TraceKind.FREE:
        id = liveId();
        live[id] = 0;
        free[freeTop++] = id;
        break;
      default:
        return fail(`unknown event kind ${kind} (event ${i})`);
    }
    kinds[i] = kind;
    ids[i] = id;
    lastId = id;
  }
  if (pos !== bytes.length) fail(`${bytes.length - pos} bytes after the last event`);
  return { header, events: { count, kinds, ids, sizes, alignLog2, idCount } };
}
