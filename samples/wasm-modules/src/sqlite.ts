import type { MemoryGlobals, WasmHeap, WasmImportOptions, WasmImports } from "@memkit/memory-globals";
import { wasmHeapOf } from "@memkit/memory-globals";

/** SQLite result codes the wrapper reads. */
export const SQLITE_OK = 0;
export const SQLITE_ROW = 100;
export const SQLITE_DONE = 101;
/** bind_text's destructor: SQLite copies the text, so JS frees its block right after. */
const SQLITE_TRANSIENT = -1;

/** The exports of wasm/sqlite.wasm (src/build/build-c.ts lists them). */
interface SqliteExports {
  memkit_sqlite_init(): number;
  memkit_sqlite_memory_used(): number;
  sqlite3_open(filename: number, ppDb: number): number;
  sqlite3_close(db: number): number;
  sqlite3_exec(db: number, sql: number, callback: number, arg: number, errmsg: number): number;
  sqlite3_prepare_v2(db: number, sql: number, bytes: number, ppStmt: number, tail: number): number;
  sqlite3_step(stmt: number): number;
  sqlite3_reset(stmt: number): number;
  sqlite3_finalize(stmt: number): number;
  sqlite3_bind_int(stmt: number, index: number, value: number): number;
  sqlite3_bind_double(stmt: number, index: number, value: number): number;
  sqlite3_bind_text(stmt: number, index: number, text: number, bytes: number, destructor: number): number;
  sqlite3_column_int(stmt: number, column: number): number;
  sqlite3_column_double(stmt: number, column: number): number;
  sqlite3_column_text(stmt: number, column: number): number;
  sqlite3_errmsg(db: number): number;
  sqlite3_changes(db: number): number;
}

/** A SQLite call that did not return SQLITE_OK (or ROW/DONE from step); `code` is SQLite's result code. */
export class SqliteError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = "SqliteError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * SQLite compiled to wasm, on memkit's heap: every byte SQLite allocates is a
 * block of the scope given to {@link Sqlite.instantiate} ("sqlite" by
 * default) — counted, budgeted, in its folded stacks with SQLite's own
 * function names, and checked for leaks when the scope or the memory ends.
 * The strings JS hands SQLite are written into blocks of the same scope, in
 * the same memory.
 */
export class Sqlite {
  readonly imports: WasmImports;
  readonly heap: WasmHeap;
  readonly #x: SqliteExports;
  readonly #memory: MemoryGlobals;

  private constructor(memory: MemoryGlobals, imports: WasmImports, instance: WebAssembly.Instance) {
    this.#memory = memory;
    this.imports = imports;
    this.heap = wasmHeapOf(imports);
    this.#x = instance.exports as unknown as SqliteExports;
    const rc = this.#x.memkit_sqlite_init();
    if (rc !== SQLITE_OK) throw new SqliteError(`sqlite3_config(SQLITE_CONFIG_MALLOC) / sqlite3_initialize failed with code ${rc}.`, rc);
  }

  /**
   * Instantiates wasm/sqlite.wasm (`bytes`) on `memory`, whose static region
   * must hold it (`init({ wasmStaticBytes: WASM_STATIC_BYTES })`), with its
   * heap in scope `scopeName`.
   */
  static async instantiate(memory: MemoryGlobals, bytes: Uint8Array<ArrayBuffer>, scopeName = "sqlite", options: Omit<WasmImportOptions, "module"> = {}): Promise<Sqlite> {
    const imports = memory.wasmImports(scopeName, { ...options, module: bytes });
    try {
      const { instance } = await WebAssembly.instantiate(bytes, imports);
      return new Sqlite(memory, imports, instance);
    } catch (err) {
      wasmHeapOf(imports).release();
      throw err;
    }
  }

  /** Opens a database (":memory:": the only kind this build's VFS serves). */
  open(filename = ":memory:"): Database {
    const out = this.#scratch(4);
    try {
      const rc = this.#withString(filename, (name) => this.#x.sqlite3_open(name, out));
      const db = this.#memory.space.u32[out >>> 2]!;
      if (rc !== SQLITE_OK) {
        const message = db === 0 ? `code ${rc}` : this.text(this.#x.sqlite3_errmsg(db));
        if (db !== 0) this.#x.sqlite3_close(db);
        throw new SqliteError(`sqlite3_open(${JSON.stringify(filename)}): ${message}`, rc);
      }
      return new Database(this, this.#x, db);
    } finally {
      this.heap.scope.deallocate(out);
    }
  }

  /** What SQLite itself counts as allocated (its sqlite3_memory_used): the scope holds that plus an 8-byte size header per block. */
  memoryUsed(): number {
    return this.#x.memkit_sqlite_memory_used();
  }

  /** The module is done: its static region may be used by another instance. Its blocks stay in the scope. */
  release(): void {
    this.heap.release();
  }

  /** @internal A NUL-terminated copy of `text` in a block of the scope, passed to `use`, then freed. */
  withString<T>(text: string, use: (ptr: number) => T): T {
    return this.#withString(text, use);
  }

  #withString<T>(text: string, use: (ptr: number) => T): T {
    const bytes = encoder.encode(text);
    const ptr = this.heap.scope.allocate(bytes.length + 1, 1);
    const u8 = this.#memory.space.u8;
    u8.set(bytes, ptr);
    u8[ptr + bytes.length] = 0;
    try {
      return use(ptr);
    } finally {
      this.heap.scope.deallocate(ptr);
    }
  }

  #scratch(bytes: number): number {
    return this.heap.scope.allocate(bytes, 4);
  }

