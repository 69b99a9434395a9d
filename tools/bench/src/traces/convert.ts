// Turns a raw recording of traces/recorder/recorder.c into a compact trace
// (format.ts): `node dist/traces/convert.js <in.raw> <out.trace.gz> --name N --program TEXT [--cap N]`.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TraceKind } from "./format.js";
import type { TraceEvents, TraceHeader } from "./format.js";
import { IdAssigner, encodeTrace } from "./writer.js";

/** Raw record layout of recorder.c: u8 op, 3 pad, u32 align, u64 result, u64 old, u64 size. */
export const RAW_RECORD_BYTES = 32;
/** Raw op codes of recorder.c. */
export const RawOp = { MALLOC: 1, CALLOC: 2, REALLOC: 3, FREE: 4, MEMALIGN: 5 } as const;

/** One raw record, as the recorder logs it (pointers as numbers: user-space addresses fit 2^53). */
export interface RawRecord {
  op: number;
  align: number;
  result: number;
  old: number;
  size: number;
}

/** Calls `each` with every record of the recorder's raw bytes (one reused object: recordings run to millions). */
export function forEachRaw(bytes: Uint8Array, each: (r: RawRecord) => void): void {
  if (bytes.length % RAW_RECORD_BYTES !== 0) throw new RangeError(`raw recording of ${bytes.length} bytes is not a whole number of ${RAW_RECORD_BYTES}-byte records`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number): number => v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
  const r: RawRecord = { op: 0, align: 0, result: 0, old: 0, size: 0 };
  for (let at = 0; at < bytes.length; at += RAW_RECORD_BYTES) {
    r.op = v.getUint8(at);
    r.align = v.getUint32(at + 4, true);
    r.result = u64(at + 8);
    r.old = u64(at + 16);
    r.size = u64(at + 24);
    each(r);
  }
}

/** The recorder's raw bytes for `records` (tests build recordings with it). */
export function rawBytes(records: readonly RawRecord[]): Uint8Array {
  const out = new Uint8Array(records.length * RAW_RECORD_BYTES);
  const v = new DataView(out.buffer);
  const u64 = (at: number, n: number): void => {
    v.setUint32(at, n % 2 ** 32, true);
    v.setUint32(at + 4, Math.floor(n / 2 ** 32), true);
  };
  records.forEach((r, k) => {
    const at = k * RAW_RECORD_BYTES;
    v.setUint8(at, r.op);
    v.setUint32(at + 4, r.align, true);
    u64(at + 8, r.result);
    u64(at + 16, r.old);
    u64(at + 24, r.size);
  });
  return out;
}

/** The events of a recording, and what had to be dropped. */
export interface Converted {
  events: TraceEvents;
  /** Events before the cap. */
  recordedEvents: number;
  dropped: Record<string, number>;
}

/**
 * Maps a recording to events with dense block ids (the format's id rule),
 * keeping the first `cap` events. C semantics: realloc(NULL, n) allocates,
 * realloc(p, 0) returning NULL frees, a failed call changes nothing. Records
 * the trace cannot express are dropped and counted: a free or realloc of a
 * pointer never seen (allocated before recording began, or by a path the
 * recorder does not hook).
 */
