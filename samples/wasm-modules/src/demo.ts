// `npm run demo -w @memkit/wasm-modules`: SQLite on memkit's heap, watched
// through scope "sqlite" — its peak, its folded stacks (SQLite's own C
// functions), every byte back at close, and the LeakError of a database left
// open.
import { LeakError } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";
import { WASM_STATIC_BYTES } from "./build/layout.js";
import { sqliteWasm } from "./load.js";
import { Sqlite, type Database } from "./sqlite.js";

const ROWS = 20_000;

function fill(db: Database): void {
  db.exec("CREATE TABLE players(id INTEGER PRIMARY KEY, name TEXT NOT NULL, team INTEGER, score REAL)");
  db.exec("CREATE INDEX players_team ON players(team)");
  db.exec("BEGIN");
  const insert = db.prepare("INSERT INTO players(name, team, score) VALUES (?, ?, ?)");
  for (let i = 0; i < ROWS; i++) {
    insert.bindText(1, `player-${i}`).bindInt(2, i % 7).bindDouble(3, i * 0.5);
    insert.step();
    insert.reset();
  }
  insert.finalize();
  db.exec("COMMIT");
}

async function main(): Promise<void> {
  const memory = MemoryGlobals.init({ wasmStaticBytes: WASM_STATIC_BYTES, tracing: "callstacks" });
  const sqlite = await Sqlite.instantiate(memory, sqliteWasm());
  const scope = sqlite.heap.scope;
  const extent = sqlite.heap.staticExtent!;
  console.log(`sqlite.wasm: data and stack at [0x${extent.start.toString(16)}, 0x${extent.end.toString(16)}) in the static region; heap in scope ${scope.path}`);
  const db = sqlite.open();
  fill(db);
  const query = db.prepare("SELECT team, count(*), sum(score) FROM players GROUP BY team ORDER BY team");
  const teams: string[] = [];
  while (query.step()) teams.push(`team ${query.int(0)}: ${query.int(1)} rows, score ${query.double(2)}`);
  query.finalize();
  console.log(`${ROWS.toLocaleString("en-US")} rows inserted; ${teams[0]}; ...`);
  console.log(`\nThe scope tree with the database open:\n${memory.formatReport()}`);
  console.log(`SQLite's own count (sqlite3_memory_used): ${sqlite.memoryUsed().toLocaleString("en-US")} bytes (+ 8 bytes of size header per block)`);
  const folded = scope
    .foldedStacks()
    .split("\n")
    .filter((line) => line.length > 0)
    .sort((a, b) => Number(b.slice(b.lastIndexOf(" ") + 1)) - Number(a.slice(a.lastIndexOf(" ") + 1)));
  console.log(`\nHeaviest folded stacks of ${scope.path} (live bytes; frames outermost first, shortened):`);
  for (const line of folded.slice(0, 3)) console.log(`  ${line.replace(/ \(wasm:\/\/wasm\/[^)]*\)/g, "")}`);
  db.close();
  console.log(`\nAfter close: ${scope.stats().liveBytes} bytes live in ${scope.path}, peak ${scope.stats().peakLiveBytes.toLocaleString("en-US")} bytes.`);

  // A database left open: shutdown names the scope.
  fill(sqlite.open());
  try {
    memory.shutdown();
  } catch (err) {
    if (!(err instanceof LeakError)) throw err;
    console.log(`\nA database left open, at shutdown:\n${err.name}: ${err.message.split("\n").slice(0, 4).join("\n")}\n  ...`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
