import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { HeapAllocator } from "@memkit/heap-allocator";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BLOCK_HEADER, SIZE_MASK, W_LIVE, bitmapBias } from "../src/layout.js";

/**
 * A heap driven through the named operations that allocate() and
 * deallocate() write out in full: allocateChecked (take, carve, count) and
 * release (unlink, merge, link) with the free's two counters.
 */
class NamedPathHeap extends HeapAllocator {
  allocateNamed(size: number): number {
    return this.allocateChecked(size, 8);
  }

  deallocateNamed(ptr: number): void {
    const base = this.liveSpan(ptr, "deallocate");
    const h = this.i32[(ptr >> 2) - 1]!;
    this.i32[this.r + W_LIVE]! -= (h & SIZE_MASK) - BLOCK_HEADER;
    this.f64[this.fi + 1]! += 1;
    this.release(ptr, h, base, bitmapBias(base));
  }
}

function rig(): { space: AddressSpace; heap: NamedPathHeap } {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });
  return { space, heap: new NamedPathHeap(new PageAllocator(space, { pageSize: 4096 }), { spanBytes: 64 << 10 }) };
}

type Op = { free: false; size: number } | { free: true; pick: number };

const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 9000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 9000, max: 70_000 }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: size.map((n): Op => ({ free: false, size: n })) },
  { weight: 2, arbitrary: fc.nat().map((n): Op => ({ free: true, pick: n })) },
);

describe("allocate() and deallocate() written out in full", () => {
  it("place, split, merge and count exactly as the named operations do (same pointers, same memory)", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 400 }), (ops) => {
        const inline = rig();
        const named = rig();
        const live: number[] = [];
        for (const o of ops) {
          if (!o.free) {
            const p = inline.heap.allocate(o.size);
            expect(named.heap.allocateNamed(o.size)).toBe(p);
            live.push(p);
          } else if (live.length > 0) {
            const k = o.pick % live.length;
            const p = live[k]!;
            live[k] = live[live.length - 1]!;
            live.pop();
            inline.heap.deallocate(p);
            named.heap.deallocateNamed(p);
          }
        }
        expect(inline.heap.stats()).toEqual(named.heap.stats());
        inline.heap.check();
        named.heap.check();
        // Every header, footer, link, bitmap bit and counter: the two memories are byte for byte the same.
        expect(Buffer.compare(inline.space.u8, named.space.u8)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
