/*
 * SQLite on memkit's heap: the glue between the SQLite amalgamation and the
 * imports of `memory.wasmImports("sqlite")`.
 *
 * - SQLite's allocator (SQLITE_CONFIG_MALLOC) calls env.malloc / env.free /
 *   env.realloc, so every byte SQLite allocates is a block of the scope.
 *   SQLite asks a block's size back (xSize); memkit's imports are C's malloc,
 *   which cannot answer, so each block starts with an 8-byte size header, as
 *   SQLite's own mem1.c does where malloc_usable_size is missing.
 * - C's malloc/free/calloc/realloc are defined here over the same imports, so
 *   nothing links wasi-libc's dlmalloc (which would claim memory from
 *   __heap_base upwards: memkit's memory).
 * - SQLITE_OS_OTHER: no files, no threads; a VFS that opens nothing is enough
 *   for ":memory:" databases (temp storage stays in memory too).
 */
#include <stddef.h>
#include <string.h>
#include "sqlite3.h"

#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))
IMPORT("malloc") void *memkit_malloc(size_t size);
IMPORT("free") void memkit_free(void *ptr);
IMPORT("calloc") void *memkit_calloc(size_t count, size_t size);
IMPORT("realloc") void *memkit_realloc(void *ptr, size_t size);
IMPORT("aligned_alloc") void *memkit_aligned_alloc(size_t align, size_t size);

void *malloc(size_t size) { return memkit_malloc(size); }
void free(void *ptr) { memkit_free(ptr); }
void *calloc(size_t count, size_t size) { return memkit_calloc(count, size); }
void *realloc(void *ptr, size_t size) { return memkit_realloc(ptr, size); }
void *aligned_alloc(size_t align, size_t size) { return memkit_aligned_alloc(align, size); }

/* ---- SQLITE_CONFIG_MALLOC over memkit ---- */

static void *sqliteMalloc(int n) {
  sqlite3_int64 *p = memkit_malloc((size_t)n + 8);
  if (p == 0) return 0;
  p[0] = n;
  return p + 1;
}
static void sqliteFree(void *p) {
  if (p != 0) memkit_free((sqlite3_int64 *)p - 1);
}
static void *sqliteRealloc(void *p, int n) {
  sqlite3_int64 *q = memkit_realloc((sqlite3_int64 *)p - 1, (size_t)n + 8);
  if (q == 0) return 0;
  q[0] = n;
  return q + 1;
}
static int sqliteSize(void *p) { return p == 0 ? 0 : (int)((sqlite3_int64 *)p)[-1]; }
static int sqliteRoundup(int n) { return (n + 7) & ~7; }
static int sqliteMemInit(void *unused) { (void)unused; return SQLITE_OK; }
static void sqliteMemShutdown(void *unused) { (void)unused; }

static const sqlite3_mem_methods memkitMethods = {
  sqliteMalloc, sqliteFree, sqliteRealloc, sqliteSize, sqliteRoundup, sqliteMemInit, sqliteMemShutdown, 0,
};

/* ---- a VFS for in-memory databases only ---- */

static int vfsOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *outFlags) {
  (void)vfs; (void)name; (void)file; (void)flags; (void)outFlags;
  return SQLITE_CANTOPEN;
}
static int vfsDelete(sqlite3_vfs *vfs, const char *name, int syncDir) { (void)vfs; (void)name; (void)syncDir; return SQLITE_IOERR_DELETE; }
static int vfsAccess(sqlite3_vfs *vfs, const char *name, int flags, int *out) { (void)vfs; (void)name; (void)flags; *out = 0; return SQLITE_OK; }
static int vfsFullPathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  sqlite3_snprintf(n, out, "%s", name);
  return SQLITE_OK;
}
/* Deterministic: SQLite uses randomness for temp names and rowids past the maximum; a game wants reproducible runs. */
static int vfsRandomness(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  for (int i = 0; i < n; i++) out[i] = (char)(i * 131 + 7);
  return n;
}
static int vfsSleep(sqlite3_vfs *vfs, int micros) { (void)vfs; return micros; }
static int vfsCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
  (void)vfs;
  *out = (sqlite3_int64)2440587.5 * 86400000; /* the Unix epoch as a Julian day in ms: no clock import */
  return SQLITE_OK;
}
static int vfsCurrentTime(sqlite3_vfs *vfs, double *out) {
  sqlite3_int64 ms;
  vfsCurrentTimeInt64(vfs, &ms);
  *out = ms / 86400000.0;
  return SQLITE_OK;
}
static int vfsGetLastError(sqlite3_vfs *vfs, int n, char *out) { (void)vfs; (void)n; (void)out; return 0; }

static sqlite3_vfs memoryOnlyVfs = {
  2, sizeof(sqlite3_file), 512, 0, "memkit-memory", 0,
  vfsOpen, vfsDelete, vfsAccess, vfsFullPathname, 0, 0, 0, 0,
  vfsRandomness, vfsSleep, vfsCurrentTime, vfsGetLastError, vfsCurrentTimeInt64, 0, 0, 0,
};

int sqlite3_os_init(void) { return sqlite3_vfs_register(&memoryOnlyVfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

/* Routes SQLite's heap to memkit and initialises SQLite; call once before anything else. */
int memkit_sqlite_init(void) {
  int rc = sqlite3_config(SQLITE_CONFIG_MALLOC, &memkitMethods);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_initialize();
}

/* sqlite3_memory_used as a double (JS reads an i64 export as a BigInt). */
double memkit_sqlite_memory_used(void) { return (double)sqlite3_memory_used(); }
