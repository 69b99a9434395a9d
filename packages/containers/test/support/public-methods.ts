// Every public method of every container, with what each argument is, so
// tests can walk them all: with bad arguments (hostile-input.test.ts) and
// after dispose (after-dispose.test.ts).
import { AddressSpace } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import {
  DynamicArray,
  HandlePool,
  HashMap,
  HashSet,
  SpaceViews,
  StructArray,
  StructOfArrays,
  alignOf,
  defineStruct,
  offsetOf,
  setContainerDebug,
  setContainerLeakHandler,
  sizeOf,
  type ElementKind,
  type KeyKind,
} from "../../src/index.js";

/** What an argument is; decides which values it accepts (see `accepts` in hostile-input.test.ts). */
export type ArgKind =
  | "index" // element/record/slot index: an integer in range
  | "optional-index" // fill start/end, indexOf fromIndex: undefined means the default
  | "count" // capacity, length: an integer 0..max
  | "number-value" // a value of a number kind
  | "bigint-value" // a value of u64/i64
  | "any" // returned as is (HashMap.get's fallback)
  | "key:u32"
  | "key:i32"
  | "key:f64"
  | "handle"
  | "alive-handle" // isAlive: never throws, false for anything not a live handle
  | "cursor"
  | "start-cursor" // next(): -1 starts
  | "field"
  | "callback"
  | "options" // an optional options object
  | "required-options"
  | "option:capacity"
  | "option:name"
  | "option:debug"
  | "option:maxLoadFactor"
  | "option:indexBits"
  | "element-kind"
  | "key-kind"
  | "allocator"
  | "layout"
  | "fields"
  | "boolean"
  | "leak-handler"
  | "space"
  | "option:kind" // restore's expected kinds: undefined means "any"
  | "descriptor"; // restore's pointer: a number that is not a descriptor is CorruptionError

export interface Arg<C> {
  kind: ArgKind;
  /** A good value for this position (read from the container, before the call). */
  good: (c: C) => unknown;
}

export interface Method<C> {
  name: string;
  args: Arg<C>[];
  call: (c: C, args: unknown[]) => unknown;
  /** After dispose: "throws" (DestroyedError, the default) or "ok" (documented not to throw). */
  afterDispose?: "throws" | "ok";
}

export interface Subject<C> {
  name: string;
  make: (a: Allocator) => C;
  /** The container's label, for checking that messages name it. */
  label: (c: C) => string;
  /** Everything the container holds, as plain data (compared before and after a refused call). */
  snapshot: (c: C) => unknown;
  /** Uses the container's hot paths and checks the results: it still works. */
  exercise: (c: C) => void;
  methods: Method<C>[];
  dispose: (c: C) => void;
}

/** A fresh page allocator over a small space that grows (256-byte pages: blocks are reused). */
export function pages(): Allocator {
  const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 });
  return new PageAllocator(space, { pageSize: 256 });
}

const arg = <C>(kind: ArgKind, good: (c: C) => unknown): Arg<C> => ({ kind, good });
const k = <C>(kind: ArgKind, value: unknown): Arg<C> => arg<C>(kind, () => value);
const noop = (): void => undefined;

type AnyArray = DynamicArray<"f64">;

