// Builds the C module: SQLite (the amalgamation from the better-sqlite3 npm
// tarball) plus c/sqlite-memkit.c, with Debian's clang + lld + wasi-libc:
//
//   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
//   npm run build:c -w @memkit/wasm-modules
//
// The amalgamation is fetched with `npm pack better-sqlite3@SQLITE_NPM_VERSION`
// into c/.sqlite/ (not committed: 9 MB). The output, wasm/sqlite.wasm, is
// committed, so `npm test` needs no C toolchain.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_ROOT, SQLITE_WASM } from "./paths.js";
import { SQLITE_GLOBAL_BASE, SQLITE_STACK_BYTES } from "./layout.js";

/** better-sqlite3's version whose deps/sqlite3 is built (it ships SQLite 3.54.1). */
export const SQLITE_NPM_VERSION = "13.2.0";
export const SQLITE_DIR: string = join(PACKAGE_ROOT, "c", ".sqlite");
export const SQLITE_C: string = join(SQLITE_DIR, "sqlite3.c");
export const GLUE_C: string = join(PACKAGE_ROOT, "c", "sqlite-memkit.c");

/** SQLite without files, threads or extensions: in-memory databases on an imported heap. */
export const SQLITE_DEFINES: readonly string[] = [
  "SQLITE_OS_OTHER=1",
  "SQLITE_THREADSAFE=0",
  "SQLITE_TEMP_STORE=3",
  "SQLITE_OMIT_LOAD_EXTENSION",
  "SQLITE_OMIT_LOCALTIME",
  "SQLITE_OMIT_DEPRECATED",
  "SQLITE_OMIT_SHARED_CACHE",
  "SQLITE_OMIT_WAL",
  "SQLITE_DQS=0",
];

/** What JS calls. */
export const SQLITE_EXPORTS: readonly string[] = [
  "memkit_sqlite_init",
  "memkit_sqlite_memory_used",
  "sqlite3_open",
  "sqlite3_close",
  "sqlite3_exec",
  "sqlite3_prepare_v2",
  "sqlite3_step",
  "sqlite3_reset",
  "sqlite3_finalize",
  "sqlite3_bind_int",
  "sqlite3_bind_double",
  "sqlite3_bind_text",
  "sqlite3_column_int",
  "sqlite3_column_double",
  "sqlite3_column_text",
  "sqlite3_errmsg",
  "sqlite3_changes",
  "__heap_base",
];

/** The link flags memkit needs (README "WebAssembly modules"): the imported memory, data and stack at a fixed place in the static region, __heap_base visible. */
export const LINK_FLAGS: readonly string[] = [
  "-nostartfiles",
  "-Wl,--no-entry",
  "-Wl,--import-memory",
  `-Wl,--global-base=${SQLITE_GLOBAL_BASE}`,
  `-Wl,-z,stack-size=${SQLITE_STACK_BYTES}`,
  ...SQLITE_EXPORTS.map((name) => `-Wl,--export=${name}`),
];

/** Whether clang can build wasm32 here (clang on PATH and wasi-libc installed). */
export function hasToolchain(): boolean {
  try {
    execFileSync("clang", ["--version"], { stdio: "ignore" });
  } catch {
    return false;
  }
  return existsSync("/usr/lib/wasm32-wasi/libc.a") || existsSync("/usr/share/wasi-sysroot");
}

/** Fetches the amalgamation into c/.sqlite/ with npm (unless it is there). */
export function fetchAmalgamation(): void {
  if (existsSync(SQLITE_C)) return;
  const tmp = mkdtempSync(join(tmpdir(), "memkit-sqlite-"));
  try {
    const tarball = execFileSync("npm", ["pack", `better-sqlite3@${SQLITE_NPM_VERSION}`, "--silent", "--pack-destination", tmp], { encoding: "utf8" }).trim().split("\n").pop()!;
    execFileSync("tar", ["xzf", join(tmp, tarball), "-C", tmp, "package/deps/sqlite3/sqlite3.c", "package/deps/sqlite3/sqlite3.h"]);
    mkdirSync(SQLITE_DIR, { recursive: true });
    renameSync(join(tmp, "package/deps/sqlite3/sqlite3.h"), join(SQLITE_DIR, "sqlite3.h"));
    renameSync(join(tmp, "package/deps/sqlite3/sqlite3.c"), SQLITE_C);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Compiles and links into `out` (default wasm/sqlite.wasm); returns the bytes. Needs the amalgamation (fetchAmalgamation). */
export function buildSqlite(out: string = SQLITE_WASM): Uint8Array {
  const work = mkdtempSync(join(tmpdir(), "memkit-sqlite-build-"));
  // clang runs wasm-opt after linking when one is on PATH, and npm puts binaryen's (an assemblyscript
  // dependency) there: keep node_modules/.bin off PATH so the output is clang + lld's alone, the same everywhere.
  const env = { ...process.env, PATH: (process.env.PATH ?? "").split(delimiter).filter((dir) => !/node_modules[\\/]\.bin/.test(dir)).join(delimiter) };
  try {
    const cflags = ["--target=wasm32-wasi", "-O2", ...SQLITE_DEFINES.map((d) => `-D${d}`), "-I", "c/.sqlite"];
    // Relative paths from the package root: nothing of this machine ends up in the binary.
    execFileSync("clang", [...cflags, "-c", "c/.sqlite/sqlite3.c", "-o", join(work, "sqlite3.o")], { cwd: PACKAGE_ROOT, stdio: "inherit", env });
    execFileSync("clang", [...cflags, "-Wall", "-Wextra", "-c", "c/sqlite-memkit.c", "-o", join(work, "glue.o")], { cwd: PACKAGE_ROOT, stdio: "inherit", env });
    execFileSync("clang", ["--target=wasm32-wasi", "-O2", ...LINK_FLAGS, join(work, "sqlite3.o"), join(work, "glue.o"), "-o", out], { cwd: PACKAGE_ROOT, stdio: "inherit", env });
    return readFileSync(out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!hasToolchain()) {
    console.error("build:c needs clang, lld and wasi-libc: apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32");
    process.exitCode = 1;
  } else {
    fetchAmalgamation();
    const started = performance.now();
    const bytes = buildSqlite();
    console.log(`wasm-modules: wrote ${SQLITE_WASM} (${bytes.length} bytes) in ${Math.round((performance.now() - started) / 1000)} s`);
  }
}