export function convertRecords(raw: Uint8Array, cap = Infinity): Converted {
  const n = cap;
  const kinds: number[] = [];
  const ids: number[] = [];
  const sizes: number[] = [];
  const aligns: number[] = [];
  const idOf = new Map<number, number>();
  const assigner = new IdAssigner(raw.length / RAW_RECORD_BYTES + 1);
  const dropped: Record<string, number> = {};
  const drop = (why: string): void => void (dropped[why] = (dropped[why] ?? 0) + 1);
  let recorded = 0;
  const push = (kind: number, id: number, size: number, alignLog2 = 0): void => {
    recorded++;
    if (kinds.length >= n) return;
    kinds.push(kind);
    ids.push(id);
    sizes.push(size);
    aligns.push(alignLog2);
  };
  const allocate = (kind: number, ptr: number, size: number, alignLog2 = 0): void => {
    const stale = idOf.get(ptr);
    if (stale !== undefined) {
      // The program freed it through a path not hooked: free it here so the ids stay right.
      drop("allocation at a live address (freed unseen)");
      assigner.release(stale);
      push(TraceKind.FREE, stale, 0);
    }
    const id = assigner.take();
    idOf.set(ptr, id);
    push(kind, id, size, alignLog2);
  };
  forEachRaw(raw, (r) => {
    switch (r.op) {
      case RawOp.MALLOC:
      case RawOp.CALLOC:
        if (r.result === 0) drop("failed allocation");
        else allocate(r.op === RawOp.MALLOC ? TraceKind.ALLOC : TraceKind.CALLOC, r.result, r.size);
        break;
      case RawOp.MEMALIGN: {
        if (r.result === 0) {
          drop("failed allocation");
          break;
        }
        const log2 = Math.log2(r.align);
        if (!Number.isInteger(log2) || log2 > 16) drop("alignment not a power of two up to 64 KiB");
        else if (log2 <= 3) allocate(TraceKind.ALLOC, r.result, r.size); // malloc's own alignment already
        else allocate(TraceKind.ALIGNED, r.result, r.size, log2);
        break;
      }
      case RawOp.REALLOC: {
        if (r.old === 0) {
          if (r.result === 0) drop("failed allocation");
          else allocate(TraceKind.ALLOC, r.result, r.size);
          break;
        }
        const id = idOf.get(r.old);
        if (id === undefined) {
          drop("realloc of an unknown pointer (taken as an allocation)");
          if (r.result !== 0) allocate(TraceKind.ALLOC, r.result, r.size);
          break;
        }
        if (r.result === 0) {
          if (r.size !== 0) {
            drop("failed allocation");
            break;
          }
          idOf.delete(r.old);
          assigner.release(id);
          push(TraceKind.FREE, id, 0);
          break;
        }
        idOf.delete(r.old);
        idOf.set(r.result, id);
        push(TraceKind.REALLOC, id, r.size);
        break;
      }
      case RawOp.FREE: {
        const id = idOf.get(r.old);
        if (id === undefined) {
          drop("free of an unknown pointer");
          break;
        }
        idOf.delete(r.old);
        assigner.release(id);
        push(TraceKind.FREE, id, 0);
        break;
      }
      default:
        throw new RangeError(`raw record with unknown op ${r.op}`);
    }
  });
  // Ids above the cap's high mark are never used by the kept events.
  let idCount = 0;
  for (const id of ids) if (id >= idCount) idCount = id + 1;
  const events: TraceEvents = {
    count: kinds.length,
    kinds: Uint8Array.from(kinds),
    ids: Int32Array.from(ids),
    sizes: Int32Array.from(sizes),
    alignLog2: Uint8Array.from(aligns),
    idCount,
  };
  return { events, recordedEvents: recorded, dropped };
}

/** Raw recording -> gzipped compact trace bytes. */
export function convertRaw(raw: Uint8Array, header: Pick<TraceHeader, "name" | "program"> & Record<string, unknown>, cap = Infinity): { bytes: Uint8Array; converted: Converted } {
  const converted = convertRecords(raw, cap);
  const full: TraceHeader = {
    ...header,
    recordedEvents: converted.recordedEvents,
    capped: converted.events.count < converted.recordedEvents,
    dropped: converted.dropped,
  };
  return { bytes: encodeTrace(full, converted.events), converted };
}

function cli(argv: readonly string[]): void {
  const [input, output, ...rest] = argv;
  const usage = "usage: node dist/traces/convert.js <in.raw> <out.trace.gz> --name NAME --program TEXT [--cap EVENTS]";
  if (input === undefined || output === undefined) throw new Error(usage);
  const header: { name: string; program: string } = { name: "", program: "" };
  let cap = Infinity;
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    if (value === undefined) throw new Error(`${rest[i]} needs a value\n${usage}`);
    if (rest[i] === "--name") header.name = value;
    else if (rest[i] === "--program") header.program = value;
    else if (rest[i] === "--cap") cap = Number(value);
    else throw new Error(`unknown option ${rest[i]}\n${usage}`);
  }
  if (!header.name || !header.program || !(cap > 0)) throw new Error(usage);
  const { bytes, converted } = convertRaw(readFileSync(input), header, cap);
  writeFileSync(output, bytes);
  console.log(
    `${output}: ${converted.events.count.toLocaleString("en-US")} of ${converted.recordedEvents.toLocaleString("en-US")} events, ` +
      `${converted.events.idCount.toLocaleString("en-US")} ids, ${bytes.length.toLocaleString("en-US")} bytes; dropped ${JSON.stringify(converted.dropped)}`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    cli(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
