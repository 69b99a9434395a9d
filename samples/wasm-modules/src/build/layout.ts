/**
 * Where the sample's modules keep their static data and stacks: inside the
 * region `MemoryGlobals.init({ wasmStaticBytes: WASM_STATIC_BYTES })` keeps
 * clear, `[NULL_GUARD_BYTES (4096), 4096 + WASM_STATIC_BYTES)`. Each module
 * is linked at its own base, so both can live in one memory.
 *
 *   0x1000   sqlite.wasm: data (~120 KiB), then its 64 KiB stack   (clang -Wl,--global-base=4096)
 *   0x40000  particles.wasm: data, if any (no stack: AssemblyScript's stub runtime keeps none)  (asc --memoryBase 262144)
 *   0x80000  end of the region: memkit's bootstrap region follows
 */
export const WASM_STATIC_BYTES = 0x80000 - 4096;
export const SQLITE_GLOBAL_BASE = 4096;
export const SQLITE_STACK_BYTES = 64 * 1024;
export const PARTICLES_MEMORY_BASE = 0x40000;
