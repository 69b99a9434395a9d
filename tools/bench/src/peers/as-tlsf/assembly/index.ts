// AssemblyScript, not TypeScript: compiled to wasm by ../build.ts with asc
// (-O3 --runtime incremental --noAssert --importMemory). It exposes
// AssemblyScript's own TLSF heap (std/assembly/rt/tlsf.ts, what `heap.alloc`
// calls under the incremental runtime) so the benchmark can call it from JS
// like any other allocator. The memory is imported (env.memory), reserved up
// front by the bench; TLSF would grow it (doubling) if no free block fit.

/** Allocates `size` bytes from the TLSF heap; returns the block's address (16-aligned). */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** Frees a block returned by alloc or realloc. */
export function free(ptr: usize): void {
  heap.free(ptr);
}

/** Resizes a block (in place when the next block is free), keeping its contents. */
export function realloc(ptr: usize, size: usize): usize {
  return heap.realloc(ptr, size);
}

/** First byte after the module's static data: where the TLSF heap starts. */
export function heapBase(): usize {
  return __heap_base;
}
