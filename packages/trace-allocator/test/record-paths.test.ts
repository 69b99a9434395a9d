import { afterEach, describe, expect, it } from "vitest";
import { AddressSpace, SeededRandom } from "@memkit/core";
import { GenericAllocator } from "@memkit/generic-allocator";
import { PageAllocator } from "@memkit/page-allocator";
import { TraceAllocator } from "@memkit/trace-allocator";
import { W_TREE_ID } from "../src/layout.js";
import { outcome } from "@memkit/test-workers";
import { runRecordPathsInJs } from "../src/record-paths.js";

interface Tree {
  space: AddressSpace;
  root: TraceAllocator;
  scopes: TraceAllocator[];
}

/** A tree of four scopes (root, root/a, root/a/b, root/c) over a generic allocator, its record steps in wasm or in JS. */
function tree(js: boolean): Tree {
  runRecordPathsInJs(js);
  try {
    const space = AddressSpace.create({ initialBytes: 16 << 20, maximumBytes: 64 << 20 });
    const root = new TraceAllocator(new GenericAllocator(new PageAllocator(space, { pageSize: 16384 })));
    const a = root.child("a");
    return { space, root, scopes: [root, a, a.child("b"), root.child("c")] };
  } finally {
    runRecordPathsInJs(false);
  }
}

/** The two memories hold the same bytes, but for each tree's random id and the control block's seal over it. */
function sameBytes(a: Tree, b: Tree): boolean {
  const bytes = (t: Tree): Buffer => {
    const copy = Buffer.from(t.space.u8);
    const cw = t.root.controlPtr;
    copy.fill(0, cw + 3 * 4, cw + 4 * 4); // seal
    copy.fill(0, cw + W_TREE_ID * 4, cw + (W_TREE_ID + 1) * 4);
    return copy;
  };
  return bytes(a).equals(bytes(b));
}

afterEach(() => runRecordPathsInJs(false));

describe("a scope's record steps in wasm against the JS ones", () => {
  it("leave the same bytes in memory, op for op, through nested scopes, labels, frames and refused frees", () => {
    const wasm = tree(false);
    const js = tree(true);
    const label = [wasm.root.labelId("grid"), js.root.labelId("grid")] as const;
    expect(label[0]).toBe(label[1]);
    const rng = new SeededRandom(0x7ace);
    const live: { ptr: number; scope: number }[] = [];
    const freed: number[] = [];
    const both = (call: (t: Tree, side: number) => number | void): [string, string] => [outcome(() => call(wasm, 0)), outcome(() => call(js, 1))];
    for (let op = 1; op <= 40_000; op++) {
      const r = rng.next();
      let out: [string, string];
      if (live.length === 0 || r < 0.48) {
        const scope = rng.int(0, 3);
        const size = rng.chance(0.8) ? rng.logUniform(1, 512) : rng.int(1, 20_000);
        const align = rng.chance(0.1) ? 16 : 8;
        const withLabel = rng.chance(0.05);
        out = both((t, side) => t.scopes[scope]!.allocate(size, align, withLabel ? label[side] : 0));
        live.push({ ptr: Number(out[0]), scope });
      } else if (r < 0.9) {
        const [b] = live.splice(rng.int(0, live.length - 1), 1);
        out = both((t) => t.scopes[b!.scope]!.deallocate(b!.ptr));
        freed.push(b!.ptr);
      } else if (r < 0.94) {
        const b = live[rng.int(0, live.length - 1)]!;
        const size = rng.int(1, 4000);
        out = both((t) => t.scopes[b.scope]!.reallocate(b.ptr, size));
        b.ptr = Number(out[0]);
      } else if (r < 0.97) {
        // Refused: through another scope, a freed pointer (unless reused since), an interior one.
        const b = live[rng.int(0, live.length - 1)]!;
        const k = rng.int(0, 2);
        const other = (b.scope + 1 + rng.int(0, 2)) % 4;
        const p = k === 1 && freed.length > 0 ? freed[rng.int(0, freed.length - 1)]! : k === 2 ? b.ptr + 8 : b.ptr;
        if (k === 1 && live.some((l) => l.ptr === p)) continue;
        out = both((t) => t.scopes[k === 0 ? other : b.scope]!.deallocate(p));
      } else {
        const frame = op;
        out = both((t) => t.root.markFrame(frame));
      }
      expect(out[0], `op ${op}`).toBe(out[1]);
      if (op % 4000 === 0) {
        expect(sameBytes(wasm, js), `memory differs after op ${op}`).toBe(true);
        wasm.root.check();
      }
    }
    for (const b of live) wasm.scopes[b.scope]!.deallocate(b.ptr);
    for (const b of live) js.scopes[b.scope]!.deallocate(b.ptr);
    expect(sameBytes(wasm, js)).toBe(true);
    expect(wasm.root.report()).toEqual(js.root.report());
  });

  it("an ended handle frees and allocates nothing, as on the JS path, while the tree lives on", () => {
    const results = [false, true].map((js) => {
      const { space, root } = tree(js);
      const p = root.allocate(64);
      const q = root.allocate(64);
      const other = TraceAllocator.attach(space, root.controlPtr, { backing: root.backing });
      other.deallocate(other.allocate(16)); // its inline paths' cached epochs are current
      other.deallocate(other.allocate(16));
      other.detach();
      const out = [outcome(() => other.deallocate(p)), outcome(() => other.allocate(32))];
      root.deallocate(p);
      root.deallocate(q);
      root.check();
      return out;
    });
    expect(results[0]).toEqual(results[1]);
    expect(results[0]![0]).toBe("DestroyedError");
  });

  it("after dispose, a scope's frees and allocations fail as on the JS path", () => {
    const { scopes } = tree(false);
    const c = scopes[3]!;
    const p = c.allocate(64);
    c.deallocate(p);
    c.dispose();
    expect(() => c.allocate(64)).toThrow(/disposed/);
    expect(() => c.deallocate(p)).toThrow();
  });
});
