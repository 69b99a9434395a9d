import { AddressSpace } from "@memkit/core";
import { GenericAllocator } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parseArgs, runBench } from "../src/main.js";
import { QUICK_TRACE_EVENTS, TRACE_IDS, loadTrace, traceWorkload } from "../src/traces/catalog.js";
import { RawOp, convertRaw, rawBytes } from "../src/traces/convert.js";
import type { RawRecord } from "../src/traces/convert.js";
import { summarizeTrace } from "../src/traces/describe.js";
import { TRACE_VERSION, TraceFormatError, TraceKind } from "../src/traces/format.js";
import type { TraceEvents } from "../src/traces/format.js";
import { readTrace } from "../src/traces/reader.js";
import { FLAG_ZERO, traceOps } from "../src/traces/replay.js";
import { encodeTrace } from "../src/traces/writer.js";

const { ALLOC, CALLOC, REALLOC, FREE, ALIGNED } = TraceKind;
const rec = (op: number, result: number, old = 0, size = 0, align = 0): RawRecord => ({ op, result, old, size, align });

/** A small recording with what real ones contain: reuse of addresses after free, realloc that moves and that does not, calloc, memalign, C's corner cases. */
const RECORDING: RawRecord[] = [
  rec(RawOp.MALLOC, 0x1000, 0, 24), // id 0
  rec(RawOp.CALLOC, 0x2000, 0, 100), // id 1
  rec(RawOp.REALLOC, 0x7f00_0000_3000, 0x1000, 4000), // id 0 moves above 2^32
  rec(RawOp.FREE, 0, 0x2000), // id 1 freed
  rec(RawOp.MALLOC, 0x2000, 0, 16), // address reused: takes id 1 again (the most recently freed)
  rec(RawOp.MEMALIGN, 0x4000, 0, 64, 64), // id 2, 64-aligned
  rec(RawOp.MEMALIGN, 0x5000, 0, 8, 8), // alignment malloc gives anyway: a plain allocation, id 3
  rec(RawOp.REALLOC, 0x7f00_0000_3000, 0x7f00_0000_3000, 8000), // in place: still id 0
  rec(RawOp.REALLOC, 0x6000, 0, 0), // realloc(NULL, 0): malloc(0), id 4
  rec(RawOp.FREE, 0, 0x9999), // never seen: dropped
  rec(RawOp.REALLOC, 0, 0x4000, 0), // realloc(p, 0) returning NULL frees id 2
  rec(RawOp.MALLOC, 0, 0, 1 << 30), // failed: dropped
  rec(RawOp.FREE, 0, 0x2000), // id 1
  rec(RawOp.MALLOC, 0x8000, 0, 48), // takes id 1 (freed last), not 2
  rec(RawOp.MALLOC, 0x8100, 0, 48), // then id 2
];

const EXPECTED = {
  kinds: [ALLOC, CALLOC, REALLOC, FREE, ALLOC, ALIGNED, ALLOC, REALLOC, ALLOC, FREE, FREE, ALLOC, ALLOC],
  ids: [0, 1, 0, 1, 1, 2, 3, 0, 4, 2, 1, 1, 2],
  sizes: [24, 100, 4000, 0, 16, 64, 8, 8000, 0, 0, 0, 48, 48],
  alignLog2: [0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0],
};

