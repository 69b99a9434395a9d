import { hex } from "@memkit/core";
import { particlesWasm } from "@memkit/wasm-modules/node";
import type { GameArgs } from "../cli-args.js";
import { runMemkit, type MemkitRun } from "../memkit-run.js";
import type { GcObserver } from "../stats/gc-observer.js";
import type { ProgressStream } from "../stats/progress.js";
import { timeParticles, wasmParticleKernel, type ParticleTiming } from "./wasm-particles.js";

/** `--wasm`: the memkit game played twice, particles in JS then in wasm, with the particle step timed in both. */
export interface WasmComparison {
  js: MemkitRun;
  wasm: MemkitRun;
  jsParticles: ParticleTiming;
  wasmParticles: ParticleTiming;
}

/** Plays the memkit game with the JS particle step, then again with the wasm one (same seed and options). */
export async function runWasmComparison(args: GameArgs, gc: GcObserver, progress: ProgressStream | undefined, saved?: Uint8Array): Promise<WasmComparison> {
  let jsParticles: ParticleTiming = { calls: 0, ms: 0 };
  const js = await runMemkit(args, gc, progress, saved, {
    label: "memkit (JS particles)",
    onGame: (game) => (jsParticles = timeParticles(game.render)),
  });
  if (js.leak !== undefined) return { js, wasm: js, jsParticles, wasmParticles: jsParticles };
  const bytes = particlesWasm();
  let wasmParticles: ParticleTiming = { calls: 0, ms: 0 };
  const wasm = await runMemkit(args, gc, progress, saved, {
    label: "memkit (wasm particles)",
    onGame: (game, memory) => {
      game.render.particleKernel = wasmParticleKernel(memory, bytes);
      wasmParticles = timeParticles(game.render);
    },
  });
  return { js, wasm, jsParticles, wasmParticles };
}

/** The comparison's lines; `same` is false when the two runs played different games. */
export function formatWasmComparison(c: WasmComparison): { text: string; same: boolean } {
  const same = c.js.summary.checksum === c.wasm.summary.checksum && c.js.summary.died === c.wasm.summary.died;
  const perCall = (t: ParticleTiming): number => t.ms / Math.max(1, t.calls);
  const jsStep = perCall(c.jsParticles);
  const wasmStep = perCall(c.wasmParticles);
  const frame = (r: MemkitRun): number => r.play.times.totalMs / Math.max(1, r.play.times.frames);
  const text = [
    `Particles in WebAssembly (samples/wasm-modules' AssemblyScript module on the game's memory, scope root/particles) vs JS:`,
    `  checksum: JS ${hex(c.js.summary.checksum)}, wasm ${hex(c.wasm.summary.checksum)}: ${same ? "the same game" : "DIFFERENT games (a bug)"}`,
    `  particle step per frame (every frame played): JS ${jsStep.toFixed(4)} ms, wasm ${wasmStep.toFixed(4)} ms (wasm/JS ${(wasmStep / Math.max(jsStep, 1e-9)).toFixed(2)}x)`,
    `  whole frame (play, mean): JS ${frame(c.js).toFixed(3)} ms, wasm ${frame(c.wasm).toFixed(3)} ms`,
  ].join("\n");
  return { text, same };
}
