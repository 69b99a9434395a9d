import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SeededRandom, type AllocatorErrorCode } from "@memkit/core";
import { TraceAllocator, type ScopeReport, type TracingLevel } from "../src/index.js";
import { makePages } from "./helpers.js";

/** The JS model of one scope: what the report must say. */
interface ModelScope {
  scope: TraceAllocator;
  parent: ModelScope | undefined;
  children: ModelScope[];
  live: Map<number, { size: number; retained: boolean; at: number }>;
  /** Sum of live sizes, kept as blocks come and go. */
  bytes: number;
  /** Sum of live sizes in the subtree. */
  totalBytes: number;
  /** The live pointers in an array, so a random pick is O(1). */
  ptrs: number[];
  peak: number;
  totalPeak: number;
  allocCount: number;
  freeCount: number;
  reallocCount: number;
  allocatedBytes: number;
  budget: number | undefined;
}

type Op =
  | { kind: "child"; at: number; tracing: TracingLevel }
  | { kind: "alloc"; at: number; size: number; align: number }
  | { kind: "free"; at: number; pick: number }
  | { kind: "wrongFree"; at: number; pick: number; via: number }
  | { kind: "realloc"; at: number; pick: number; size: number }
  | { kind: "doubleFree"; at: number }
  | { kind: "retain"; at: number; pick: number }
  | { kind: "dispose"; at: number }
  | { kind: "resetPeak"; at: number }
  | { kind: "budget"; at: number; bytes: number | undefined };

const index = fc.nat(1000);
const size = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 5000 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("child" as const), at: index, tracing: fc.constantFrom<TracingLevel>("counts", "callstacks") }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("alloc" as const), at: index, size, align: fc.constantFrom(1, 8, 64, 512) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("free" as const), at: index, pick: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wrongFree" as const), at: index, pick: index, via: index }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("realloc" as const), at: index, pick: index, size }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("doubleFree" as const), at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retain" as const), at: index, pick: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("dispose" as const), at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("resetPeak" as const), at: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("budget" as const), at: index, bytes: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }) }) },
);

class Model {
  readonly root: ModelScope;
  readonly all: ModelScope[] = [];
  readonly freed: number[] = [];
  private names = 0;

  constructor(readonly tree: TraceAllocator) {
    this.root = this.add(tree, undefined);
  }

  private add(scope: TraceAllocator, parent: ModelScope | undefined): ModelScope {
    const m: ModelScope = { scope, parent, children: [], live: new Map(), bytes: 0, totalBytes: 0, ptrs: [], peak: 0, totalPeak: 0, allocCount: 0, freeCount: 0, reallocCount: 0, allocatedBytes: 0, budget: undefined };
    parent?.children.push(m);
    this.all.push(m);
    return m;
  }

  own(m: ModelScope): number {
    return m.bytes;
  }

  total(m: ModelScope): number {
    return m.totalBytes;
  }

  private addTotal(m: ModelScope, delta: number): void {
    for (let a: ModelScope | undefined = m; a !== undefined; a = a.parent) a.totalBytes += delta;
  }

  /** After any change: peaks follow the new totals up the chain. */
  private touch(m: ModelScope): void {
    m.peak = Math.max(m.peak, this.own(m));
    for (let a: ModelScope | undefined = m; a !== undefined; a = a.parent) a.totalPeak = Math.max(a.totalPeak, this.total(a));
  }

  private overBudget(m: ModelScope, grow: number): boolean {
    for (let a: ModelScope | undefined = m; a !== undefined; a = a.parent) if (a.budget !== undefined && this.total(a) + grow > a.budget) return true;
    return false;
  }

  private expectError(codes: AllocatorErrorCode[], fn: () => unknown): void {
    let code: unknown;
    try {
      fn();
    } catch (err) {
      code = (err as { code?: unknown }).code;
    }
    if (!codes.includes(code as AllocatorErrorCode)) throw new Error(`expected ${codes.join("/")}, got ${String(code)}`);
  }

  private pickBlock(m: ModelScope, pick: number): number | undefined {
    return m.ptrs.length === 0 ? undefined : m.ptrs[pick % m.ptrs.length];
  }