function dynamicArraySubject(kind: ElementKind): Subject<AnyArray> {
  const bigint = kind === "u64" || kind === "i64";
  const v = (n: number): number => (bigint ? BigInt(n) : n) as number;
  const value: ArgKind = bigint ? "bigint-value" : "number-value";
  return {
    name: `DynamicArray<${kind}>`,
    make: (a) => {
      const arr = new DynamicArray(a, kind, { name: "hostile" }) as unknown as AnyArray;
      for (let i = 0; i < 10; i++) arr.push(v(10 - i));
      return arr;
    },
    label: (c) => c.label,
    snapshot: (c) => c.toArray(),
    exercise: (c) => {
      const n = c.length;
      for (let i = 0; i < 20; i++) c.push(v(i + 100)); // grows the block
      c.set(n, v(7));
      if (c.get(n) !== v(7) || c.get(n + 19) !== v(119)) throw new Error("DynamicArray no longer reads back what it wrote");
      c.resize(n);
    },
    dispose: (c) => c.dispose(),
    methods: [
      { name: "push", args: [k(value, v(1))], call: (c, [x]) => c.push(x as number) },
      { name: "pop", args: [], call: (c) => c.pop() },
      { name: "get", args: [k("index", 0)], call: (c, [i]) => c.get(i as number) },
      { name: "set", args: [k("index", 0), k(value, v(1))], call: (c, [i, x]) => c.set(i as number, x as number) },
      { name: "reserve", args: [k("count", 40)], call: (c, [n]) => c.reserve(n as number) },
      { name: "resize", args: [k("count", 4)], call: (c, [n]) => c.resize(n as number) },
      { name: "clear", args: [], call: (c) => c.clear() },
      { name: "shrinkToFit", args: [], call: (c) => c.shrinkToFit() },
      { name: "swapRemove", args: [k("index", 0)], call: (c, [i]) => c.swapRemove(i as number) },
      { name: "insert", args: [k("index", 0), k(value, v(1))], call: (c, [i, x]) => c.insert(i as number, x as number) },
      { name: "removeAt", args: [k("index", 0)], call: (c, [i]) => c.removeAt(i as number) },
      {
        name: "fill",
        args: [k(value, v(1)), k("optional-index", 1), k("optional-index", 3)],
        call: (c, [x, s, e]) => c.fill(x as number, s as number, e as number),
      },
      { name: "indexOf", args: [k(value, v(1)), k("optional-index", 0)], call: (c, [x, f]) => c.indexOf(x as number, f as number) },
      { name: "sort", args: [], call: (c) => c.sort() },
      { name: "forEach", args: [k("callback", noop)], call: (c, [f]) => c.forEach(f as () => void) },
      { name: "view", args: [], call: (c) => c.view() },
      { name: "toArray", args: [], call: (c) => c.toArray() },
      { name: "persist", args: [], call: (c) => c.persist() },
      { name: "check", args: [], call: (c) => c.check(), afterDispose: "ok" },
      { name: "persist", args: [], call: (c) => c.persist() },
    ],
  };
}

const Body = defineStruct({ x: "f32", id: "u32", big: "u64" });
type Records = StructArray<typeof Body> | StructOfArrays<typeof Body>;

