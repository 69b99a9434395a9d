import { afterEach, describe, expect, it } from "vitest";
import { LeakError, OutOfMemoryError } from "@memkit/core";
import { MemoryGlobals, NULL_GUARD_BYTES } from "@memkit/memory-globals";
import { SQLITE_GLOBAL_BASE, Sqlite, SqliteError, WASM_STATIC_BYTES } from "@memkit/wasm-modules";
import { sqliteWasm } from "@memkit/wasm-modules/node";

afterEach(() => {
  const memory = MemoryGlobals.current;
  if (memory === undefined) return;
  try {
    memory.shutdown();
  } catch {
    // the leak test asserted what it needed
  }
});

const options = { initialBytes: 8 << 20, maximumBytes: 256 << 20, wasmStaticBytes: WASM_STATIC_BYTES };
const ROWS = 5000;

function fill(sqlite: Sqlite): ReturnType<Sqlite["open"]> {
  const db = sqlite.open(":memory:");
  db.exec("CREATE TABLE players(id INTEGER PRIMARY KEY, name TEXT NOT NULL, team INTEGER, score REAL)");
  db.exec("CREATE INDEX players_team ON players(team)");
  db.exec("BEGIN");
  const insert = db.prepare("INSERT INTO players(name, team, score) VALUES (?, ?, ?)");
  for (let i = 0; i < ROWS; i++) {
    insert.bindText(1, `player-${i}`).bindInt(2, i % 7).bindDouble(3, i * 0.5);
    expect(insert.step()).toBe(false);
    insert.reset();
  }
  insert.finalize();
  db.exec("COMMIT");
  return db;
}