  private addBlock(m: ModelScope, ptr: number, size: number, retained: boolean): void {
    m.live.set(ptr, { size, retained, at: m.ptrs.length });
    m.ptrs.push(ptr);
    m.bytes += size;
    this.addTotal(m, size);
  }

  private removeBlock(m: ModelScope, ptr: number): { size: number; retained: boolean; at: number } {
    const block = m.live.get(ptr)!;
    m.live.delete(ptr);
    const last = m.ptrs.pop()!;
    if (last !== ptr) {
      m.ptrs[block.at] = last;
      m.live.get(last)!.at = block.at;
    }
    m.bytes -= block.size;
    this.addTotal(m, -block.size);
    return block;
  }

  apply(op: Op): void {
    const m = this.all[op.at % this.all.length]!;
    const s = m.scope;
    switch (op.kind) {
      case "child": {
        this.add(s.child(`c${this.names++}`, { tracing: op.tracing }), m);
        return;
      }
      case "alloc": {
        if (this.overBudget(m, op.size)) return this.expectError(["ERR_OUT_OF_MEMORY"], () => s.allocate(op.size, op.align));
        const ptr = s.allocate(op.size, op.align);
        if (ptr % op.align !== 0) throw new Error(`misaligned ${ptr}`);
        this.addBlock(m, ptr, op.size, false);
        m.allocCount++;
        m.allocatedBytes += op.size;
        this.touch(m);
        return;
      }
      case "free": {
        const ptr = this.pickBlock(m, op.pick);
        if (ptr === undefined) return;
        s.deallocate(ptr);
        this.removeBlock(m, ptr);
        m.freeCount++;
        this.freed.push(ptr);
        return;
      }
      case "wrongFree": {
        const ptr = this.pickBlock(m, op.pick);
        const via = this.all[op.via % this.all.length]!;
        if (ptr === undefined || via === m) return;
        return this.expectError(["ERR_INVALID_POINTER"], () => via.scope.deallocate(ptr));
      }
      case "realloc": {
        const ptr = this.pickBlock(m, op.pick);
        if (ptr === undefined) return;
        const block = m.live.get(ptr)!;
        if (op.size > block.size && this.overBudget(m, op.size - block.size)) return this.expectError(["ERR_OUT_OF_MEMORY"], () => s.reallocate(ptr, op.size));
        const moved = s.reallocate(ptr, op.size);
        this.removeBlock(m, ptr);
        this.addBlock(m, moved, op.size, block.retained);
        m.reallocCount++;
        m.allocatedBytes += op.size;
        this.touch(m);
        return;
      }
      case "doubleFree": {
        const ptr = this.freed.at(-1);
        if (ptr === undefined || this.all.some((x) => x.live.has(ptr))) return;
        return this.expectError(["ERR_DOUBLE_FREE"], () => s.deallocate(ptr));
      }
      case "retain": {
        const ptr = this.pickBlock(m, op.pick);
        if (ptr === undefined) return;
        s.retain(ptr);
        m.live.get(ptr)!.retained = true;
        return;
      }
      case "dispose": {
        if (m.parent === undefined) return; // the root lives for the whole run
        const leaks = (x: ModelScope): boolean => x.children.length > 0 || [...x.live.values()].some((b) => !b.retained);
        if (leaks(m)) return this.expectError(["ERR_LEAK"], () => s.dispose());
        s.dispose();
        const heir = m.parent;
        heir.children.splice(heir.children.indexOf(m), 1);
        this.addTotal(heir, -m.totalBytes);
        for (const [ptr, b] of m.live) this.addBlock(heir, ptr, b.size, true);
        this.all.splice(this.all.indexOf(m), 1);
        this.touch(heir);
        return;
      }
      case "resetPeak": {
        s.resetPeak();
        const reset = (x: ModelScope): void => {
          x.peak = this.own(x);
          x.totalPeak = this.total(x);
          x.children.forEach(reset);
        };
        reset(m);
        return;
      }
      case "budget": {
        s.setBudget(op.bytes);
        m.budget = op.bytes;
        return;
      }
    }
  }