  /** @internal A word-sized out-parameter block. */
  outParam(): number {
    return this.#scratch(4);
  }

  /** @internal Reads a word. */
  word(ptr: number): number {
    return this.#memory.space.u32[ptr >>> 2]!;
  }

  /** @internal The NUL-terminated UTF-8 string at `ptr` ("" for NULL). */
  text(ptr: number): string {
    if (ptr === 0) return "";
    const u8 = this.#memory.space.u8;
    const end = u8.indexOf(0, ptr);
    return decoder.decode(u8.subarray(ptr, end));
  }
}

/** An open database. */
export class Database {
  #db: number;

  /** @internal Use Sqlite.open. */
  constructor(
    readonly sqlite: Sqlite,
    private readonly x: SqliteExports,
    db: number,
  ) {
    this.#db = db;
  }

  get open(): boolean {
    return this.#db !== 0;
  }

  #check(rc: number, what: string): void {
    if (rc !== SQLITE_OK) throw new SqliteError(`${what}: ${this.sqlite.text(this.x.sqlite3_errmsg(this.#handle(what)))}`, rc);
  }

  #handle(what: string): number {
    if (this.#db === 0) throw new SqliteError(`${what}: the database is closed.`, 21);
    return this.#db;
  }

  /** Runs one or more SQL statements without results. */
  exec(sql: string): void {
    const db = this.#handle("exec");
    this.#check(
      this.sqlite.withString(sql, (p) => this.x.sqlite3_exec(db, p, 0, 0, 0)),
      `exec(${JSON.stringify(sql.slice(0, 60))})`,
    );
  }

  /** Compiles one statement. */
  prepare(sql: string): Statement {
    const db = this.#handle("prepare");
    const out = this.sqlite.outParam();
    try {
      this.#check(
        this.sqlite.withString(sql, (p) => this.x.sqlite3_prepare_v2(db, p, -1, out, 0)),
        `prepare(${JSON.stringify(sql.slice(0, 60))})`,
      );
      return new Statement(this, this.x, this.sqlite.word(out));
    } finally {
      this.sqlite.heap.scope.deallocate(out);
    }
  }

  /** Rows changed by the last INSERT, UPDATE or DELETE. */
  get changes(): number {
    return this.x.sqlite3_changes(this.#handle("changes"));
  }

  /** Closes the database: SQLite frees everything it held for it (finalize statements first). */
  close(): void {
    this.#check(this.x.sqlite3_close(this.#handle("close")), "close");
    this.#db = 0;
  }

  /** @internal */
  errorMessage(): string {
    return this.sqlite.text(this.x.sqlite3_errmsg(this.#handle("errmsg")));
  }
}

/** A prepared statement: bind (1-based), step, read columns (0-based), reset, finalize. */
export class Statement {
  #stmt: number;

  /** @internal Use Database.prepare. */
  constructor(
    readonly db: Database,
    private readonly x: SqliteExports,
    stmt: number,
  ) {
    this.#stmt = stmt;
  }

  #bound(rc: number, what: string): this {
    if (rc !== SQLITE_OK) throw new SqliteError(`${what}: ${this.db.errorMessage()}`, rc);
    return this;
  }

  bindInt(index: number, value: number): this {
    return this.#bound(this.x.sqlite3_bind_int(this.#stmt, index, value), `bindInt(${index})`);
  }

  bindDouble(index: number, value: number): this {
    return this.#bound(this.x.sqlite3_bind_double(this.#stmt, index, value), `bindDouble(${index})`);
  }

  bindText(index: number, value: string): this {
    const stmt = this.#stmt;
    return this.#bound(
      this.db.sqlite.withString(value, (p) => this.x.sqlite3_bind_text(stmt, index, p, -1, SQLITE_TRANSIENT)),
      `bindText(${index})`,
    );
  }

  /** Runs to the next row: true when there is one, false when done. */
  step(): boolean {
    const rc = this.x.sqlite3_step(this.#stmt);
    if (rc === SQLITE_ROW) return true;
    if (rc === SQLITE_DONE) return false;
    throw new SqliteError(`step: ${this.db.errorMessage()}`, rc);
  }

  int(column: number): number {
    return this.x.sqlite3_column_int(this.#stmt, column);
  }

  double(column: number): number {
    return this.x.sqlite3_column_double(this.#stmt, column);
  }

  text(column: number): string {
    return this.db.sqlite.text(this.x.sqlite3_column_text(this.#stmt, column));
  }

  reset(): this {
    this.x.sqlite3_reset(this.#stmt);
    return this;
  }

  finalize(): void {
    this.x.sqlite3_finalize(this.#stmt);
    this.#stmt = 0;
  }
}
