// The debug paths' call stacks in a bundle: a debug container's creation
// stack (reported when the garbage collector reclaims it undisposed) and a
// debug wrapper's "first freed" / "freed" stacks, freed directly, through a
// container's dispose() and through a scope over the debug stack. Each must
// start at the user's function. Run with node --expose-gc; prints one JSON line.
// The user's functions are methods of an object literal: a minifier keeps
// property names, so their frames stay recognisable in a minified bundle.
import { type Allocator } from "@memkit/core";
import { DynamicArray, formatContainerLeak, setContainerLeakHandler } from "@memkit/containers";
import { debugWrap, type DebugAllocator } from "@memkit/debug-allocators";
import { MemoryGlobals } from "@memkit/memory-globals";
import { TraceAllocator } from "@memkit/trace-allocator";

const game = {
  makeForgotten(allocator: Allocator): void {
    new DynamicArray(allocator, "u32", { name: "forgotten", debug: true }).push(1);
  },
  releaseBlock(heap: Allocator, ptr: number): void {
    heap.deallocate(ptr);
  },
  dropArray(heap: Allocator): number {
    const ids = new DynamicArray(heap, "u32", { name: "ids" });
    ids.push(1);
    const ptr = ids.ptr;
    ids.dispose();
    return ptr;
  },
  freeThroughScope(scope: Allocator, ptr: number): void {
    scope.deallocate(ptr);
  },
};

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return String(err);
  }
  return "(no error)";
}

async function collectLeak(): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with node --expose-gc");
  for (let round = 0; round < 30 && leaks.length === 0; round++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  return leaks[0] ?? "(not collected)";
}

const leaks: string[] = [];
setContainerLeakHandler((leak) => leaks.push(formatContainerLeak(leak)));
const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 16 << 20 });

// 1. A debug container dropped without dispose(): the report says where it was created.
game.makeForgotten(memory.pages);
const containerLeak = await collectLeak();

// 2. A debug wrapper that captures free stacks, freed directly and through a container.
const heap: DebugAllocator = debugWrap(memory.pages, { name: "checked", captureStacks: true });
const direct = heap.allocate(24);
game.releaseBlock(heap, direct);
const doubleFree = messageOf(() => heap.deallocate(direct));
const owned = game.dropArray(heap);
const containerDoubleFree = messageOf(() => heap.deallocate(owned));

// 3. A scope over a debug stack: a write after a free through the scope.
const under: DebugAllocator = debugWrap(memory.pages, { name: "under", captureStacks: true });
const root = new TraceAllocator(under, { name: "tree" });
under.setOriginSource(root);
const block = root.allocate(40);
game.freeThroughScope(root, block);
under.space.u8[block + 8] = 3;
const writeAfterFree = messageOf(() => under.check());

console.log(JSON.stringify({ containerLeak, doubleFree, containerDoubleFree, writeAfterFree }));