  /** The tree's report and check() agree with the model. */
  verify(): void {
    if (this.tree.disposed) return;
    this.tree.check();
    const byPath = new Map<string, ScopeReport>();
    const walk = (r: ScopeReport): void => {
      byPath.set(r.path, r);
      r.children.forEach(walk);
    };
    walk(this.tree.report());
    if (byPath.size !== this.all.length) throw new Error(`report has ${byPath.size} scopes, model ${this.all.length}`);
    for (const m of this.all) {
      const r = byPath.get(m.scope.path)!;
      const retained = [...m.live.values()].filter((b) => b.retained);
      const want = {
        liveBytes: [...m.live.values()].reduce((sum, b) => sum + b.size, 0),
        liveCount: m.live.size,
        peakLiveBytes: m.peak,
        allocCount: m.allocCount,
        freeCount: m.freeCount,
        reallocCount: m.reallocCount,
        allocatedBytes: m.allocatedBytes,
        retainedBytes: retained.reduce((s, b) => s + b.size, 0),
        retainedCount: retained.length,
        totalLiveBytes: m.ptrs.reduce((sum, p) => sum + m.live.get(p)!.size, 0) + m.children.reduce((sum, c) => sum + c.totalBytes, 0),
        totalPeakLiveBytes: m.totalPeak,
        childNames: m.children.map((c) => c.scope.name),
      };
      const got: Record<string, unknown> = { childNames: r.children.map((c) => c.name) };
      for (const k of Object.keys(want) as (keyof typeof want)[]) if (k !== "childNames") got[k] = r[k];
      expect(got, m.scope.path).toEqual(want);
      for (const ptr of m.live.keys()) if (this.tree.scopeOf(ptr) !== m.scope) throw new Error(`scopeOf(${ptr}) is not ${m.scope.path}`);
    }
  }
}

describe("model-based: random operations over a scope tree match a JS model of every counter", () => {
  it("fast-check sequences (report() and check() after every step)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const model = new Model(new TraceAllocator(makePages(16 << 20), { initialCapacity: 16 }));
        for (const op of ops) {
          model.apply(op);
          model.verify();
        }
      }),
      { numRuns: 150 },
    );
  });

  it("the same with guarded headers (guardHeaders: true): check() verifies every header byte after every step", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const model = new Model(new TraceAllocator(makePages(16 << 20), { initialCapacity: 16, guardHeaders: true }));
        for (const op of ops) {
          model.apply(op);
          model.verify();
        }
      }),
      { numRuns: 100 },
    );
  });

  it("a long seeded sequence (100k operations, verified every 2,500)", () => {
    const rng = new SeededRandom(0x7ace);
    const model = new Model(new TraceAllocator(makePages(256 << 20), { tracing: "callstacks", sampleEvery: 5 }));
    const sample = (): Op => {
      const at = rng.int(0, 1000);
      const pick = rng.int(0, 1000);
      const r = rng.next();
      if (r < 0.005) return { kind: "child", at, tracing: rng.chance(0.5) ? "counts" : "callstacks" };
      if (r < 0.01) return { kind: "dispose", at };
      if (r < 0.012) return { kind: "resetPeak", at };
      // Budgets that bind now and then: a refused allocation builds an error, which is slow under a test runner.
      if (r < 0.014) return { kind: "budget", at, bytes: rng.chance(0.6) ? undefined : rng.int(100_000, 4_000_000) };
      if (r < 0.016) return { kind: "retain", at, pick };
      if (r < 0.02) return { kind: "wrongFree", at, pick, via: rng.int(0, 1000) };
      if (r < 0.025) return { kind: "doubleFree", at };
      if (r < 0.5) return { kind: "alloc", at, size: rng.logUniform(1, 4096), align: 2 ** rng.int(0, 6) };
      if (r < 0.85) return { kind: "free", at, pick };
      return { kind: "realloc", at, pick, size: rng.logUniform(1, 4096) };
    };
    for (let i = 1; i <= 100_000; i++) {
      model.apply(sample());
      if (i % 2500 === 0) model.verify();
    }
    model.verify();
    expect(model.all.length).toBeGreaterThan(1);
  });
});
