import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { AllocatorError, CorruptionError, InvalidArgumentError } from "@memkit/core";
import { DynamicArray } from "@memkit/containers";
import { TraceAllocator } from "@memkit/trace-allocator";
import { AllocLogKind, MemoryGlobals, decodeAllocLog, encodeAllocLog } from "@memkit/memory-globals";

afterEach(() => {
  try {
    MemoryGlobals.current?.shutdown();
  } catch {
    // a test's leftover blocks
  }
});

interface Expected {
  kind: number;
  scope: string;
  size: number;
  align: number;
  frame: number;
}

const own = (name: string): boolean => Object.prototype.hasOwnProperty.call(TraceAllocator.prototype, name);

describe("the allocation log", () => {
  it("records every allocate, free and reallocate with scope, size, alignment and frame (random programs against a model)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(4), fc.nat(2), fc.integer({ min: 0, max: 3000 }), fc.constantFrom(1, 8, 16, 64)), { maxLength: 120 }),
        (steps) => {
          const memory = MemoryGlobals.init({ initialBytes: 4 << 20, record: true });
          const scopes = [memory.default, memory.scope("physics"), memory.scope("audio")];
          const live: { scope: number; ptr: number; id: number }[] = [];
          const expected: Expected[] = [];
          const ids: number[] = [];
          let nextId = 0;
          const freeIds: number[] = [];
          for (const [op, s, size, align] of steps) {
            const scope = scopes[s]!;
            const frame = memory.frameNumber;
            if (op <= 1) {
              const ptr = scope.allocate(size, align);
              const id = freeIds.length > 0 ? freeIds.pop()! : nextId++;
              live.push({ scope: s, ptr, id });
              expected.push({ kind: AllocLogKind.ALLOC, scope: scope.path, size, align, frame });
              ids.push(id);
            } else if (op === 2 && live.length > 0) {
              const b = live.splice(size % live.length, 1)[0]!;
              scopes[b.scope]!.deallocate(b.ptr);
              freeIds.push(b.id);
              expected.push({ kind: AllocLogKind.FREE, scope: scopes[b.scope]!.path, size: 0, align: 1, frame });
              ids.push(b.id);
            } else if (op === 3 && live.length > 0) {
              const b = live[size % live.length]!;
              b.ptr = scopes[b.scope]!.reallocate(b.ptr, size + 1, 8);
              expected.push({ kind: AllocLogKind.REALLOC, scope: scopes[b.scope]!.path, size: size + 1, align: 8, frame });
              ids.push(b.id);
            } else memory.beginFrame();
          }
          const log = decodeAllocLog(memory.stopRecording("model"));
          expect(log.header.label).toBe("model");
          expect(log.count).toBe(expected.length);
          for (let i = 0; i < log.count; i++) {
            const e = expected[i]!;
            expect({ kind: log.kinds[i], scope: log.header.scopes[log.scopes[i]!], size: log.sizes[i], align: 2 ** log.alignLog2[i]!, frame: log.frames[i] }).toEqual({ ...e, align: e.kind === AllocLogKind.FREE ? 1 : e.align });
            expect(log.ids[i]).toBe(ids[i]);
          }
          expect(own("allocate") || own("deallocate") || own("reallocate")).toBe(false);
          for (const b of live) scopes[b.scope]!.deallocate(b.ptr);
          memory.shutdown();
        },
      ),
      { numRuns: 40 },
    );
  });

  it("records containers and child scopes, logs reallocate(0, n) once, leaves out what was live before it began, and costs nothing once stopped", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20 });
    const level = memory.scope("level");
    const before = level.allocate(100);
    expect(own("allocate")).toBe(false);
    memory.startRecording();
    expect(own("allocate")).toBe(true);
    expect(() => memory.startRecording()).toThrow(AllocatorError);
    const streaming = level.child("streaming");
    const ids = new DynamicArray(streaming, "u32", { name: "ids" });
    for (let i = 0; i < 100; i++) ids.push(i);
    const p = level.reallocate(0, 40);
    level.deallocate(before);
    memory.beginFrame();
    level.deallocate(p);
    const log = decodeAllocLog(memory.stopRecording());
    expect(own("allocate") || own("deallocate") || own("reallocate")).toBe(false);
    const paths = Array.from(log.scopes, (s) => log.header.scopes[s]);
    expect(paths.filter((x) => x === "root/level/streaming").length).toBeGreaterThan(2); // the array's block and its growths
    expect(Array.from(log.kinds).filter((k) => k === AllocLogKind.REALLOC).length + 1).toBe(paths.filter((x) => x === "root/level/streaming").length);
    expect(log.header.untrackedBlocks).toBe(1);
    expect(Array.from(log.kinds.slice(-2))).toEqual([AllocLogKind.ALLOC, AllocLogKind.FREE]);
    expect(Array.from(log.frames.slice(-2))).toEqual([0, 1]);
    expect(() => memory.stopRecording()).toThrow(InvalidArgumentError);
    ids.dispose();
    streaming.dispose();
  });

  it("init({ record: true }) starts it, shutdown ends it, and a bad option is refused", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20, record: true });
    expect(own("allocate")).toBe(true);
    memory.default.allocate(7);
    expect(() => memory.shutdown()).toThrow(/leaked/);
    expect(own("allocate")).toBe(false);
    const log = decodeAllocLog(memory.stopRecording("after shutdown"));
    expect(log.count).toBe(1);
    expect(log.sizes[0]).toBe(7);
    expect(() => MemoryGlobals.init({ record: "yes" as never })).toThrow(/option record must be true or false/);
  });

  it("decoding refuses what is not a whole log, naming the byte", () => {
    const memory = MemoryGlobals.init({ initialBytes: 4 << 20, record: true });
    const a = memory.default.allocate(10);
    memory.default.deallocate(a);
    const bytes = memory.stopRecording();
    const log = decodeAllocLog(bytes);
    expect(encodeAllocLog(log)).toEqual(bytes);
    expect(() => decodeAllocLog(new TextEncoder().encode("MKTR\x01"))).toThrow(/not an allocation log/);
    const version = bytes.slice();
    version[4] = 9;
    expect(() => decodeAllocLog(version)).toThrow(/format version 9; this memkit reads version 1/);
    for (let cut = 5; cut < bytes.byteLength; cut++) expect(() => decodeAllocLog(bytes.subarray(0, cut))).toThrow(CorruptionError);
    expect(() => decodeAllocLog(Uint8Array.of(...bytes, 0))).toThrow(/bytes after the last event/);
  });
});
