import { afterAll, describe, expect, it } from "vitest";
import { GcObserver } from "../src/gc-observer.js";
import { SubjectBench, compileRunner, median, runOps, runSubject } from "../src/runner.js";
import { SUBJECTS } from "../src/subjects/registry.js";
import type { SubjectEntry } from "../src/subjects/registry.js";
import { SubjectUnavailableError } from "../src/subjects/subject.js";
import type { Subject, SubjectFactory, SubjectSizing } from "../src/subjects/subject.js";
import { loadWorkload, outOfReach } from "../src/main.js";
import { QUICK_PARAMS, generateWorkload, liveProfile } from "../src/workloads.js";

type Loaded = { entry: SubjectEntry; factory: SubjectFactory } | { entry: SubjectEntry; reason: string };

// Load every registered subject once (the AS peer compiles its wasm here if needed).
const loaded: Loaded[] = [];
for (const entry of SUBJECTS) {
  try {
    loaded.push({ entry, factory: await entry.load() });
  } catch (error) {
    if (!(error instanceof SubjectUnavailableError)) throw error;
    loaded.push({ entry, reason: error.message });
  }
}

const gc = new GcObserver();
afterAll(() => gc.disconnect());

it("the peers and the baseline always load (no network, no prior build needed)", () => {
  for (const id of ["bare", "as-tlsf", "gc", "thing-malloc"]) {
    const l = loaded.find((x) => x.entry.id === id);
    expect(l && "factory" in l, `${id}: ${l && "reason" in l ? l.reason : "not registered"}`).toBe(true);
  }
});

for (const l of loaded) {
  const { entry } = l;
  if ("reason" in l) {
    describe.skip(`${entry.id} (${l.reason})`, () => {
      it("adapter", () => {});
    });
    continue;
  }
  const { factory } = l;
  const small = !entry.workloads.includes("C");
  const maxSize = small ? 512 : 65536;
  const aliases = factory.blocksAlias === true;

  describe(entry.id, () => {
    const sizing: SubjectSizing = { workload: small ? "B" : "C", maxLive: 64, peakLiveBytes: 64 * maxSize, maxSize };

    it.skipIf(aliases)("allocates disjoint, writable blocks and frees them", () => {
      // The measuring pass's subject: the one whose footprint() is read.
      const s = factory.createForMeasuring?.(sizing) ?? factory.create(sizing);
      try {
        const sizes = [1, 8, 24, 32, 100, 256, 512, small ? 300 : 4000, small ? 17 : 65536, 3];
        const handles = sizes.map((n) => s.alloc(n));
        handles.forEach((h, k) => s.write(h, sizes[k]!, 0xa0 + k));
        handles.forEach((h, k) => {
          expect(s.read(h, 0), `block ${k} first byte`).toBe(0xa0 + k);
          expect(s.read(h, sizes[k]! - 1), `block ${k} last byte`).toBe(0xa0 + k);
        });
        // Free every other block and reuse the room: the survivors keep their bytes.
        for (let k = 0; k < handles.length; k += 2) s.free(handles[k]!);
        const again = [40, 200, 8].map((n) => s.alloc(n));
        again.forEach((h, k) => s.write(h, [40, 200, 8][k]!, 0x11));
        for (let k = 1; k < handles.length; k += 2) {
          expect(s.read(handles[k]!, 0)).toBe(0xa0 + k);
          expect(s.read(handles[k]!, sizes[k]! - 1)).toBe(0xa0 + k);
        }
        if (entry.kind !== "baseline" && entry.id !== "gc") expect(s.footprint()).toBeGreaterThanOrEqual(sizes.reduce((a, b) => a + b, 0) / 2);
        for (let k = 1; k < handles.length; k += 2) s.free(handles[k]!);
        for (const h of again) s.free(h);
      } finally {
        s.destroy();
      }
    });

    it("zero() clears exactly the block's first `size` bytes", () => {
      const s = factory.create(sizing);
      try {
        const size = 100;
        const h = s.alloc(size + 8);
        // Every byte a 1, through write() (first and last byte of each prefix); then the first `size` zeroed.
        for (let n = size + 8; n >= 1; n--) s.write(h, n, 1);
        s.zero(h, size);
        for (let i = 0; i < size; i++) expect(s.read(h, i), `byte ${i}`).toBe(0);
        for (let i = size; i < size + 8; i++) expect(s.read(h, i), `byte ${i}`).toBe(1);
        s.free(h);
      } finally {
        s.destroy();
      }
    });

    it.skipIf(aliases)("realloc keeps the contents when growing and shrinking", () => {
      const s = factory.create(sizing);
      try {
        const grown = small ? 1000 : 20000;
        let h = s.alloc(24);
        s.write(h, 24, 0x5a);
        const other = s.alloc(24); // so the block cannot simply grow into the top
        s.write(other, 24, 0x33);
        h = s.realloc(h, grown);
        expect(s.read(h, 0)).toBe(0x5a);
        expect(s.read(h, 23)).toBe(0x5a);
        s.write(h, grown, 0x6b);
        expect(s.read(h, grown - 1)).toBe(0x6b);
        h = s.realloc(h, 10);
        expect(s.read(h, 0)).toBe(0x6b);
        expect(s.read(other, 0)).toBe(0x33);
        expect(s.read(other, 23)).toBe(0x33);
        s.free(h);
        s.free(other);
      } finally {
        s.destroy();
      }
    });

    for (const id of entry.workloads) {
      const w = loadWorkload(id, 42, true);
      // The slot allocator on a trace with blocks past 1 KiB: the bench skips it with a note, so does this.
      it.skipIf(outOfReach(entry, w, entry.opCap?.[id]) !== undefined)(`replays quick workload ${id} with every block's bytes intact`, async () => {
        const cap = entry.opCap?.[id] === undefined ? undefined : Math.min(entry.opCap[id], Math.ceil(w.ops.count / 2));
        const r = await runSubject(factory, w, cap, { warmup: { runs: 0, minOps: 0, maxMs: 0 }, runs: 1 }, gc);
        const ops = cap ?? w.ops.count;
        expect(r.ops).toBe(ops);
        expect(r.capped).toBe(ops < w.ops.count);
        expect(r.verifyErrors).toBe(0);
        expect(r.peakLiveBytes).toBe(liveProfile(w.ops, ops).peakLiveBytes);
        expect(r.runsNsPerOp).toHaveLength(1);
        expect(r.nsPerOp).toBeGreaterThan(0);
        if (entry.kind !== "baseline" && entry.id !== "gc") expect(r.peakFootprint).toBeGreaterThanOrEqual(r.peakLiveBytes);
      });
    }
  });
}

