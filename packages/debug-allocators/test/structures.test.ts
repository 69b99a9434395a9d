import fc from "fast-check";
import { CapturedStack } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { BlockTable, B_BASE, B_HELD, B_SIZE, growBlockTable } from "../src/block-table.js";
import { FreeHistory } from "../src/free-history.js";
import { hashDelete, hashFind, hashInsert } from "../src/ptr-hash.js";
import { Q_HELD, Q_PTR, Q_SIZE, QuarantineQueue, growQueue } from "../src/quarantine-queue.js";
import type { StateOwner } from "../src/state-lease.js";
import { W_HISTORY, historySlots, wrapperControlBytes } from "../src/wrapper-layout.js";
import { WrapperTexts, TEXT_NOT_HERE } from "../src/wrapper-texts.js";
import { makePages } from "./support/fixtures.js";

// Pointers as allocators return them: mostly aligned, a few odd, all below 2^31.
const pointer = fc.oneof(
  fc.integer({ min: 1, max: 4096 }).map((n) => n * 16),
  fc.integer({ min: 1, max: 2 ** 31 - 1 }),
);

/** A wrapper's control block (free history of `cap` entries) leased from a page allocator, as the growth functions see it. */
function owner(cap = 0): StateOwner & { space: ReturnType<typeof makePages>["space"] } {
  const pages = makePages(256);
  const ptr = pages.allocate(wrapperControlBytes(cap), 8);
  pages.space.u32.fill(0, ptr >>> 2, (ptr + wrapperControlBytes(cap)) >>> 2);
  return {
    backing: pages,
    name: "test",
    w: ptr >>> 2,
    space: pages.space,
    get u32() {
      return pages.space.u32;
    },
  };
}

describe("ptr-hash", () => {
  it("behaves as a Map under any sequence of insert/delete/find (property)", () => {
    const op = fc.tuple(fc.constantFrom("set", "delete", "get"), pointer, fc.integer({ min: 0, max: 2 ** 31 - 1 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const slots = 1024; // load stays under 1/2
        const u32 = new Uint32Array(8 + slots * 2);
        const model = new Map<number, number>();
        for (const [kind, ptr, value] of ops) {
          const e = hashFind(u32, 8, slots, 2, ptr);
          if (kind === "set") {
            const at = e >= 0 ? e : hashInsert(u32, 8, slots, 2, ptr);
            u32[at + 1] = value;
            model.set(ptr, value);
          } else if (kind === "delete") {
            expect(e >= 0).toBe(model.delete(ptr));
            if (e >= 0) hashDelete(u32, 8, slots, 2, e);
          }
          const found = hashFind(u32, 8, slots, 2, ptr);
          expect(found < 0 ? undefined : u32[found + 1]).toBe(model.get(ptr));
        }
        for (const [ptr, value] of model) expect(u32[hashFind(u32, 8, slots, 2, ptr) + 1]).toBe(value);
        expect(u32.subarray(0, 8).every((x) => x === 0)).toBe(true); // nothing written outside the table
      }),
      { numRuns: 200 },
    );
  });

  it("ends every probe within the table, even when no slot is empty (damaged memory)", () => {
    const u32 = new Uint32Array(64).fill(7);
    expect(hashFind(u32, 0, 32, 2, 16)).toBe(-1);
    expect(hashInsert(u32, 0, 32, 2, 16)).toBe(-1);
  });
});