function recordSubject(type: "StructArray" | "StructOfArrays"): Subject<Records> {
  const methods: Method<Records>[] = [
    { name: "field", args: [k("field", "x")], call: (c, [f]) => c.field(f as "x"), afterDispose: "ok" },
    { name: "get", args: [k("index", 0), k("field", "id")], call: (c, [i, f]) => c.get(i as number, f as "id") },
    { name: "set", args: [k("index", 0), k("field", "id"), k("number-value", 5)], call: (c, [i, f, x]) => c.set(i as number, f as "id", x as number) },
    { name: "set(big)", args: [k("index", 0), k("bigint-value", 5n)], call: (c, [i, x]) => c.set(i as number, "big", x as bigint) },
    { name: "push", args: [], call: (c) => c.push() },
    { name: "pop", args: [], call: (c) => c.pop() },
    { name: "swapRemove", args: [k("index", 0)], call: (c, [i]) => c.swapRemove(i as number) },
    { name: "insert", args: [k("index", 0)], call: (c, [i]) => c.insert(i as number) },
    { name: "removeAt", args: [k("index", 0)], call: (c, [i]) => c.removeAt(i as number) },
    { name: "reserve", args: [k("count", 40)], call: (c, [n]) => c.reserve(n as number) },
    { name: "resize", args: [k("count", 4)], call: (c, [n]) => c.resize(n as number) },
    { name: "clear", args: [], call: (c) => c.clear() },
    { name: "shrinkToFit", args: [], call: (c) => c.shrinkToFit() },
    { name: "forEach", args: [k("callback", noop)], call: (c, [f]) => c.forEach(f as () => void) },
    { name: "toArray", args: [], call: (c) => c.toArray() },
    { name: "persist", args: [], call: (c) => c.persist() },
    { name: "check", args: [], call: (c) => c.check(), afterDispose: "ok" },
    { name: "field(x).get", args: [k("index", 0)], call: (c, [i]) => c.field("x").get(i as number) },
    { name: "field(x).set", args: [k("index", 0), k("number-value", 2.5)], call: (c, [i, x]) => c.field("x").set(i as number, x as number) },
    { name: "field(big).set", args: [k("index", 0), k("bigint-value", 2n)], call: (c, [i, x]) => c.field("big").set(i as number, x as bigint) },
  ];
  if (type === "StructArray") {
    methods.push(
      { name: "recordPtr", args: [k("index", 0)], call: (c, [i]) => (c as StructArray<typeof Body>).recordPtr(i as number) },
      { name: "view", args: [], call: (c) => (c as StructArray<typeof Body>).view() },
    );
  } else {
    methods.push(
      { name: "columnPtr", args: [k("field", "x")], call: (c, [f]) => (c as StructOfArrays<typeof Body>).columnPtr(f as "x") },
      { name: "column", args: [k("field", "x")], call: (c, [f]) => (c as StructOfArrays<typeof Body>).column(f as "x") },
    );
  }
  return {
    name: type,
    make: (a) => {
      const c = type === "StructArray" ? new StructArray(a, Body, { name: "hostile" }) : new StructOfArrays(a, Body, { name: "hostile" });
      for (let i = 0; i < 10; i++) {
        const r = c.push();
        c.set(r, "x", i / 4);
        c.set(r, "id", 1000 + i);
        c.set(r, "big", BigInt(i) << 40n);
      }
      return c;
    },
    label: (c) => c.label,
    snapshot: (c) => c.toArray(),
    exercise: (c) => {
      const n = c.length;
      const id = c.field("id");
      for (let i = 0; i < 20; i++) id.set(c.push(), 5000 + i); // grows the block
      if (id.get(n) !== 5000 || id.get(n + 19) !== 5019 || c.get(n + 3, "x") !== 0) throw new Error(`${type} no longer reads back what it wrote`);
      c.resize(n);
    },
    dispose: (c) => c.dispose(),
    methods,
  };
}

type AnyMap = HashMap<KeyKind, "f64">;

function keyOf(kind: KeyKind): ArgKind {
  return `key:${kind}`;
}

