// Every container kind as a subject for the persist/restore tests: create it,
// apply random operations to it and to a plain JS model side by side, compare
// the two, restore a handle from a descriptor.
import type { Allocator, Ptr } from "@memkit/core";
import {
  DynamicArray,
  HandlePool,
  HashMap,
  HashSet,
  StructArray,
  StructOfArrays,
  defineStruct,
  type ElementKind,
  type KeyKind,
} from "../../src/index.js";
import { expectSameSequence, stored } from "./allocators.js";

/** One random operation: the subject reads `code` as which operation, `x` and `y` as its arguments. */
export interface Op {
  code: number;
  x: number;
  y: number;
}

/** What every container kind gives the tests. */
export interface Persistable {
  readonly name: string;
  readonly capacity: number;
  readonly disposed: boolean;
  readonly descriptorPtr: Ptr;
  persist(): Ptr;
  check(): void;
  dispose(): void;
}

export interface PersistSubject<C extends Persistable = Persistable, M = unknown> {
  name: string;
  create(a: Allocator): C;
  restore(a: Allocator, ptr: Ptr): C;
  model(): M;
  /** A deep copy of a model (two handles mutated apart need two models). */
  clone(m: M): M;
  /** Applies `op` to the container and to the model. */
  apply(c: C, m: M, op: Op): void;
  /** Throws when the container and the model differ. */
  expectSame(c: C, m: M): void;
  /** A call through a hot path (for "the old handle is dead"). */
  touch(c: C): unknown;
  /** A model of what the container holds now (for a container restored from a forged descriptor). */
  modelOf(c: C): M;
}

// ------------------------------------------------------------------ arrays

type AnyArray = DynamicArray<"f64">;

function dynamicArray(kind: ElementKind): PersistSubject<AnyArray, (number | bigint)[]> {
  const bigint = kind === "u64" || kind === "i64";
  const float = kind === "f32" || kind === "f64";
  const value = (y: number): number => (bigint ? BigInt(y) : float ? y / 8 : y) as number;
  return {
    name: `DynamicArray<${kind}>`,
    create: (a) => new DynamicArray(a, kind, { name: `saved ${kind}` }) as unknown as AnyArray,
    restore: (a, ptr) => DynamicArray.restore(a, ptr, { kind }) as unknown as AnyArray,
    model: () => [],
    clone: (m) => m.slice(),
    apply(c, m, { code, x, y }) {
      const n = m.length;
      const v = value(y);
      switch (code % 10) {
        case 1:
          if (n > 0) expectSameSequence([c.pop()], [m.pop()], "pop");
          return;
        case 2:
          if (n > 0) {
            c.set(x % n, v);
            m[x % n] = stored(kind, v);
          }
          return;
        case 3:
          if (n > 0) {
            expectSameSequence([c.swapRemove(x % n)], [m[x % n]], "swapRemove");
            m[x % n] = m[n - 1]!;
            m.pop();
          }
          return;
        case 4:
          c.insert(x % (n + 1), v);
          m.splice(x % (n + 1), 0, stored(kind, v));
          return;
        case 5:
          if (n > 0) expectSameSequence([c.removeAt(x % n)], m.splice(x % n, 1), "removeAt");
          return;
        case 6: {
          const len = x % 40;
          c.resize(len);
          while (m.length < len) m.push(bigint ? 0n : 0);
          m.length = len;
          return;
        }
        case 7:
          c.shrinkToFit();
          return;
        case 8:
          if (x % 8 === 0) {
            c.clear();
            m.length = 0;
          } else {
            c.reserve(n + (x % 50));
          }
          return;
        default:
          c.push(v);
          m.push(stored(kind, v));
      }
    },
    expectSame: (c, m) => expectSameSequence(c.toArray(), m, c.label),
    touch: (c) => c.push(value(1)),
    modelOf: (c) => c.toArray(),
  };
}

// ------------------------------------------------------------------ records

const Body = defineStruct({ x: "f32", id: "u32", big: "i64", hp: "u16" });
type BodyRecord = { x: number; id: number; big: bigint; hp: number };
type Records = StructArray<typeof Body> | StructOfArrays<typeof Body>;

