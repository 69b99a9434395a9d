import { describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom, hashWords, hex, sealControl, type ControlLayout, type Ptr } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import {
  DYNAMIC_ARRAY_LAYOUT,
  HANDLE_POOL_LAYOUT,
  HASH_MAP_LAYOUT,
  HASH_SET_LAYOUT,
  STRUCT_ARRAY_LAYOUT,
  STRUCT_OF_ARRAYS_LAYOUT,
} from "../src/index.js";
import { persistSubjects, type PersistSubject, type Persistable } from "./support/persist-subjects.js";

/*
 * Restore trusts nothing (the descriptor counterpart of core's
 * runAttachMutations, which is built for allocators): damage a container's
 * descriptor the ways a stray write, a truncated save or a wrong pointer do
 * — random bytes, truncation, bit flips, field edits — and restore.
 *
 * - As damaged: the seal and the name hash cover every byte, so every case
 *   that changed a byte is a CorruptionError at restore.
 * - Forged (damaged, then sealed again, as a writer with a bug or a crafted
 *   save would): a CorruptionError at restore, or a container that check()
 *   accepted and that then behaves like a model of what it shows, never
 *   writes into other blocks (sentinels in a sibling scope keep their
 *   bytes), leaves the page allocator and the trace tree consistent, and
 *   frees everything in dispose().
 */

const LAYOUTS: Record<string, ControlLayout> = {
  DynamicArray: DYNAMIC_ARRAY_LAYOUT,
  StructArray: STRUCT_ARRAY_LAYOUT,
  StructOfArrays: STRUCT_OF_ARRAYS_LAYOUT,
  HashMap: HASH_MAP_LAYOUT,
  HashSet: HASH_SET_LAYOUT,
  HandlePool: HANDLE_POOL_LAYOUT,
};
const layoutOf = (subject: PersistSubject): ControlLayout => LAYOUTS[/^\w+/.exec(subject.name)![0]]!;

type Kind = "random-bytes" | "truncation" | "bit-flips" | "field-edit";
const KINDS: Kind[] = ["random-bytes", "truncation", "bit-flips", "field-edit"];

interface Built {
  space: AddressSpace;
  pages: PageAllocator;
  root: TraceAllocator;
  mine: TraceAllocator;
  other: TraceAllocator;
  sentinels: { ptr: Ptr; bytes: number; seed: number }[];
  container: Persistable;
  ptr: Ptr;
  bytes: number;
}

/** A container of random contents in scope "mine", its descriptor, and sentinel blocks of scope "other" around it. */
function build(subject: PersistSubject, rng: SeededRandom): Built {
  const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: 16 << 20 });
  const pages = new PageAllocator(space, { pageSize: 256 });
  const root = new TraceAllocator(pages);
  const mine = root.child("mine");
  const other = root.child("other");
  const sentinels: Built["sentinels"] = [];
  const sentinel = (): void => {
    const bytes = rng.int(16, 700);
    const ptr = other.allocate(bytes);
    const seed = rng.int(1, 250);
    for (let i = 0; i < bytes; i++) space.u8[ptr + i] = (seed + i * 31) & 0xff;
    sentinels.push({ ptr, bytes, seed });
  };
  sentinel();
  const container = subject.create(mine);
  const model = subject.model();
  const count = rng.int(0, 60);
  for (let i = 0; i < count; i++) subject.apply(container, model, { code: rng.int(0, 99), x: rng.int(0, 1 << 20), y: rng.int(-40_000, 40_000) });
  sentinel();
  const ptr = container.persist();
  sentinel();
  return { space, pages, root, mine, other, sentinels, container, ptr, bytes: space.u32[(ptr >>> 2) + 2]! };
}

function damage(b: Built, kind: Kind, rng: SeededRandom): string {
  const u8 = b.space.u8;
  const from = b.ptr;
  const to = b.ptr + b.bytes;
  const at = (): number => rng.int(from, to - 1);
  switch (kind) {
    case "random-bytes": {
      const count = rng.int(1, 16);
      for (let i = 0; i < count; i++) u8[at()] = rng.int(0, 255);
      return `${count} random bytes`;
    }
    case "truncation": {
      const cut = at();
      u8.fill(0, cut, to);
      return `zeroed from +${cut - from}`;
    }
    case "bit-flips": {
      const count = rng.int(1, 4);
      for (let i = 0; i < count; i++) u8[at()]! ^= 1 << rng.int(0, 7);
      return `${count} flipped bits`;
    }
    case "field-edit": {
      const word = at() >>> 2;
      const u32 = b.space.u32;
      const old = u32[word]!;
      const values = [0, 0xffffffff, old + 1, old - 1, old * 2, rng.nextU32(), 0x7fffffff, b.space.byteLength, rng.int(0, 64)];
      u32[word] = values[rng.int(0, values.length - 1)]! >>> 0;
      return `word +${(word << 2) - from}: ${old} -> ${u32[word]}`;
    }
  }
}

