// LD_PRELOAD allocation recorder: logs every malloc, calloc, realloc,
// reallocarray, free, posix_memalign, aligned_alloc and memalign of a process
// to a raw binary file that tools/bench's converter (src/traces/convert.ts)
// turns into a compact trace. Build: gcc -O2 -shared -fPIC -o recorder.so
// recorder.c -ldl -lpthread (record.sh does it).
//
// Environment:
//   MEMKIT_TRACE_OUT   output prefix; the file is "<prefix>.<pid>.raw" (a driver's children each get their own)
//   MEMKIT_TRACE_ONLY  record only a process of this name (e.g. cc1plus); others run untouched
//
// Raw record (32 bytes, little endian): u8 op, 3 pad, u32 align, u64 result,
// u64 old pointer (realloc, free), u64 size. Records of all threads go into
// one file, in the order their calls finished, under one lock; a free is
// recorded before the block is released, so no other thread can be handed
// the address and log it first.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OP_MALLOC = 1, OP_CALLOC = 2, OP_REALLOC = 3, OP_FREE = 4, OP_MEMALIGN = 5 };

struct record { uint8_t op, pad[3]; uint32_t align; uint64_t result, old, size; };

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

// dlsym may call calloc before real_calloc is known: serve it from here, never free it.
static char bootstrap[16384] __attribute__((aligned(16)));
static size_t bootstrap_used;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int inside; // this thread is in the recorder: don't record (or recurse)
static int state;           // 0 not set up, 1 resolving, 2 recording, 3 off
static int fd = -1;
static struct record buf[4096];
static size_t used;
static int flush_each; // after the destructor: write every record through

static void flush(void) {
  size_t bytes = used * sizeof(struct record), off = 0;
  while (off < bytes) {
    ssize_t n = write(fd, (char *)buf + off, bytes - off);
    if (n <= 0 && errno != EINTR) break;
    if (n > 0) off += (size_t)n;
  }
  used = 0;
}

// A forked child that does not exec would write into the parent's file: it stops recording.
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }
static void after_fork_child(void) {
  used = 0;
  state = 3;
  close(fd);
  pthread_mutex_unlock(&lock);
}

static void setup(void) {
  state = 1;
  real_malloc = dlsym(RTLD_NEXT, "malloc");
  real_calloc = dlsym(RTLD_NEXT, "calloc");
  real_realloc = dlsym(RTLD_NEXT, "realloc");
  real_free = dlsym(RTLD_NEXT, "free");
  real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
  real_memalign = dlsym(RTLD_NEXT, "memalign");
  const char *out = getenv("MEMKIT_TRACE_OUT"), *only = getenv("MEMKIT_TRACE_ONLY");
  extern char *program_invocation_short_name;
  if (!out || (only && strcmp(only, program_invocation_short_name) != 0)) { state = 3; return; }
  char path[4096];
  snprintf(path, sizeof path, "%s.%d.raw", out, (int)getpid());
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  state = fd < 0 ? 3 : 2;
}

// Runs the real call, then logs it, all under the lock (so the log order is the heap's order).
#define ENTER() \
  if (state == 0) { pthread_mutex_lock(&lock); inside = 1; if (state == 0) setup(); inside = 0; pthread_mutex_unlock(&lock); } \
  int rec = state == 2 && !inside; \
  if (rec) { pthread_mutex_lock(&lock); inside = 1; }
#define LEAVE(o, r, p, n, a) \
  if (rec) { \
    struct record *x = &buf[used++]; \
    x->op = o; x->align = (uint32_t)(a); x->result = (uint64_t)(uintptr_t)(r); x->old = (uint64_t)(uintptr_t)(p); x->size = (uint64_t)(n); \
    if (used == sizeof buf / sizeof buf[0] || flush_each) flush(); \
    inside = 0; pthread_mutex_unlock(&lock); \
  }

// Storage for calls made while the real functions are being looked up (dlsym allocates).
static void *bootstrap_alloc(size_t n) {
  size_t bytes = (n + 15) & ~(size_t)15;
  if (bootstrap_used + bytes > sizeof bootstrap) return NULL;
  void *r = bootstrap + bootstrap_used;
  bootstrap_used += bytes;
  return r; // static storage: already zero
}

void *malloc(size_t n) {
  if (state == 1 && !real_malloc) return bootstrap_alloc(n);
  ENTER();
  void *r = real_malloc(n);
  LEAVE(OP_MALLOC, r, 0, n, 0);
  return r;
}

void *calloc(size_t k, size_t n) {
  if (state == 1 && !real_calloc) return bootstrap_alloc(k * n); // dlsym's own calloc, during setup
  ENTER();
  void *r = real_calloc(k, n);
  LEAVE(OP_CALLOC, r, 0, k * n, 0);
  return r;
}

static int from_bootstrap(void *p) { return (char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap; }

void *realloc(void *p, size_t n) {
  if (from_bootstrap(p)) { // never happens in practice; keep it correct anyway
    void *r = malloc(n);
    if (r) memcpy(r, p, n < sizeof bootstrap ? n : sizeof bootstrap);
    return r;
  }
  ENTER();
  void *r = real_realloc(p, n);
  LEAVE(OP_REALLOC, r, p, n, 0);
  return r;
}

void *reallocarray(void *p, size_t k, size_t n) {
  if (n && k > SIZE_MAX / n) { errno = ENOMEM; return NULL; }
  return realloc(p, k * n);
}

void free(void *p) {
  if (!p || from_bootstrap(p)) return;
  ENTER();
  // Logged before the real free: once released, another thread may get the address.
  LEAVE(OP_FREE, 0, p, 0, 0);
  real_free(p);
}

int posix_memalign(void **out, size_t a, size_t n) {
  ENTER();
  int e = real_posix_memalign(out, a, n);
  LEAVE(OP_MEMALIGN, e == 0 ? *out : 0, 0, n, a);
  return e;
}

void *aligned_alloc(size_t a, size_t n) {
  ENTER();
  void *r = real_aligned_alloc(a, n);
  LEAVE(OP_MEMALIGN, r, 0, n, a);
  return r;
}

void *memalign(size_t a, size_t n) {
  ENTER();
  void *r = real_memalign(a, n);
  LEAVE(OP_MEMALIGN, r, 0, n, a);
  return r;
}

__attribute__((destructor)) static void finish(void) {
  pthread_mutex_lock(&lock);
  if (state == 2) { flush(); flush_each = 1; } // frees after this point still reach the file
  pthread_mutex_unlock(&lock);
}