function hashMapSubject(key: KeyKind, value: ElementKind): Subject<AnyMap> {
  const bigint = value === "u64" || value === "i64";
  const v = (n: number): number => (bigint ? BigInt(n) : n) as number;
  const valueKind: ArgKind = bigint ? "bigint-value" : "number-value";
  const keyAt = (i: number): number => (key === "f64" ? i * 1.25 : key === "i32" ? -i : i);
  return {
    name: `HashMap<${key}, ${value}>`,
    make: (a) => {
      const m = new HashMap(a, { key, value, name: "hostile" }) as unknown as AnyMap;
      for (let i = 0; i < 20; i++) m.set(keyAt(i), v(i * 3));
      return m;
    },
    label: (c) => c.label,
    snapshot: (c) => {
      c.check();
      return c.toArray().sort((x, y) => x[0] - y[0]);
    },
    exercise: (c) => {
      for (let i = 100; i < 140; i++) c.set(keyAt(i), v(i)); // grows the table
      if (c.get(keyAt(139), v(-1)) !== v(139) || !c.delete(keyAt(120)) || c.has(keyAt(120))) throw new Error("HashMap no longer works");
      c.check();
      for (let i = 100; i < 140; i++) c.delete(keyAt(i));
    },
    dispose: (c) => c.dispose(),
    methods: [
      { name: "get", args: [k(keyOf(key), keyAt(3)), k("any", v(-1))], call: (c, [x, f]) => c.get(x as number, f as number) },
      { name: "set", args: [k(keyOf(key), keyAt(300)), k(valueKind, v(1))], call: (c, [x, y]) => c.set(x as number, y as number) },
      { name: "set (existing key)", args: [k(keyOf(key), keyAt(3)), k(valueKind, v(1))], call: (c, [x, y]) => c.set(x as number, y as number) },
      { name: "has", args: [k(keyOf(key), keyAt(3))], call: (c, [x]) => c.has(x as number) },
      { name: "delete", args: [k(keyOf(key), keyAt(3))], call: (c, [x]) => c.delete(x as number) },
      { name: "clear", args: [], call: (c) => c.clear() },
      { name: "forEach", args: [k("callback", noop)], call: (c, [f]) => c.forEach(f as () => void) },
      { name: "next", args: [k("start-cursor", -1)], call: (c, [x]) => c.next(x as number) },
      { name: "keyAt", args: [arg("cursor", (c) => c.next(-1))], call: (c, [x]) => c.keyAt(x as number) },
      { name: "valueAt", args: [arg("cursor", (c) => c.next(-1))], call: (c, [x]) => c.valueAt(x as number) },
      {
        name: "setValueAt",
        args: [arg("cursor", (c) => c.next(-1)), k(valueKind, v(1))],
        call: (c, [x, y]) => c.setValueAt(x as number, y as number),
      },
      { name: "toArray", args: [], call: (c) => c.toArray() },
      { name: "check", args: [], call: (c) => c.check(), afterDispose: "ok" },
      { name: "persist", args: [], call: (c) => c.persist() },
    ],
  };
}

function hashSetSubject(key: KeyKind): Subject<HashSet<KeyKind>> {
  const keyAt = (i: number): number => (key === "f64" ? i * 1.25 : key === "i32" ? -i : i);
  return {
    name: `HashSet<${key}>`,
    make: (a) => {
      const s = new HashSet(a, { key, name: "hostile" });
      for (let i = 0; i < 20; i++) s.add(keyAt(i));
      return s;
    },
    label: (c) => c.label,
    snapshot: (c) => {
      c.check();
      return c.toArray().sort((x, y) => x - y);
    },
    exercise: (c) => {
      for (let i = 100; i < 140; i++) c.add(keyAt(i));
      if (!c.has(keyAt(139)) || !c.delete(keyAt(120)) || c.has(keyAt(120))) throw new Error("HashSet no longer works");
      c.check();
      for (let i = 100; i < 140; i++) c.delete(keyAt(i));
    },
    dispose: (c) => c.dispose(),
    methods: [
      { name: "add", args: [k(keyOf(key), keyAt(300))], call: (c, [x]) => c.add(x as number) },
      { name: "has", args: [k(keyOf(key), keyAt(3))], call: (c, [x]) => c.has(x as number) },
      { name: "delete", args: [k(keyOf(key), keyAt(3))], call: (c, [x]) => c.delete(x as number) },
      { name: "clear", args: [], call: (c) => c.clear() },
      { name: "forEach", args: [k("callback", noop)], call: (c, [f]) => c.forEach(f as () => void) },
      { name: "next", args: [k("start-cursor", -1)], call: (c, [x]) => c.next(x as number) },
      { name: "keyAt", args: [arg("cursor", (c) => c.next(-1))], call: (c, [x]) => c.keyAt(x as number) },
      { name: "toArray", args: [], call: (c) => c.toArray() },
      { name: "check", args: [], call: (c) => c.check(), afterDispose: "ok" },
      { name: "persist", args: [], call: (c) => c.persist() },
    ],
  };
}

const Unit = defineStruct({ x: "f32", big: "u64" });
interface PoolState {
  pool: HandlePool<typeof Unit>;
  handles: number[];
}