/** A broken allocator: every block overlaps the previous one. */
class OverlappingSubject implements Subject {
  private readonly u8 = new Uint8Array(1 << 20);
  private top = 8;
  alloc(size: number): number {
    const p = this.top;
    this.top += Math.max(1, size >> 1);
    return p;
  }
  allocAligned(size: number): number {
    return this.alloc(size);
  }
  zero(handle: number, size: number): void {
    this.u8.fill(0, handle, handle + size);
  }
  free(): void {}
  realloc(handle: number): number {
    return handle;
  }
  write(handle: number, size: number, value: number): void {
    this.u8[handle] = value;
    this.u8[handle + size - 1] = value;
  }
  read(handle: number, offset: number): number {
    return this.u8[handle + offset]!;
  }
  footprint(): number {
    return this.top;
  }
  destroy(): void {}
}

describe("runner", () => {
  it("the measuring pass catches blocks that overlap", async () => {
    const factory: SubjectFactory = { footprintNote: "test", create: () => new OverlappingSubject() };
    const r = await runSubject(factory, generateWorkload("B", 1, QUICK_PARAMS), 2000, { warmup: { runs: 0, minOps: 0, maxMs: 0 }, runs: 1 }, gc);
    expect(r.verifyErrors).toBeGreaterThan(0);
  });

  it("a compiled runner is a separate function that replays exactly like runOps", () => {
    const w = generateWorkload("E", 5, QUICK_PARAMS);
    const record = (): { log: number[]; subject: Subject } => {
      const log: number[] = [];
      let next = 16;
      const subject: Subject = {
        alloc: (n) => (log.push(1, n), (next += 16)),
        allocAligned: (n, a) => (log.push(4, n, a), (next += 16)),
        zero: (h, n) => void log.push(5, h, n),
        free: (h) => void log.push(0, h),
        realloc: (h, n) => (log.push(2, h, n), (next += 16)),
        write: (h, n, v) => void log.push(3, h, n, v),
        read: () => 0,
        footprint: () => 0,
        destroy: () => {},
      };
      return { log, subject };
    };
    const a = record();
    const b = record();
    const run = compileRunner();
    expect(run).not.toBe(runOps);
    runOps(a.subject, w.ops.slots, w.ops.sizes, w.ops.count, new Int32Array(w.ops.slotCount));
    run(b.subject, w.ops.slots, w.ops.sizes, w.ops.count, new Int32Array(w.ops.slotCount));
    expect(b.log).toEqual(a.log);
    expect(a.log.length).toBeGreaterThan(w.ops.count * 2);
  });

  it("warms up for at least the runs asked, then until enough ops were replayed", async () => {
    let created = 0;
    const factory: SubjectFactory = {
      footprintNote: "test",
      freshEachRun: true,
      create: () => (created++, new OverlappingSubject()),
    };
    const w = generateWorkload("E", 1, QUICK_PARAMS); // 700 ops a run
    const bench = new SubjectBench(factory, w, undefined, gc);
    expect(await bench.warmUp({ runs: 0, minOps: 10_000, maxMs: 10_000 })).toBe(0);
    expect(await bench.warmUp({ runs: 2, minOps: 0, maxMs: 10_000 })).toBe(2);
    expect(await bench.warmUp({ runs: 1, minOps: 2_000, maxMs: 10_000 })).toBe(3);
    expect(created).toBe(5); // fresh subject per run for freshEachRun factories
  });

  it("median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
