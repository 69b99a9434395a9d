// Leaks on purpose, with tracing "callstacks", through every way user code
// reaches a scope: directly, through a container, through allocateZeroed and
// through a debug wrapper over the scope. Prints one JSON line: the LeakError
// as String(err), its name and structured blocks, and the folded stacks.
// The user's functions are methods of an object literal: a minifier keeps
// property names, so their frames stay recognisable in a minified bundle.
import { allocateZeroed, type Allocator } from "@memkit/core";
import { HashMap } from "@memkit/containers";
import { debugWrap } from "@memkit/debug-allocators";
import { MemoryGlobals } from "@memkit/memory-globals";

const game = {
  loadLevel(scope: Allocator): void {
    scope.allocate(100);
  },
  fillTable(scope: Allocator): void {
    const table = new HashMap(scope, { key: "u32", value: "u32", name: "table" });
    for (let i = 0; i < 100; i++) table.set(i, i);
  },
  clearedBuffer(scope: Allocator): void {
    allocateZeroed(scope, 300);
  },
  throughDebugWrapper(scope: Allocator): void {
    const checked = debugWrap(scope, { name: "checked" });
    checked.allocate(500);
    // The debug stack's own state (control blocks, tables) is leased from the scope: give it back; the block stays.
    checked.destroy();
  },
};

const memory = MemoryGlobals.init({ initialBytes: 1 << 20, maximumBytes: 16 << 20, tracing: "callstacks" });
const level = memory.scope("level");
game.loadLevel(level);
game.fillTable(level);
game.clearedBuffer(level);
game.throughDebugWrapper(level);
const folded = level.foldedStacks();
try {
  memory.shutdown();
  console.log(JSON.stringify({ error: null }));
} catch (err) {
  const e = err as Error & { code?: string; report?: { blocks: { size: number; stack?: string }[] } };
  console.log(JSON.stringify({ error: String(e), name: e.name, code: e.code, blocks: e.report?.blocks ?? [], folded }));
}