function handlePoolSubject(): Subject<PoolState> {
  const live = (s: PoolState): number => s.handles[1]!;
  return {
    name: "HandlePool",
    make: (a) => {
      const pool = new HandlePool(a, Unit, { name: "hostile" });
      const handles: number[] = [];
      for (let i = 0; i < 10; i++) {
        const h = pool.create();
        pool.set(h, "x", i / 2);
        pool.set(h, "big", BigInt(i) << 33n);
        handles.push(h);
      }
      pool.destroy(handles[0]!); // one free slot, one stale handle
      return { pool, handles };
    },
    label: (s) => s.pool.label,
    snapshot: (s) => {
      const out: unknown[] = [s.pool.size];
      s.pool.forEach((h, i) => out.push([h, i, s.pool.get(h, "x"), s.pool.get(h, "big")]));
      return out;
    },
    exercise: (s) => {
      const made: number[] = [];
      for (let i = 0; i < 20; i++) {
        const h = s.pool.create(); // grows the block
        s.pool.field("x").set(h, i);
        made.push(h);
      }
      if (s.pool.field("x").get(made[19]!) !== 19 || s.pool.get(made[0]!, "big") !== 0n) throw new Error("HandlePool no longer works");
      for (const h of made) s.pool.destroy(h);
    },
    dispose: (s) => s.pool.dispose(),
    methods: [
      { name: "create", args: [], call: (s) => s.pool.create() },
      { name: "destroy", args: [arg("handle", live)], call: (s, [h]) => s.pool.destroy(h as number) },
      { name: "isAlive", args: [arg("alive-handle", live)], call: (s, [h]) => s.pool.isAlive(h as number), afterDispose: "ok" },
      { name: "indexOf", args: [arg("handle", live)], call: (s, [h]) => s.pool.indexOf(h as number) },
      { name: "handleAt", args: [k("index", 1)], call: (s, [i]) => s.pool.handleAt(i as number) },
      { name: "recordPtr", args: [arg("handle", live)], call: (s, [h]) => s.pool.recordPtr(h as number) },
      { name: "field", args: [k("field", "x")], call: (s, [f]) => s.pool.field(f as "x"), afterDispose: "ok" },
      { name: "get", args: [arg("handle", live), k("field", "x")], call: (s, [h, f]) => s.pool.get(h as number, f as "x") },
      {
        name: "set",
        args: [arg("handle", live), k("field", "x"), k("number-value", 1)],
        call: (s, [h, f, x]) => s.pool.set(h as number, f as "x", x as number),
      },
      { name: "set(big)", args: [arg("handle", live), k("bigint-value", 1n)], call: (s, [h, x]) => s.pool.set(h as number, "big", x as bigint) },
      { name: "forEach", args: [k("callback", noop)], call: (s, [f]) => s.pool.forEach(f as () => void) },
      { name: "clear", args: [], call: (s) => s.pool.clear() },
      { name: "field(x).get", args: [arg("handle", live)], call: (s, [h]) => s.pool.field("x").get(h as number) },
      { name: "field(x).set", args: [arg("handle", live), k("number-value", 1)], call: (s, [h, x]) => s.pool.field("x").set(h as number, x as number) },
      { name: "field(big).set", args: [arg("handle", live), k("bigint-value", 1n)], call: (s, [h, x]) => s.pool.field("big").set(h as number, x as bigint) },
      { name: "persist", args: [], call: (s) => s.pool.persist() },
      { name: "check", args: [], call: (s) => s.pool.check(), afterDispose: "ok" },
    ],
  };
}

/** Every container subject: each DynamicArray value type, both record forms, maps and sets of each key kind, the pool. */
export function containerSubjects(): Subject<unknown>[] {
  const subjects: Subject<never>[] = [
    dynamicArraySubject("u32"),
    dynamicArraySubject("f64"),
    dynamicArraySubject("i64"),
    recordSubject("StructArray"),
    recordSubject("StructOfArrays"),
    hashMapSubject("u32", "f32"),
    hashMapSubject("i32", "u64"),
    hashMapSubject("f64", "f64"),
    hashSetSubject("u32"),
    hashSetSubject("f64"),
    handlePoolSubject(),
  ] as unknown as Subject<never>[];
  return subjects as unknown as Subject<unknown>[];
}

