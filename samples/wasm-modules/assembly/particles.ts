/* eslint-disable @typescript-eslint/no-unnecessary-type-assertion -- AssemblyScript, not TypeScript: i32, usize and f64 are distinct types to asc, and these casts choose the machine type. */
// The AssemblyScript module of the sample: a particle integrator that works
// in place on a StructArray's bytes (JS and wasm share the memory), and a
// malloc/free churn for the bench. Built twice from this one source
// (scripts: src/build/build-as.ts):
//
// - particles.wasm: BUILTIN_HEAP=0, runtime "stub", --importMemory. Its heap
//   is memkit's: every block comes from env.malloc / env.free, i.e. a memkit
//   scope. It never allocates managed objects (no `new`, no runtime strings),
//   so the stub's own bump allocator — which would claim memory from
//   __heap_base up, memkit's memory — is never linked (the build checks the
//   binary has no memory.grow).
// - particles-tlsf.wasm: BUILTIN_HEAP=1, runtime "minimal": the same code on
//   AssemblyScript's own TLSF heap, in a memory of its own (the bench's peer).

import { free, malloc } from "./env";

// BUILTIN_HEAP is a compile-time constant the build sets (--use BUILTIN_HEAP=0|1): the other branch is not compiled in.

/**
 * Moves and ages the particles of a StructArray in place, as the game's JS
 * path (samples/game-loop render.ts moveParticles) does, bit for bit: life
 * -= dt; an expired particle is replaced by the last one (swapRemove: its
 * record's bytes are copied over) and the length drops; else velocity *=
 * 0.96 and position += velocity * dt. Offsets are the fields' byte offsets
 * in a record of `stride` bytes (all f64). Returns the new length.
 */
export function moveParticles(base: usize, length: i32, stride: i32, x: i32, y: i32, vx: i32, vy: i32, life: i32, dt: f64): i32 {
  let i = 0;
  while (i < length) {
    const o = base + <usize>i * <usize>stride;
    const left = load<f64>(o + life) - dt;
    if (left <= 0) {
      length--;
      if (i != length) memory.copy(o, base + <usize>length * <usize>stride, <usize>stride);
      continue;
    }
    store<f64>(o + life, left);
    const nvx = load<f64>(o + vx) * 0.96;
    const nvy = load<f64>(o + vy) * 0.96;
    store<f64>(o + vx, nvx);
    store<f64>(o + vy, nvy);
    store<f64>(o + x, load<f64>(o + x) + nvx * dt);
    store<f64>(o + y, load<f64>(o + y) + nvy * dt);
    i++;
  }
  return length;
}

/** One block of `size` bytes from the module's heap: memkit's (env.malloc) or its own TLSF. */
export function alloc(size: usize): usize {
  // @ts-expect-error: BUILTIN_HEAP comes from the build's --use
  return BUILTIN_HEAP ? heap.alloc(size) : malloc(size);
}

export function release(ptr: usize): void {
  // @ts-expect-error: BUILTIN_HEAP comes from the build's --use
  if (BUILTIN_HEAP) heap.free(ptr);
  else free(ptr);
}

/**
 * The bench's loop, all in wasm: `rounds` times, allocate `batch` blocks of
 * sizes cycling through 16..16+`spread`, touch each, free them in order.
 * Returns a checksum of the pointers so nothing is optimised away.
 */
export function churn(rounds: i32, batch: i32, spread: i32, slots: usize): u32 {
  let sum: u32 = 0;
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < batch; k++) {
      const size = <usize>(16 + ((r * 31 + k * 7) % spread));
      const p = alloc(size);
      store<u8>(p, <u8>k);
      store<usize>(slots + (<usize>k << alignof<usize>()), p);
      sum += <u32>p;
    }
    for (let k = 0; k < batch; k++) release(load<usize>(slots + (<usize>k << alignof<usize>())));
  }
  return sum;
}

/** Sums `count` f64 values at `ptr` (JS wrote them): the smallest proof both sides read the same bytes. */
export function sumF64(ptr: usize, count: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < count; i++) s += load<f64>(ptr + (<usize>i << 3));
  return s;
}