/** Seals the damaged descriptor again: its name hash and its header seal (what a writer with a bug would leave). */
function forge(b: Built, layout: ControlLayout): void {
  const u32 = b.space.u32;
  const w = b.ptr >>> 2;
  const nameAt = w + 4 + layout.fixedWords;
  u32[w + 5] = hashWords(u32, nameAt, w + b.bytes / 4);
  sealControl(b.space, b.ptr, layout);
}

function verifySentinels(b: Built, label: string): void {
  for (const s of b.sentinels) {
    for (let i = 0; i < s.bytes; i++) {
      if (b.space.u8[s.ptr + i] !== ((s.seed + i * 31) & 0xff)) throw new Error(`${label}: sentinel ${hex(s.ptr)} byte ${i} was overwritten`);
    }
  }
}

interface Outcome {
  unchanged: number;
  refused: number;
  restored: number;
}

function run(mode: "damaged" | "forged", cases: number, seed: number): Outcome {
  const subjects = persistSubjects();
  const rng = new SeededRandom(seed);
  const outcome: Outcome = { unchanged: 0, refused: 0, restored: 0 };
  for (let n = 0; n < cases; n++) {
    const subject = subjects[n % subjects.length]!;
    const b = build(subject, rng);
    const before = b.space.u8.slice(b.ptr, b.ptr + b.bytes);
    const kind = KINDS[Math.floor(n / subjects.length) % KINDS.length]!;
    const what = damage(b, kind, rng);
    const label = `case ${n} (${subject.name}, ${mode}, ${kind}: ${what})`;
    if (before.every((v, i) => b.space.u8[b.ptr + i] === v)) {
      outcome.unchanged++;
      continue;
    }
    if (mode === "forged") forge(b, layoutOf(subject));
    const block = (b.container as unknown as { ptr: number }).ptr;
    let restored: Persistable;
    try {
      restored = subject.restore(b.mine, b.ptr);
    } catch (err) {
      if ((err as { code?: unknown }).code !== "ERR_CORRUPTION") throw new Error(`${label}: restore threw ${String(err)}; damage must be a CorruptionError`, { cause: err });
      outcome.refused++;
      continue;
    }
    if (mode === "damaged") throw new Error(`${label}: restore accepted a damaged descriptor`);
    outcome.restored++;
    // The old handle ended; the restored one must behave like a model of what it shows.
    const model = subject.modelOf(restored);
    for (let i = 0; i < 60; i++) subject.apply(restored, model, { code: rng.int(0, 99), x: rng.int(0, 1 << 20), y: rng.int(-40_000, 40_000) });
    subject.expectSame(restored, model);
    restored.check();
    verifySentinels(b, label);
    b.pages.check();
    b.root.check();
    restored.dispose();
    // A forged descriptor may drop the block (say, "empty, no block"): that block stays live, and nothing else may.
    const dropped = block !== 0 && b.mine.owns(block) ? 1 : 0;
    if (b.mine.stats().liveCount !== dropped) throw new Error(`${label}: ${b.mine.stats().liveCount} blocks left in the container's scope after dispose()`);
    verifySentinels(b, label);
    b.pages.check();
  }
  return outcome;
}

describe("damaged descriptors", () => {
  it("as damaged: every case that changed a byte is a CorruptionError at restore (480 seeded cases over every container kind)", () => {
    const outcome = run("damaged", 480, 0x44455343);
    expect(outcome.refused).toBeGreaterThan(400);
    expect(outcome.refused + outcome.unchanged).toBe(480);
  });

  it("forged (damaged, then sealed again): refused, or a container that stays inside its own blocks and keeps working (480 cases)", () => {
    const outcome = run("forged", 480, 0x464f5247);
    expect(outcome.refused).toBeGreaterThan(0);
    expect(outcome.restored).toBeGreaterThan(0);
    expect(outcome.refused + outcome.restored + outcome.unchanged).toBe(480);
  });

  it("a pointer anywhere else (inside blocks, other descriptors, control blocks, free pages) is a CorruptionError", () => {
    const rng = new SeededRandom(0x50545253);
    const subjects = persistSubjects();
    for (let n = 0; n < 60; n++) {
      const subject = subjects[n % subjects.length]!;
      const b = build(subject, rng);
      const others = subjects.filter((s) => s !== subject).map((s) => s.create(b.mine));
      for (const o of others) o.persist(); // descriptors of every other kind around
      for (let i = 0; i < 20; i++) {
        const ptr = rng.int(0, (b.space.byteLength >>> 2) - 1) << 2;
        if (ptr === b.ptr) continue;
        let error: unknown;
        try {
          subject.restore(b.mine, ptr);
        } catch (err) {
          error = err;
        }
        expect((error as { code?: unknown } | undefined)?.code, `${subject.name}.restore at ${hex(ptr)}`).toBe("ERR_CORRUPTION");
      }
      expect(b.container.disposed).toBe(false); // nothing was taken over
    }
  });
});