/** A free function or constructor: called with the allocator; whatever it returns is disposed if it can be. */
export interface Entry {
  name: string;
  args: Arg<Allocator>[];
  call: (a: Allocator, args: unknown[]) => unknown;
  /** Restores global state the entry changes. */
  reset?: () => void;
}

const self = (a: Allocator): Allocator => a;

/** The constructors (each option on its own) and the free functions. */
export function entryPoints(): Entry[] {
  const entries: Entry[] = [];
  // Each option is its own entry: its value is spread into `base`, the options every call needs.
  const ctor = (name: string, make: (a: Allocator, options: unknown) => unknown, base: Record<string, unknown>, options: [ArgKind, string, unknown][]): void => {
    entries.push({ name: `new ${name}(allocator)`, args: [arg("allocator", self)], call: (_a, [x]) => make(x as Allocator, base) });
    entries.push({
      name: `new ${name}(options)`,
      args: [k(Object.keys(base).length > 0 ? "required-options" : "options", base)],
      call: (a, [o]) => make(a, o),
    });
    for (const [kind, option, good] of options) {
      entries.push({ name: `new ${name}({ ${option} })`, args: [k(kind, good)], call: (a, [x]) => make(a, { ...base, [option]: x }) });
    }
  };
  const common: [ArgKind, string, unknown][] = [
    ["option:capacity", "capacity", 16],
    ["option:name", "name", "n"],
    ["option:debug", "debug", false],
  ];
  ctor("DynamicArray", (a, o) => new DynamicArray(a, "u32", o as object), {}, common);
  entries.push({ name: "new DynamicArray(kind)", args: [k("element-kind", "u32")], call: (a, [x]) => new DynamicArray(a, x as "u32") });
  ctor("StructArray", (a, o) => new StructArray(a, Body, o as object), {}, common);
  entries.push({ name: "new StructArray(layout)", args: [k("layout", Body)], call: (a, [l]) => new StructArray(a, l as typeof Body) });
  ctor("StructOfArrays", (a, o) => new StructOfArrays(a, Body, o as object), {}, common);
  entries.push({ name: "new StructOfArrays(layout)", args: [k("layout", Body)], call: (a, [l]) => new StructOfArrays(a, l as typeof Body) });
  const tableOptions: [ArgKind, string, unknown][] = [...common, ["option:maxLoadFactor", "maxLoadFactor", 0.5]];
  ctor("HashMap", (a, o) => new HashMap(a, o as { key: "u32"; value: "u32" }), { key: "u32", value: "u32" }, [
    ...tableOptions,
    ["key-kind", "key", "u32"],
    ["element-kind", "value", "u32"],
  ]);
  ctor("HashSet", (a, o) => new HashSet(a, o as { key: "u32" }), { key: "u32" }, [...tableOptions, ["key-kind", "key", "u32"]]);
  ctor("HandlePool", (a, o) => new HandlePool(a, Unit, o as object), {}, [...common, ["option:indexBits", "indexBits", 12]]);
  entries.push({ name: "new HandlePool(layout)", args: [k("layout", Unit)], call: (a, [l]) => new HandlePool(a, l as typeof Unit) });
  entries.push({ name: "defineStruct(fields)", args: [k("fields", { x: "f32" })], call: (_a, [f]) => defineStruct(f as { x: "f32" }) });
  entries.push({ name: "defineStruct({ x: kind })", args: [k("element-kind", "f32")], call: (_a, [x]) => defineStruct({ x: x as "f32" }) });
  entries.push({ name: "sizeOf(layout)", args: [k("layout", Body)], call: (_a, [l]) => sizeOf(l as typeof Body) });
  entries.push({ name: "alignOf(layout)", args: [k("layout", Body)], call: (_a, [l]) => alignOf(l as typeof Body) });
  entries.push({ name: "offsetOf(layout)", args: [k("layout", Body)], call: (_a, [l]) => offsetOf(l as typeof Body, "x") });
  entries.push({ name: "offsetOf(layout, field)", args: [k("field", "x")], call: (_a, [f]) => offsetOf(Body, f as "x") });
  entries.push({ name: "setContainerDebug(on)", args: [k("boolean", false)], call: (_a, [b]) => setContainerDebug(b as boolean), reset: () => setContainerDebug(false) });
  entries.push({
    name: "setContainerLeakHandler(handler)",
    args: [k("leak-handler", noop)],
    call: (_a, [h]) => setContainerLeakHandler(h as () => void),
    reset: () => setContainerLeakHandler(null),
  });
  entries.push({ name: "SpaceViews.of(space)", args: [arg("space", (a) => a.space)], call: (_a, [s]) => SpaceViews.of(s as AddressSpace) });
  restoreEntries(entries);
  return entries;
}

