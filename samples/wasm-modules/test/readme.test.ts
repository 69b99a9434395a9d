import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it, vi } from "vitest";
import { MemoryGlobals } from "@memkit/memory-globals";
import { Sqlite, WASM_STATIC_BYTES } from "@memkit/wasm-modules";
import { sqliteWasm } from "@memkit/wasm-modules/node";

// The README's SQLite example, verbatim (imports hoisted above).
async function example(): Promise<void> {
  const memory = MemoryGlobals.init({ wasmStaticBytes: WASM_STATIC_BYTES });
  const sqlite = await Sqlite.instantiate(memory, sqliteWasm());   // scope "sqlite"
  const db = sqlite.open(":memory:");
  db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
  const insert = db.prepare("INSERT INTO t(name) VALUES (?)");
  insert.bindText(1, "a").step();
  insert.finalize();
  console.log(sqlite.heap.scope.stats());   // SQLite's blocks: live, peak, allocations
  db.close();                               // every byte back to the scope
  memory.shutdown();                        // a database left open would be a LeakError naming root/sqlite
}

afterEach(() => {
  vi.restoreAllMocks();
  MemoryGlobals.current?.shutdown();
});

it("runs the README's example as written", async () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  await example();
  expect(log).toHaveBeenCalledTimes(1);
  expect((log.mock.calls[0]![0] as { liveBytes: number }).liveBytes).toBeGreaterThan(0);
});

it("the README's example is the code this test runs", () => {
  const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").map((l) => l.trim()).filter((l) => l.length > 0).join("\n");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(1);
  const lines = blocks[0]!.split("\n").map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("import "));
  expect(source).toContain(lines.join("\n"));
});