describe("SQLite on memkit's heap (scope \"sqlite\")", () => {
  it("inserts and queries thousands of rows; the scope counts SQLite's blocks; closing returns every byte", async () => {
    const memory = MemoryGlobals.init({ ...options, tracing: "callstacks" });
    const sqlite = await Sqlite.instantiate(memory, sqliteWasm());
    expect(sqlite.heap.staticExtent!.start).toBe(SQLITE_GLOBAL_BASE);
    expect(sqlite.heap.staticExtent!.end).toBeLessThanOrEqual(NULL_GUARD_BYTES + WASM_STATIC_BYTES);
    const scope = sqlite.heap.scope;
    expect(scope.path).toBe("root/sqlite");
    const db = fill(sqlite);

    const query = db.prepare("SELECT count(*), sum(score), max(name) FROM players WHERE team = ?");
    query.bindInt(1, 3);
    expect(query.step()).toBe(true);
    const expected = Array.from({ length: ROWS }, (_, i) => i).filter((i) => i % 7 === 3);
    expect(query.int(0)).toBe(expected.length);
    expect(query.double(1)).toBe(expected.reduce((s, i) => s + i * 0.5, 0));
    expect(query.text(2)).toBe(`player-${expected.map((i) => `player-${i}`).sort().pop()!.slice(7)}`);
    expect(query.step()).toBe(false);
    query.finalize();
    const rows = db.prepare("SELECT id, name FROM players ORDER BY id DESC LIMIT 3");
    const seen: string[] = [];
    while (rows.step()) seen.push(`${rows.int(0)}:${rows.text(1)}`);
    rows.finalize();
    expect(seen).toEqual([`${ROWS}:player-${ROWS - 1}`, `${ROWS - 1}:player-${ROWS - 2}`, `${ROWS - 2}:player-${ROWS - 3}`]);

    // The scope's figures are SQLite's own, plus the 8-byte size header the glue keeps per block.
    const stats = scope.stats();
    expect(stats.liveBytes).toBe(sqlite.memoryUsed() + 8 * stats.liveCount);
    expect(stats.liveBytes).toBeGreaterThan(100_000); // 5,000 rows and an index live in its page cache
    expect(stats.peakLiveBytes).toBeGreaterThanOrEqual(stats.liveBytes);
    expect(memory.report().children.find((c) => c.path === "root/sqlite")!.liveBytes).toBe(stats.liveBytes);
    // Folded stacks name SQLite's C functions: the wasm frames are in the call stacks.
    const folded = scope.foldedStacks();
    expect(folded).toMatch(/^root;sqlite;.*sqlite3Malloc \(wasm:\/\/wasm\//m);
    expect(folded).toMatch(/pcache1/);

    db.close();
    expect(scope.stats().liveBytes).toBe(0);
    expect(scope.stats().peakLiveBytes).toBe(stats.peakLiveBytes);
    memory.check();
    memory.shutdown(); // no LeakError: SQLite gave every block back
  });

  it("a database left open is a LeakError naming the sqlite scope at shutdown", async () => {
    const memory = MemoryGlobals.init(options);
    const sqlite = await Sqlite.instantiate(memory, sqliteWasm());
    const db = fill(sqlite);
    expect(db.open).toBe(true);
    let error: unknown;
    try {
      memory.shutdown();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LeakError);
    expect((error as LeakError).report.scopes).toContain("root/sqlite");
    expect((error as LeakError).message).toMatch(/root\/sqlite/);
    expect((error as LeakError).report.bytes).toBeGreaterThan(100_000);
    // Every block SQLite held lies outside the static region its data and stack live in.
    const blocks = (error as LeakError).report.blocks.filter((b) => b.scope === "root/sqlite");
    expect(blocks.length).toBeGreaterThan(50);
    for (const b of blocks) expect(b.ptr >= NULL_GUARD_BYTES + WASM_STATIC_BYTES || b.ptr + b.size <= NULL_GUARD_BYTES).toBe(true);
  });

  it("a budget on the scope: SQLite gets NULL, reports SQLITE_NOMEM, and works again once memory is back", async () => {
    const memory = MemoryGlobals.init(options);
    const sqlite = await Sqlite.instantiate(memory, sqliteWasm(), "sqlite", { scopeOptions: { budget: 256 << 10 } });
    const db = sqlite.open();
    db.exec("CREATE TABLE blobs(v TEXT)");
    const insert = db.prepare("INSERT INTO blobs VALUES (?)");
    let failure: unknown;
    try {
      for (let i = 0; i < 10_000; i++) {
        insert.bindText(1, "x".repeat(200) + String(i));
        insert.step();
        insert.reset();
      }
    } catch (err) {
      failure = err;
    }
    // The budget stopped it: SQLite saw NULL from malloc and said "out of memory"; the typed error is kept.
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure)).toMatch(/out of memory|budget/i);
    expect(sqlite.heap.lastError).toBeInstanceOf(OutOfMemoryError);
    expect(sqlite.heap.lastError!.message).toMatch(/root\/sqlite/);
    const stored = db.prepare("SELECT count(*) FROM blobs");
    expect(stored.step()).toBe(true);
    const rowsBefore = stored.int(0);
    expect(rowsBefore).toBeGreaterThan(100);
    stored.reset();
    // Nothing was corrupted: with the budget raised, the same statement and database carry on.
    sqlite.heap.scope.setBudget(64 << 20);
    insert.reset();
    insert.bindText(1, "after");
    expect(insert.step()).toBe(false);
    insert.finalize();
    expect(stored.step()).toBe(true);
    expect(stored.int(0)).toBe(rowsBefore + 1);
    stored.finalize();
    db.close();
    expect(sqlite.heap.scope.stats().liveBytes).toBe(0);
    memory.check();
  });

  it("SQL errors are SqliteErrors with SQLite's message; the database stays usable", async () => {
    const memory = MemoryGlobals.init(options);
    const sqlite = await Sqlite.instantiate(memory, sqliteWasm());
    const db = sqlite.open();
    expect(() => db.exec("SELEKT 1")).toThrow(SqliteError);
    expect(() => db.prepare("SELECT * FROM nowhere")).toThrow(/no such table: nowhere/);
    db.exec("CREATE TABLE t(a)");
    db.close();
    expect(sqlite.heap.scope.stats().liveBytes).toBe(0);
  });

  it("refuses a memory without room for its static data and stack", () => {
    const memory = MemoryGlobals.init({ initialBytes: 8 << 20 });
    expect(() => memory.wasmImports("sqlite", { module: sqliteWasm() })).toThrow(/wasmStaticBytes/);
  });
});
