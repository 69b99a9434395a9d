import { describe, expect, it } from "vitest";
import { AddressSpace } from "@memkit/core";
import type { Allocator, AllocatorStats, Ptr } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { DynamicArray, ELEMENT_KINDS, HandlePool, HashMap, HashSet, StructArray, StructOfArrays, defineStruct, type ElementKind } from "../src/index.js";

// Where a container promises zeros (new elements, new records, an empty
// table), it must write them itself: a reused block holds its last owner's
// bytes. Every allocator here hands out memory full of 0xAB.

const DIRTY = 0xab;

/** Wraps an allocator so every byte it hands out (new blocks, the grown tail of a reallocated one) starts as 0xAB. */
class DirtyAllocator implements Allocator {
  readonly name = "dirty";
  constructor(private readonly inner: Allocator) {}
  get space(): AddressSpace {
    return this.inner.space;
  }
  allocate(size: number, align?: number): Ptr {
    const ptr = this.inner.allocate(size, align);
    this.space.u8.fill(DIRTY, ptr, ptr + this.inner.allocatedSize(ptr));
    return ptr;
  }
  reallocate(ptr: Ptr, newSize: number, align?: number): Ptr {
    const old = ptr === 0 ? 0 : this.inner.allocatedSize(ptr);
    const moved = this.inner.reallocate(ptr, newSize, align);
    this.space.u8.fill(DIRTY, moved + Math.min(old, newSize), moved + this.inner.allocatedSize(moved));
    return moved;
  }
  deallocate(ptr: Ptr): void {
    this.inner.deallocate(ptr);
  }
  allocatedSize(ptr: Ptr): number {
    return this.inner.allocatedSize(ptr);
  }
  owns(ptr: Ptr): boolean {
    return this.inner.owns(ptr);
  }
  stats(): AllocatorStats {
    return this.inner.stats();
  }
}

/** A page allocator whose whole space was allocated, filled with 0xAB and freed again, as a program that ran a while leaves it. */
function predirtiedPages(): PageAllocator {
  const space = AddressSpace.create({ initialBytes: 1 << 20, maximumBytes: 1 << 20 });
  const pages = new PageAllocator(space, { pageSize: 256 });
  const blocks: Ptr[] = [];
  for (;;) {
    let ptr: Ptr;
    try {
      ptr = pages.allocate(256);
    } catch {
      break;
    }
    space.u8.fill(DIRTY, ptr, ptr + 256);
    blocks.push(ptr);
  }
  for (const ptr of blocks) pages.deallocate(ptr);
  return pages;
}

const ALLOCATORS: [string, () => Allocator][] = [
  ["pre-dirtied page allocator", predirtiedPages],
  ["allocator handing out 0xAB bytes", () => new DirtyAllocator(new PageAllocator(AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 }), { pageSize: 256 }))],
];

const KINDS = Object.keys(ELEMENT_KINDS) as ElementKind[];
const Body = defineStruct({ x: "f32", hp: "u16", flags: "u8", mass: "f64", id: "u64" }); // padding after flags

function expectZeros(bytes: Uint8Array, what: string): void {
  const at = bytes.findIndex((b) => b !== 0);
  expect(at, `${what}: byte ${at} is ${bytes[at]}`).toBe(-1);
}

describe.each(ALLOCATORS)("containers read zeros, never old bytes, over a %s", (_name, make) => {
  it("DynamicArray: resize() fills new elements with zero, for every kind and every way of growing", () => {
    const a = make();
    for (const kind of KINDS) {
      const zero = ELEMENT_KINDS[kind].zero;
      const arr = new DynamicArray(a, kind) as unknown as DynamicArray<"f64">;
      arr.resize(5); // first block
      arr.push((ELEMENT_KINDS[kind].bigint ? 9n : 9) as number);
      arr.resize(300); // grows through reallocate
      arr.resize(2);
      arr.resize(40); // within capacity: the old values must not come back
      arr.reserve(1000);
      arr.resize(900);
      for (let i = 0; i < arr.length; i++) if (arr.get(i) !== zero) expect.fail(`${kind}: element ${i} is ${String(arr.get(i))}`);
      expectZeros(new Uint8Array(arr.view().buffer, arr.ptr, arr.length * arr.elementSize), `${kind} view`);
      arr.dispose();
    }
  });

  it("StructArray and StructOfArrays: push, insert and resize give all-zero records, padding included", () => {
    const a = make();
    for (const soa of [false, true]) {
      const c = soa ? new StructOfArrays(a, Body) : new StructArray(a, Body);
      for (let i = 0; i < 50; i++) c.set(c.push(), "hp", 7); // grows several times
      c.resize(3);
      c.resize(60); // reuses records 3..49: they must read zero again
      c.insert(1);
      for (let i = 0; i < 20; i++) c.push();
      const records = c.toArray();
      for (let i = 0; i < records.length; i++) {
        const hp = i === 0 || i === 2 || i === 3 ? 7 : 0; // records 0..2 kept hp 7 and the zero record inserted at 1 moved them up
        expect(records[i], `${soa ? "SoA" : "AoS"} record ${i}`).toEqual({ x: 0, hp, flags: 0, mass: 0, id: 0n });
      }
      if (c instanceof StructArray) {
        c.resize(0);
        c.resize(64);
        expectZeros(c.view(), "AoS bytes");
      } else {
        c.resize(0);
        c.resize(64);
        for (const name of Body.fieldNames as ("x" | "hp" | "flags" | "mass" | "id")[]) {
          const col = c.column(name);
          expectZeros(new Uint8Array(col.buffer, col.byteOffset, col.byteLength), `column ${name}`);
        }
      }
      c.dispose();
    }
  });

  it("HashMap and HashSet: a new, grown or cleared table is empty", () => {
    const a = make();
    for (const key of ["u32", "i32", "f64"] as const) {
      const map = new HashMap(a, { key, value: "u32", capacity: 100 });
      const set = new HashSet(a, { key });
      for (const t of [map, set]) {
        expect(t.size).toBe(0);
        expect(t.next(-1)).toBe(-1); // no occupied slot, the key-0 entry included
        t.check();
      }
      expect(map.has(0)).toBe(false);
      expect(map.get(0xabababab & 0x7fffffff, 1)).toBe(1);
      for (let k = 1; k <= 500; k++) map.set(k, k); // grows: each new table must start empty
      for (let k = 1; k <= 500; k++) set.add(k);
      expect(map.size).toBe(500);
      expect(set.size).toBe(500);
      map.check();
      set.check();
      map.clear();
      set.clear();
      expect(map.toArray()).toEqual([]);
      expect(set.toArray()).toEqual([]);
      map.set(0, 5);
      expect(map.get(0, 1)).toBe(5);
      map.dispose();
      set.dispose();
    }
  });

  it("HandlePool: create() gives an all-zero record, fresh or reused, and handleAt sees no stale slots", () => {
    const a = make();
    const pool = new HandlePool(a, Body, { capacity: 4 });
    for (let round = 0; round < 2; round++) {
      const handles: number[] = [];
      for (let i = 0; i < 40; i++) handles.push(pool.create()); // grows; round 1 reuses every slot
      for (const h of handles) {
        const ptr = pool.recordPtr(h);
        expectZeros(a.space.u8.subarray(ptr, ptr + pool.stride), `round ${round} record of ${h}`);
        pool.set(h, "mass", 1.5);
        pool.set(h, "id", 99n);
      }
      for (let i = 40; i < pool.capacity; i++) expect(pool.handleAt(i)).toBe(0);
      for (const h of handles) pool.destroy(h);
    }
    pool.dispose();
  });
});
