import { afterEach, describe, expect, it } from "vitest";
import { AddressSpace, DestroyedError, DoubleFreeError, InvalidPointerError, SeededRandom } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { SlotAllocator } from "@memkit/slot-allocator";
import { outcome } from "@memkit/test-workers";
import { runSlotPathsInJs } from "../src/hot-paths.js";

interface Side {
  space: AddressSpace;
  slots: SlotAllocator;
}

function side(js: boolean, shared = false): Side {
  runSlotPathsInJs(js);
  try {
    const space = AddressSpace.create({ initialBytes: 8 << 20, maximumBytes: 64 << 20, shared });
    return { space, slots: new SlotAllocator(new PageAllocator(space, { pageSize: 16384 }), { slabBytes: 16384, maxSlotSize: 2048 }) };
  } finally {
    runSlotPathsInJs(false);
  }
}

afterEach(() => runSlotPathsInJs(false));

describe("the wasm hot paths against the JS ones", () => {
  for (const shared of [false, true]) {
    it(`leave the same bytes in memory, op for op (${shared ? "shared" : "private"} memory), errors included`, () => {
      const wasm = side(false, shared);
      const js = side(true, shared);
      expect(wasm.slots.wasmPaths).toBe(true);
      expect(js.slots.wasmPaths).toBe(false);
      const rng = new SeededRandom(shared ? 0x5a7e : 0x1a2b);
      const live: number[] = [];
      const freed: number[] = [];
      for (let op = 1; op <= 60_000; op++) {
        const r = rng.next();
        let a: string;
        let b: string;
        if (live.length === 0 || r < 0.5) {
          const size = rng.chance(0.7) ? rng.logUniform(1, 256) : rng.int(0, 2048);
          const align = rng.chance(0.05) ? 2 ** rng.int(3, 8) : 8;
          a = outcome(() => wasm.slots.allocate(size, align));
          b = outcome(() => js.slots.allocate(size, align));
          live.push(Number(a));
        } else if (r < 0.93) {
          const [p] = live.splice(rng.int(0, live.length - 1), 1);
          a = outcome(() => wasm.slots.deallocate(p!));
          b = outcome(() => js.slots.deallocate(p!));
          freed.push(p!);
        } else if (r < 0.97) {
          // Moves between classes, stays within one, alignments above 8, and sizes no slot holds (refused, block kept).
          const p = live[rng.int(0, live.length - 1)]!;
          const size = rng.chance(0.03) ? 4096 : rng.int(1, 2048);
          const align = rng.chance(0.1) ? 2 ** rng.int(3, 7) : 8;
          a = outcome(() => wasm.slots.reallocate(p, size, align));
          b = outcome(() => js.slots.reallocate(p, size, align));
          if (/^\d+$/.test(a)) live[live.indexOf(p)] = Number(a);
        } else {
          // Refused frees and reallocations: a slot freed before (unless reused since), an interior pointer, a foreign one.
          const k = rng.int(0, 2);
          const p = k === 0 && freed.length > 0 ? freed[rng.int(0, freed.length - 1)]! : k === 1 && live.length > 0 ? live[0]! + 8 : 24;
          if (live.includes(p)) continue;
          const size = rng.int(1, 2048);
          const realloc = rng.chance(0.5);
          a = outcome(() => (realloc ? wasm.slots.reallocate(p, size) : wasm.slots.deallocate(p)));
          b = outcome(() => (realloc ? js.slots.reallocate(p, size) : js.slots.deallocate(p)));
        }
        expect(a, `op ${op}`).toBe(b);
        if (op % 5000 === 0) {
          expect(Buffer.from(wasm.space.u8).equals(Buffer.from(js.space.u8)), `memory differs after op ${op}`).toBe(true);
          wasm.slots.check();
        }
      }
      for (const p of live) wasm.slots.deallocate(p);
      for (const p of live) js.slots.deallocate(p);
      expect(Buffer.from(wasm.space.u8).equals(Buffer.from(js.space.u8))).toBe(true);
      expect(wasm.slots.stats()).toEqual(js.slots.stats());
    });
  }

  it("refuse a double free, an interior and a foreign pointer with the JS path's errors, changing nothing", () => {
    const { space, slots } = side(false);
    const a = slots.allocate(48);
    const b = slots.allocate(48);
    const c = slots.allocate(48);
    slots.deallocate(a); // parked
    slots.deallocate(b); // on its slab's free list
    const before = Buffer.from(space.u8);
    expect(() => slots.deallocate(a)).toThrow(DoubleFreeError);
    expect(() => slots.deallocate(b)).toThrow(DoubleFreeError);
    expect(() => slots.deallocate(c + 8)).toThrow(InvalidPointerError);
    expect(() => slots.deallocate(24)).toThrow(InvalidPointerError);
    expect(Buffer.from(space.u8).equals(before)).toBe(true);
    slots.deallocate(c);
    slots.check();
  });

  it("stop at the end of a handle: an ended handle throws, it never allocates through wasm", () => {
    const { space, slots } = side(false);
    const p = slots.allocate(32);
    slots.deallocate(p); // parked: the next allocation of its class would come from the control block alone
    const ptr = slots.controlPtr;
    const again = SlotAllocator.attach(space, ptr);
    slots.destroy();
    expect(slots.wasmPaths).toBe(false);
    expect(() => slots.allocate(32)).toThrow(DestroyedError);
    expect(() => again.allocate(32)).toThrow(DestroyedError);
  });
});