describe("BlockTable", () => {
  it("adds, finds and removes in any order through growth (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(1000)), { maxLength: 300 }), (ops) => {
        const o = owner();
        const table = new BlockTable(o.w);
        const model = new Map<number, number>(); // ptr -> size
        let next = 16;
        for (const [add, pick] of ops) {
          table.u32 = o.u32;
          if (add || model.size === 0) {
            if (!table.hasRoom()) growBlockTable(o);
            table.u32 = o.u32;
            const ptr = (next += 32);
            table.add(ptr, ptr - 16, pick, pick + 32);
            model.set(ptr, pick);
          } else {
            const ptr = [...model.keys()][pick % model.size]!;
            table.remove(table.find(ptr));
            model.delete(ptr);
            expect(table.find(ptr)).toBe(-1);
          }
          expect(table.count).toBe(model.size);
        }
        for (const [ptr, size] of model) {
          const e = table.find(ptr);
          expect(table.u32[e + B_BASE]).toBe(ptr - 16);
          expect(table.u32[e + B_SIZE]).toBe(size);
          expect(table.u32[e + B_HELD]).toBe(size + 32);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("FreeHistory", () => {
  /** A captured call site whose one frame is `frame`. */
  const site = (frame: string): CapturedStack => new CapturedStack(Object.assign(new Error("call site"), { stack: `Error: call site\n    at ${frame} (game.ts:1:1)` }), 0);

  it("remembers the last `capacity` frees in memory, forgets reissued pointers; stacks are ids with texts in this thread", () => {
    const o = owner(3);
    const texts = new WrapperTexts();
    const history = new FreeHistory(o.w, 3, historySlots(3));
    history.u32 = o.u32;
    const id = (frame: string): number => texts.stackId(site(frame), o.u32, o.w);
    history.record(16, 1, id("a"));
    history.record(32, 2, 0);
    history.record(48, 3, id("c"));
    expect(texts.text(history.stackAt(history.find(16)))).toBe("a (game.ts:1:1)");
    expect(history.sizeAt(history.find(32))).toBe(2);
    expect(texts.text(history.stackAt(history.find(32)))).toBeUndefined();
    history.record(64, 4, id("d")); // evicts 16
    expect(history.find(16)).toBe(-1);
    history.forget(48);
    expect(history.find(48)).toBe(-1);
    history.record(32, 5, id("again")); // freed again: the newer entry wins, the older entry is orphaned
    history.record(80, 6, 0); // overwrites 32's older entry (already orphaned)
    expect(history.sizeAt(history.find(32))).toBe(5);
    expect(texts.text(history.stackAt(history.find(32)))).toBe("again (game.ts:1:1)");
    expect(history.damage()).toBeUndefined();
    // Another thread (or a restored save) has the ids but not the texts.
    expect(new WrapperTexts().text(history.stackAt(history.find(32)))).toBe(TEXT_NOT_HERE);
    // All of it lives in the control block.
    expect(history.ring).toBe(o.w + W_HISTORY);
    const none = new FreeHistory(o.w, 0, 0);
    none.u32 = o.u32;
    none.record(16, 1, 0);
    expect(none.find(16)).toBe(-1);
  });
});

describe("QuarantineQueue", () => {
  it("is a FIFO with O(1) lookup through growth and wrap-around (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 400 }), (ops) => {
        const o = owner();
        const d = o.w >>> 1;
        const q = new QuarantineQueue(o.w, d);
        const sync = (): void => {
          q.u32 = o.u32;
          q.f64 = o.space.f64;
        };
        const model: [number, number][] = [];
        let next = 0;
        for (const push of ops) {
          sync();
          if (push || model.length === 0) {
            if (!q.hasRoom()) growQueue(o);
            sync();
            next += 16;
            q.push(next, next % 100, next % 7);
            model.push([next, next % 7]);
          } else {
            expect(q.u32[q.entryAt(0) + Q_PTR]).toBe(model[0]![0]);
            q.shift();
            expect(q.find(model.shift()![0])).toBe(-1);
          }
          expect(q.count).toBe(model.length);
          expect(q.bytes).toBe(model.reduce((s, [, held]) => s + held, 0));
        }
        model.forEach(([ptr, held], i) => {
          const e = q.entryAt(i);
          expect(q.u32[e + Q_PTR]).toBe(ptr);
          expect(q.find(ptr)).toBe(e);
          expect(q.u32[e + Q_HELD]).toBe(held);
          expect(q.u32[e + Q_SIZE]).toBe(ptr % 100);
        });
      }),
      { numRuns: 100 },
    );
  });
});
