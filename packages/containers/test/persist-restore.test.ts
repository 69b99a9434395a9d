import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AddressSpace, DestroyedError } from "@memkit/core";
import type { Allocator } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { persistSubjects, type Op, type PersistSubject } from "./support/persist-subjects.js";

// Save and restore: a container found again from memory alone. Fill it with
// random contents, persist(), then restore a handle from the descriptor:
// through the same allocator handle, through a second handle attached to the
// same memory (a worker's view), and in a copy of the memory with a page
// allocator attached to the copy (another process after memory.save()). The
// restored handle holds the same contents and capacity, keeps working
// against the model, persists and restores again, and dispose() leaves no
// block behind.

const MAX_BYTES = 16 << 20;

const op: fc.Arbitrary<Op> = fc.record({ code: fc.nat(99), x: fc.nat(1 << 20), y: fc.integer({ min: -40_000, max: 40_000 }) });
const ops = fc.array(op, { maxLength: 120 });

function fresh(): { space: AddressSpace; pages: PageAllocator } {
  const space = AddressSpace.create({ initialBytes: 65536, maximumBytes: MAX_BYTES });
  return { space, pages: new PageAllocator(space, { pageSize: 256 }) };
}

/** The bytes a save would carry, in a new space (another process's memory after restore). */
function copyOf(space: AddressSpace): AddressSpace {
  const copy = AddressSpace.create({ initialBytes: space.byteLength, maximumBytes: MAX_BYTES });
  copy.u8.set(space.u8);
  return copy;
}

type Variant = "same handle" | "attached handle" | "copied memory";
const VARIANTS: Variant[] = ["same handle", "attached handle", "copied memory"];

describe.each(persistSubjects().map((s) => [s.name, s] as const))("%s: persist() and restore()", (_name, subject: PersistSubject) => {
  it.each(VARIANTS)("restores the same contents and capacity through the %s, and keeps working", (variant) => {
    fc.assert(
      fc.property(ops, ops, (before, after) => {
        const { space, pages } = fresh();
        const original = subject.create(pages);
        const model = subject.model();
        for (const o of before) subject.apply(original, model, o);
        const ptr = original.persist();
        const capacity = original.capacity;

        let through: Allocator = pages;
        if (variant === "attached handle") through = PageAllocator.attach(space, pages.controlPtr);
        if (variant === "copied memory") through = PageAllocator.attach(copyOf(space), pages.controlPtr);
        const restored = subject.restore(through, ptr);
        expect(restored.name).toBe(original.name);
        expect(restored.capacity).toBe(capacity);
        expect(restored.descriptorPtr).toBe(ptr);
        subject.expectSame(restored, model);
        restored.check();

        // One live handle per container: in the same memory, the old handle ended and frees nothing.
        const apart = variant === "copied memory" ? subject.clone(model) : undefined;
        if (apart === undefined) {
          expect(original.disposed).toBe(true);
          expect(() => subject.touch(original)).toThrow(DestroyedError);
          expect(() => original.persist()).toThrow(/used after restore\(\) took the container over/);
          original.dispose();
        }

        for (const o of after) {
          subject.apply(restored, model, o);
          if (apart !== undefined) subject.apply(original, apart, o);
        }
        subject.expectSame(restored, model);
        if (apart !== undefined) subject.expectSame(original, apart);

        // Again, from the restored handle: the descriptor is reused and refreshed.
        expect(restored.persist()).toBe(ptr);
        const again = subject.restore(through, ptr);
        subject.expectSame(again, model);
        expect(restored.disposed).toBe(true);
        again.dispose();
        if (apart !== undefined) original.dispose();

        for (const a of new Set([pages, through as PageAllocator])) {
          a.check();
          expect(a.stats().liveCount).toBe(0);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("names the block in the descriptor again after the block moved, so a descriptor never names a freed block", () => {
    const { space, pages } = fresh();
    const c = subject.create(pages);
    const model = subject.model();
    subject.apply(c, model, { code: 0, x: 1, y: 1 });
    const ptr = c.persist();
    // Grow well past the first block without calling persist() again.
    for (let i = 0; i < 400; i++) subject.apply(c, model, { code: 0, x: i * 7 + 3, y: i });
    const block = (c as unknown as { ptr: number }).ptr;
    expect(space.u32[(ptr >>> 2) + 6], "the descriptor's block word (+6)").toBe(block);
    expect(c.persist()).toBe(ptr);
    const restored = subject.restore(pages, ptr);
    expect((restored as unknown as { ptr: number }).ptr).toBe(block);
    subject.expectSame(restored, model);
    restored.dispose();
    expect(pages.stats().liveCount).toBe(0);
  });

  it("frees the descriptor in dispose(); the freed descriptor is refused", () => {
    const { pages } = fresh();
    const c = subject.create(pages);
    subject.apply(c, subject.model(), { code: 0, x: 5, y: 5 });
    const ptr = c.persist();
    const blocks = pages.stats().liveCount;
    expect(c.persist()).toBe(ptr); // once per container
    expect(pages.stats().liveCount).toBe(blocks);
    c.dispose();
    expect(pages.stats().liveCount).toBe(0);
    expect(() => subject.restore(pages, ptr)).toThrow(expect.objectContaining({ code: "ERR_CORRUPTION" }) as Error);
    expect(() => c.persist()).toThrow(DestroyedError);
  });
});