/** Containers made to be restored; disposed by the entry's reset (a no-op once a restore took one over). */
const persisted: { dispose(): void }[] = [];
const disposePersisted = (): void => {
  for (const c of persisted.splice(0)) c.dispose();
};
const descriptorOf = (c: { persist(): number; dispose(): void }): number => {
  persisted.push(c);
  return c.persist();
};

/** Each restore(): every argument in turn, and each option on its own. */
function restoreEntries(entries: Entry[]): void {
  const add = (name: string, make: (a: Allocator) => { persist(): number; dispose(): void }, restore: (a: Allocator, ptr: number, options: unknown) => unknown, options: [ArgKind, string, unknown][]): void => {
    const base = { name: `${name}.restore`, reset: disposePersisted };
    entries.push({ ...base, name: `${name}.restore(allocator)`, args: [arg("allocator", self)], call: (a, [x]) => restore(x as Allocator, descriptorOf(make(a)), undefined) });
    entries.push({ ...base, name: `${name}.restore(descriptorPtr)`, args: [arg("descriptor", (a) => descriptorOf(make(a)))], call: (a, [p]) => restore(a, p as number, undefined) });
    entries.push({ ...base, name: `${name}.restore(options)`, args: [k("options", {})], call: (a, [o]) => restore(a, descriptorOf(make(a)), o) });
    for (const [kind, option, good] of options) {
      entries.push({ ...base, name: `${name}.restore({ ${option} })`, args: [k(kind, good)], call: (a, [x]) => restore(a, descriptorOf(make(a)), { [option]: x }) });
    }
  };
  const debug: [ArgKind, string, unknown] = ["option:debug", "debug", false];
  add("DynamicArray", (a) => new DynamicArray(a, "u32"), (a, p, o) => DynamicArray.restore(a, p, o as object), [debug, ["option:kind", "kind", "u32"]]);
  add("StructArray", (a) => new StructArray(a, Body), (a, p, o) => StructArray.restore(a, p, Body, o as object), [debug]);
  add("StructOfArrays", (a) => new StructOfArrays(a, Body), (a, p, o) => StructOfArrays.restore(a, p, Body, o as object), [debug]);
  add("HashMap", (a) => new HashMap(a, { key: "u32", value: "f32" }), (a, p, o) => HashMap.restore(a, p, o as object), [debug, ["option:kind", "key", "u32"], ["option:kind", "value", "f32"]]);
  add("HashSet", (a) => new HashSet(a, { key: "i32" }), (a, p, o) => HashSet.restore(a, p, o as object), [debug, ["option:kind", "key", "i32"]]);
  add("HandlePool", (a) => new HandlePool(a, Unit), (a, p, o) => HandlePool.restore(a, p, Unit, o as object), [debug]);
  entries.push({
    name: "StructArray.restore(layout)",
    args: [k("layout", Body)],
    call: (a, [l]) => StructArray.restore(a, descriptorOf(new StructArray(a, Body)), l as typeof Body),
    reset: disposePersisted,
  });
  entries.push({
    name: "HandlePool.restore(layout)",
    args: [k("layout", Unit)],
    call: (a, [l]) => HandlePool.restore(a, descriptorOf(new HandlePool(a, Unit)), l as typeof Unit),
    reset: disposePersisted,
  });
}
