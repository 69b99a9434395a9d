import type { MemoryGlobals } from "@memkit/memory-globals";
import { instantiateParticles } from "@memkit/wasm-modules";
import { PARTICLE_LAYOUT, type ParticleKernel, type Render } from "../game/render.js";

/**
 * The particle step in WebAssembly: samples/wasm-modules' AssemblyScript
 * module, instantiated on the game's memory (its heap is scope
 * "particles"), moves and ages the render scope's particles in place — the
 * StructArray's own bytes, which JS reads and writes too. Same arithmetic in
 * the same order as Render.moveParticles, so the game plays the same
 * (checksum). `bytes`: wasm/particles.wasm (Node: particlesWasm() from
 * "@memkit/wasm-modules/node"; a page fetches it).
 */
export function wasmParticleKernel(memory: MemoryGlobals, bytes: Uint8Array<ArrayBuffer>): ParticleKernel {
  const { exports } = instantiateParticles(memory, bytes);
  const { stride, x, y, vx, vy, life } = PARTICLE_LAYOUT;
  return (ptr, length, dt) => exports.moveParticles(ptr, length, stride, x, y, vx, vy, life, dt);
}

/** Time spent in the particle step: calls and milliseconds, summed. */
export interface ParticleTiming {
  calls: number;
  ms: number;
}

/** Wraps `render.moveParticles` (whichever kernel it runs) with a timer; returns the running totals. */
export function timeParticles(render: Render): ParticleTiming {
  const timing: ParticleTiming = { calls: 0, ms: 0 };
  const step = render.moveParticles.bind(render);
  render.moveParticles = (dt: number): void => {
    const start = performance.now();
    step(dt);
    timing.ms += performance.now() - start;
    timing.calls++;
  };
  return timing;
}