function records(type: "StructArray" | "StructOfArrays"): PersistSubject<Records, BodyRecord[]> {
  const zero = (): BodyRecord => ({ x: 0, id: 0, big: 0n, hp: 0 });
  const write = (c: Records, i: number, r: BodyRecord, y: number): void => {
    r.x = stored("f32", y / 4) as number;
    r.id = stored("u32", y * 7) as number;
    r.big = BigInt(y) << 35n;
    r.hp = stored("u16", y) as number;
    c.field("x").set(i, y / 4);
    c.set(i, "id", y * 7);
    c.field("big").set(i, BigInt(y) << 35n);
    c.set(i, "hp", y);
  };
  return {
    name: type,
    create: (a) => (type === "StructArray" ? new StructArray(a, Body, { name: "bodies" }) : new StructOfArrays(a, Body, { name: "bodies" })),
    restore: (a, ptr) => (type === "StructArray" ? StructArray.restore(a, ptr, Body) : StructOfArrays.restore(a, ptr, Body)),
    model: () => [],
    clone: (m) => m.map((r) => ({ ...r })),
    apply(c, m, { code, x, y }) {
      const n = m.length;
      switch (code % 8) {
        case 1:
          if (n > 0) {
            c.pop();
            m.pop();
          }
          return;
        case 2:
          if (n > 0) write(c, x % n, m[x % n]!, y);
          return;
        case 3:
          if (n > 0) {
            c.swapRemove(x % n);
            m[x % n] = m[n - 1]!;
            m.pop();
          }
          return;
        case 4: {
          const i = x % (n + 1);
          c.insert(i);
          m.splice(i, 0, zero());
          write(c, i, m[i]!, y);
          return;
        }
        case 5:
          if (n > 0) {
            c.removeAt(x % n);
            m.splice(x % n, 1);
          }
          return;
        case 6: {
          const len = x % 30;
          c.resize(len);
          while (m.length < len) m.push(zero());
          m.length = len;
          return;
        }
        case 7:
          if (x % 4 === 0) c.shrinkToFit();
          else c.reserve(n + (x % 40));
          return;
        default: {
          const i = c.push();
          m.push(zero());
          write(c, i, m[i]!, y);
        }
      }
    },
    expectSame(c, m) {
      const got = c.toArray();
      if (got.length !== m.length) throw new Error(`${c.label}: length ${got.length}, expected ${m.length}`);
      got.forEach((r, i) => {
        const e = m[i]!;
        if (!(r.x === e.x || (r.x !== r.x && e.x !== e.x)) || r.id !== e.id || r.big !== e.big || r.hp !== e.hp) throw new Error(`${c.label}: record ${i} is ${JSON.stringify(r, big)}, expected ${JSON.stringify(e, big)}`);
      });
    },
    touch: (c) => c.push(),
    modelOf: (c) => c.toArray(),
  };
}

const big = (_key: string, v: unknown): unknown => (typeof v === "bigint" ? `${v}n` : v);

// ------------------------------------------------------------------ tables

type AnyMap = HashMap<"u32", "f64">;

function hashMap(key: KeyKind, value: ElementKind): PersistSubject<AnyMap, Map<number, number | bigint>> {
  const bigint = value === "u64" || value === "i64";
  const keyOf = (x: number): number => (key === "f64" ? (x % 300) / 4 : key === "i32" ? (x % 300) - 150 : x % 300);
  const valueOf = (y: number): number => (bigint ? BigInt(y) : value === "f64" || value === "f32" ? y / 8 : y) as number;
  return {
    name: `HashMap<${key}, ${value}>`,
    create: (a) => new HashMap(a, { key, value, name: "table" }) as unknown as AnyMap,
    restore: (a, ptr) => HashMap.restore(a, ptr, { key, value }) as unknown as AnyMap,
    model: () => new Map(),
    clone: (m) => new Map(m),
    apply(c, m, { code, x, y }) {
      const k = keyOf(x);
      switch (code % 6) {
        case 1:
        case 2:
          if (c.delete(k) !== m.delete(k)) throw new Error(`delete(${k}) disagrees`);
          return;
        case 3:
          if (x % 16 === 0) {
            c.clear();
            m.clear();
          }
          return;
        default:
          c.set(k, valueOf(y));
          m.set(k, stored(value, valueOf(y)));
      }
    },
    expectSame(c, m) {
      if (c.size !== m.size) throw new Error(`${c.label}: size ${c.size}, expected ${m.size}`);
      for (const [k, v] of m) {
        const got = c.get(k, (bigint ? -1n : -1) as number);
        if (got !== v && !(got !== got && v !== v)) throw new Error(`${c.label}: get(${k}) is ${String(got)}, expected ${String(v)}`);
      }
      c.check();
    },
    touch: (c) => c.set(keyOf(1), valueOf(1)),
    modelOf: (c) => new Map(c.toArray()),
  };
}

