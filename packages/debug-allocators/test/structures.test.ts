import fc from "fast-check";
import { CapturedStack } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { BlockRegistry } from "../src/block-registry.js";
import { FreeHistory } from "../src/free-history.js";
import { PtrTable } from "../src/ptr-table.js";
import { QuarantineQueue } from "../src/quarantine-queue.js";

// Pointers as allocators return them: mostly aligned, a few odd, all below 2^31.
const pointer = fc.oneof(
  fc.integer({ min: 1, max: 4096 }).map((n) => n * 16),
  fc.integer({ min: 1, max: 2 ** 31 - 1 }),
);

describe("PtrTable", () => {
  it("behaves as a Map under any sequence of set/delete/get (property)", () => {
    const op = fc.tuple(fc.constantFrom("set", "delete", "get"), pointer, fc.integer({ min: 0, max: 2 ** 31 - 1 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const table = new PtrTable();
        const model = new Map<number, number>();
        for (const [kind, ptr, value] of ops) {
          if (kind === "set") {
            table.set(ptr, value);
            model.set(ptr, value);
          } else if (kind === "delete") {
            expect(table.delete(ptr)).toBe(model.delete(ptr));
          }
          expect(table.get(ptr)).toBe(model.get(ptr) ?? -1);
          expect(table.size).toBe(model.size);
        }
        for (const [ptr, value] of model) expect(table.get(ptr)).toBe(value);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps every key findable through growth and backward-shift deletes on colliding keys", () => {
    const table = new PtrTable();
    // Multiples of 1024 share their low 10 bits: the worst case for a table that hashed on the low bits.
    const keys = Array.from({ length: 2000 }, (_, i) => (i + 1) * 1024);
    keys.forEach((k, i) => table.set(k, i));
    for (let i = 0; i < keys.length; i += 2) expect(table.delete(keys[i]!)).toBe(true);
    keys.forEach((k, i) => expect(table.get(k)).toBe(i % 2 === 0 ? -1 : i));
    expect(table.get(2 ** 32 - 8)).toBe(-1); // a shape-valid pointer above 2^31 is simply absent
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(keys[1]!)).toBe(-1);
  });
});

describe("BlockRegistry", () => {
  it("adds, finds and removes in any order, keeping the columns dense (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(1000)), { maxLength: 300 }), (ops) => {
        const reg = new BlockRegistry();
        const model = new Map<number, number>(); // ptr -> size
        let next = 16;
        for (const [add, pick] of ops) {
          if (add || model.size === 0) {
            const ptr = (next += 32);
            reg.add(ptr, ptr - 16, pick, pick + 1, pick + 32);
            model.set(ptr, pick);
          } else {
            const ptr = [...model.keys()][pick % model.size]!;
            reg.remove(reg.indexOf(ptr));
            model.delete(ptr);
            expect(reg.indexOf(ptr)).toBe(-1);
          }
          expect(reg.count).toBe(model.size);
        }
        const seen = new Set<number>();
        for (let i = 0; i < reg.count; i++) {
          const ptr = reg.ptr[i]!;
          seen.add(ptr);
          expect(reg.indexOf(ptr)).toBe(i);
          expect(reg.base[i]).toBe(ptr - 16);
          expect(reg.size[i]).toBe(model.get(ptr));
          expect(reg.usable[i]).toBe(model.get(ptr)! + 1);
          expect(reg.held[i]).toBe(model.get(ptr)! + 32);
        }
        expect(seen).toEqual(new Set(model.keys()));
      }),
      { numRuns: 200 },
    );
  });
});

describe("FreeHistory", () => {
  /** A captured call site whose one frame is `frame`. */
  const site = (frame: string): CapturedStack => new CapturedStack(Object.assign(new Error("call site"), { stack: `Error: call site\n    at ${frame} (game.ts:1:1)` }), 0);

  it("remembers the last `capacity` frees, forgets reissued pointers", () => {
    const history = new FreeHistory(3);
    history.record(16, 1, site("a"));
    history.record(32, 2, undefined);
    history.record(48, 3, site("c"));
    expect(history.stackAt(history.find(16))).toBe("a (game.ts:1:1)");
    expect(history.sizeAt(history.find(32))).toBe(2);
    expect(history.stackAt(history.find(32))).toBeUndefined();
    history.record(64, 4, site("d")); // evicts 16
    expect(history.find(16)).toBe(-1);
    history.forget(48);
    expect(history.find(48)).toBe(-1);
    history.record(32, 5, site("again")); // freed again: the newer entry wins, the older slot is orphaned
    history.record(80, 6, undefined); // overwrites 32's older slot (already orphaned)
    expect(history.sizeAt(history.find(32))).toBe(5);
    expect(history.stackAt(history.find(32))).toBe("again (game.ts:1:1)");
    const none = new FreeHistory(0);
    none.record(16, 1, site("x"));
    expect(none.find(16)).toBe(-1);
  });
});

describe("QuarantineQueue", () => {
  it("is a FIFO with O(1) lookup through growth and wrap-around (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 500 }), (ops) => {
        const q = new QuarantineQueue();
        const model: [number, number][] = [];
        let next = 0;
        for (const push of ops) {
          if (push || model.length === 0) {
            next += 16;
            q.push(next, next % 100, next % 7, next % 3 === 0 ? { scope: `s${next}`, size: next % 100 } : undefined);
            model.push([next, next % 7]);
          } else {
            const slot = q.slotAt(0);
            expect(q.ptrAt(slot)).toBe(model[0]![0]);
            expect(q.originAt(slot)?.scope).toBe(model[0]![0] % 3 === 0 ? `s${model[0]![0]}` : undefined);
            q.shift();
            expect(q.find(model.shift()![0])).toBe(-1);
          }
          expect(q.count).toBe(model.length);
          expect(q.bytes).toBe(model.reduce((s, [, held]) => s + held, 0));
        }
        model.forEach(([ptr, held], i) => {
          const slot = q.slotAt(i);
          expect(q.ptrAt(slot)).toBe(ptr);
          expect(q.find(ptr)).toBe(slot);
          expect(q.heldAt(slot)).toBe(held);
          expect(q.sizeAt(slot)).toBe(ptr % 100);
        });
      }),
      { numRuns: 200 },
    );
  });
});