describe("trace converter and reader", () => {
  it("round-trips a recording: dense ids, reused ids, reallocs, calloc, alignment, C's corner cases", () => {
    const { bytes, converted } = convertRaw(rawBytes(RECORDING), { name: "synthetic", program: "test" });
    const { header, events } = readTrace(bytes);
    expect(Array.from(events.kinds)).toEqual(EXPECTED.kinds);
    expect(Array.from(events.ids)).toEqual(EXPECTED.ids);
    expect(Array.from(events.sizes)).toEqual(EXPECTED.sizes);
    expect(Array.from(events.alignLog2)).toEqual(EXPECTED.alignLog2);
    expect(events.idCount).toBe(5);
    expect(header).toMatchObject({ name: "synthetic", program: "test", recordedEvents: 13, capped: false });
    expect(header.dropped).toEqual({ "free of an unknown pointer": 1, "failed allocation": 1 });
    // The reader gives back exactly what the converter encoded.
    expect(Array.from(events.ids)).toEqual(Array.from(converted.events.ids));
  });

  it("caps a recording to its first events and says so", () => {
    const { bytes } = convertRaw(rawBytes(RECORDING), { name: "synthetic", program: "test" }, 6);
    const { header, events } = readTrace(bytes);
    expect(events.count).toBe(6);
    expect(Array.from(events.kinds)).toEqual(EXPECTED.kinds.slice(0, 6));
    expect(events.idCount).toBe(3);
    expect(header).toMatchObject({ recordedEvents: 13, capped: true });
  });

  it("the writer refuses ids that break the format's id rule, and frees of ids not live", () => {
    const events = (ids: number[], kinds: number[]): TraceEvents => ({
      count: ids.length,
      kinds: Uint8Array.from(kinds),
      ids: Int32Array.from(ids),
      sizes: Int32Array.from(ids.map(() => 8)),
      alignLog2: new Uint8Array(ids.length),
      idCount: 4,
    });
    expect(() => encodeTrace({ name: "x", program: "x" }, events([1], [ALLOC]))).toThrow(/id rule gives 0/);
    expect(() => encodeTrace({ name: "x", program: "x" }, events([0, 1], [ALLOC, FREE]))).toThrow(/id 1 is not live/);
    expect(() => encodeTrace({ name: "x", program: "x" }, events([0, 0, 1], [ALLOC, FREE, ALLOC]))).toThrow(/id rule gives 0/);
  });

  it("the reader rejects what is not a well-formed trace", () => {
    const good = convertRaw(rawBytes(RECORDING), { name: "s", program: "t" }).bytes;
    const plain = gunzipSync(good);
    const variant = (edit: (b: Uint8Array) => Uint8Array): Uint8Array => gzipSync(edit(new Uint8Array(plain)));
    expect(() => readTrace(new Uint8Array([1, 2, 3]))).toThrow(TraceFormatError);
    expect(() => readTrace(variant((b) => (b.set([0x58], 0), b)))).toThrow(/bad magic/);
    expect(() => readTrace(variant((b) => (b.set([TRACE_VERSION + 1], 4), b)))).toThrow(/unsupported version/);
    expect(() => readTrace(variant((b) => b.subarray(0, b.length - 2)))).toThrow(/unexpected end/);
    expect(() => readTrace(variant((b) => Uint8Array.from([...b, 0])))).toThrow(TraceFormatError);
  });

  it("replay ops: sizes, frees and reallocs as the bench's op model, calloc and alignment in flags", () => {
    const { events } = readTrace(convertRaw(rawBytes(RECORDING), { name: "s", program: "t" }).bytes);
    const ops = traceOps(events);
    expect(Array.from(ops.sizes)).toEqual([24, 100, -4000, 0, 16, 64, 8, -8000, 1, 0, 0, 48, 48]);
    expect(Array.from(ops.flags ?? [])).toEqual([0, FLAG_ZERO, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    expect(ops.slotCount).toBe(5);
  });
});

/** Replays ops straight on a GenericAllocator, filling every block with a pattern of its op and checking each byte before it is freed or moved. */
function replayWithPatterns(events: TraceEvents, count: number): { checked: number; live: number } {
  const space = AddressSpace.create({ initialBytes: 64 << 20, maximumBytes: 1 << 30 });
  const pages = new PageAllocator(space, { pageSize: 16384 });
  const generic = new GenericAllocator(pages, {});
  const ops = traceOps(events, count);
  const ptr = new Float64Array(ops.slotCount);
  const size = new Int32Array(ops.slotCount);
  const stamp = new Int32Array(ops.slotCount);
  let checked = 0;
  const fill = (s: number, from: number): void => {
    const u8 = space.u8;
    for (let k = from; k < size[s]!; k++) u8[ptr[s]! + k] = (stamp[s]! + k) & 255;
  };
  const verify = (s: number, upTo: number): void => {
    const u8 = space.u8;
    for (let k = 0; k < upTo; k++) {
      if (u8[ptr[s]! + k] !== ((stamp[s]! + k) & 255)) throw new Error(`block ${s} (${size[s]} B at ${ptr[s]}) lost byte ${k}`);
    }
    checked++;
  };
  try {
    for (let i = 0; i < ops.count; i++) {
      const s = ops.slots[i]!;
      const n = ops.sizes[i]!;
      if (n > 0) {
        const f = ops.flags![i]!;
        const align = 1 << (f & 0x1f);
        const p = generic.allocate(n, align > 1 ? align : undefined);
        expect(p % Math.max(align, 8)).toBe(0);
        ptr[s] = p;
        size[s] = n;
        stamp[s] = i;
        fill(s, 0);
      } else if (n === 0) {
        verify(s, size[s]!);
        generic.deallocate(ptr[s]!);
        size[s] = 0;
      } else {
        verify(s, size[s]!);
        const keep = Math.min(size[s]!, -n);
        ptr[s] = generic.reallocate(ptr[s]!, -n);
        verify(s, keep);
        size[s] = -n;
        fill(s, keep);
      }
    }
    let live = 0;
    for (let s = 0; s < ops.slotCount; s++) {
      if (size[s]! > 0) {
        verify(s, size[s]!);
        live++;
      }
    }
    generic.check();
    for (let s = 0; s < ops.slotCount; s++) if (size[s]! > 0) generic.deallocate(ptr[s]!);
    generic.check();
    return { checked, live };
  } finally {
    generic.destroy();
    pages.destroy();
  }
}

describe("committed traces", () => {
  for (const id of TRACE_IDS) {
    it(`${id} parses, and its ids are dense: as many as blocks live at the peak`, () => {
      const trace = loadTrace(id);
      const s = summarizeTrace(trace);
      expect(trace.events.count).toBeGreaterThan(1_000_000);
      expect(trace.header.program.length).toBeGreaterThan(0);
      expect(s.peakLiveBlocks).toBe(trace.events.idCount);
      expect(s.byKind.ALLOC + s.byKind.CALLOC + s.byKind.ALIGNED - s.byKind.FREE).toBe(s.liveAtEnd);
      expect(traceWorkload(id, true).ops.count).toBe(QUICK_TRACE_EVENTS);
    });

    it(`${id}: a replay against the generic allocator keeps every live block's bytes (check() at the end)`, () => {
      const { events } = loadTrace(id);
      const r = replayWithPatterns(events, 150_000);
      expect(r.checked).toBeGreaterThan(10_000);
    });
  }

  it("a synthetic trace with aligned requests replays with every block aligned and intact", () => {
    const { events } = readTrace(convertRaw(rawBytes(RECORDING), { name: "s", program: "t" }).bytes);
    // Left live: ids 0 (moved twice), 3, 4 (malloc(0)) and the two last allocations.
    expect(replayWithPatterns(events, events.count).live).toBe(5);
  });
});

describe("the bench on traces", () => {
  it("--only T1 runs the SQLite trace against the subjects that serve it and evaluates its target", async () => {
    const options = parseArgs(["--quick", "--only", "T1", "--subjects", "memkit-generic,memkit-slot,as-tlsf"])!;
    const printed: string[] = [];
    const report = await runBench(options, (t) => printed.push(t));
    expect(report.workloads.map((w) => w.id)).toEqual(["T1"]);
    const row = (s: string) => report.results.find((r) => r.subject === s);
    expect(row("memkit-generic")).toMatchObject({ workload: "T1", verifyErrors: 0, ops: QUICK_TRACE_EVENTS });
    expect(row("as-tlsf")).toMatchObject({ workload: "T1", verifyErrors: 0 });
    expect(row("memkit-slot")).toMatchObject({ skipped: expect.stringMatching(/^n\/a: blocks up to/) as unknown });
    expect(report.targets.find((t) => t.what.startsWith("T1:"))?.status).toMatch(/PASS|MISS/);
    expect(printed.join("\n")).toMatch(/^T1 {2}sqlite3/m);
  });
});