function hashSet(key: KeyKind): PersistSubject<HashSet<"u32">, Set<number>> {
  const keyOf = (x: number): number => (key === "f64" ? (x % 300) / 4 : key === "i32" ? (x % 300) - 150 : x % 300);
  return {
    name: `HashSet<${key}>`,
    create: (a) => new HashSet(a, { key, name: "seen" }) as unknown as HashSet<"u32">,
    restore: (a, ptr) => HashSet.restore(a, ptr, { key }) as unknown as HashSet<"u32">,
    model: () => new Set(),
    clone: (m) => new Set(m),
    apply(c, m, { code, x }) {
      const k = keyOf(x);
      switch (code % 5) {
        case 1:
        case 2:
          if (c.delete(k) !== m.delete(k)) throw new Error(`delete(${k}) disagrees`);
          return;
        case 3:
          if (x % 16 === 0) {
            c.clear();
            m.clear();
          }
          return;
        default:
          if (c.add(k) !== !m.has(k)) throw new Error(`add(${k}) disagrees`);
          m.add(k);
      }
    },
    expectSame(c, m) {
      if (c.size !== m.size) throw new Error(`${c.label}: size ${c.size}, expected ${m.size}`);
      for (const k of m) if (!c.has(k)) throw new Error(`${c.label}: lost ${k}`);
      c.check();
    },
    touch: (c) => c.add(keyOf(7)),
    modelOf: (c) => new Set(c.toArray()),
  };
}

// ------------------------------------------------------------------ handles

const Unit = defineStruct({ x: "f64", id: "u32" });
type Pool = HandlePool<typeof Unit>;
interface PoolModel {
  live: number[];
  values: Map<number, { x: number; id: number }>;
  stale: number[];
}

function handlePool(): PersistSubject<Pool, PoolModel> {
  return {
    name: "HandlePool",
    create: (a) => new HandlePool(a, Unit, { name: "units", indexBits: 12 }),
    restore: (a, ptr) => HandlePool.restore(a, ptr, Unit),
    model: () => ({ live: [], values: new Map(), stale: [] }),
    clone: (m) => ({ live: m.live.slice(), values: new Map([...m.values].map(([h, v]) => [h, { ...v }])), stale: m.stale.slice() }),
    apply(c, m, { code, x, y }) {
      const n = m.live.length;
      switch (code % 5) {
        case 1:
        case 2:
          if (n > 0) {
            const h = m.live.splice(x % n, 1)[0]!;
            c.destroy(h);
            m.values.delete(h);
            m.stale.push(h);
          }
          return;
        case 3:
          if (n > 0 && x % 8 === 0) {
            c.clear();
            m.stale.push(...m.live);
            m.live.length = 0;
            m.values.clear();
          } else if (n > 0) {
            const h = m.live[x % n]!;
            c.field("x").set(h, y / 2);
            m.values.get(h)!.x = y / 2;
          }
          return;
        default: {
          const h = c.create();
          c.set(h, "x", y / 2);
          c.field("id").set(h, y >>> 0);
          m.live.push(h);
          m.values.set(h, { x: y / 2, id: y >>> 0 });
        }
      }
    },
    expectSame(c, m) {
      if (c.size !== m.live.length) throw new Error(`${c.label}: size ${c.size}, expected ${m.live.length}`);
      for (const h of m.live) {
        const v = m.values.get(h)!;
        if (!c.isAlive(h) || c.get(h, "x") !== v.x || c.field("id").get(h) !== v.id) throw new Error(`${c.label}: handle ${h} lost its record`);
      }
      for (const h of m.stale) if (c.isAlive(h)) throw new Error(`${c.label}: stale handle ${h} is alive again`);
      c.check();
    },
    touch: (c) => c.create(),
    modelOf(c) {
      const m: PoolModel = { live: [], values: new Map(), stale: [] };
      c.forEach((h) => {
        m.live.push(h);
        m.values.set(h, { x: c.get(h, "x"), id: c.field("id").get(h) });
      });
      return m;
    },
  };
}

/** Every container kind (several element / key kinds). */
export function persistSubjects(): PersistSubject[] {
  return [
    dynamicArray("u8"),
    dynamicArray("i16"),
    dynamicArray("u32"),
    dynamicArray("f32"),
    dynamicArray("f64"),
    dynamicArray("i64"),
    records("StructArray"),
    records("StructOfArrays"),
    hashMap("u32", "f64"),
    hashMap("i32", "u16"),
    hashMap("f64", "i64"),
    hashSet("u32"),
    hashSet("f64"),
    handlePool(),
  ] as PersistSubject[];
}

export { Body, Unit };
