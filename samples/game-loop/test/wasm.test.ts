import { describe, expect, test } from "vitest";
import { MemoryGlobals } from "@memkit/memory-globals";
import { particlesWasm } from "@memkit/wasm-modules/node";
import { MemkitGame, UsageError, parseGameArgs } from "../src/index.js";
import { wasmParticleKernel } from "../src/wasm/wasm-particles.js";
import { PARTICLE_LAYOUT } from "../src/game/render.js";
import { SMALL, runCli } from "./helpers.js";

describe("--wasm: the particle step in WebAssembly", () => {
  test("plays the same game as the JS path (checksum), and prints both particle-step times", async () => {
    const r = await runCli([...SMALL, "--frames", "120", "--wasm", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = /checksum: JS (0x[0-9a-f]{8}), wasm (0x[0-9a-f]{8}): the same game/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    expect(r.stdout).toMatch(/particle step per frame \(every frame played\): JS [\d.]+ ms, wasm [\d.]+ ms \(wasm\/JS [\d.]+x\)/);
    expect(r.stdout).toContain("Shutdown: clean");
    // The plain run plays that game too.
    const plain = await runCli([...SMALL, "--frames", "120", "--quiet"]);
    expect(/checksum (0x[0-9a-f]{8})/.exec(plain.stdout)![1]).toBe(m![1]);
  });

  test("JS and wasm move the same particle blocks: after each frame the render scope's bytes are identical", () => {
    // Two games with the same seed, one memory each in turn: record the particle bytes frame by frame.
    const record = (wasm: boolean): Uint8Array[] => {
      const memory = MemoryGlobals.init({ initialBytes: 64 << 20 });
      const game = new MemkitGame(memory, { frames: 90, entities: 300, seed: 3, leak: false });
      if (wasm) game.render.particleKernel = wasmParticleKernel(memory, particlesWasm());
      const frames: Uint8Array[] = [];
      let sawParticles = false;
      try {
        for (let step = 0; !game.loadFrame(step); step++) memory.beginFrame();
        for (let f = 0; f < 90; f++) {
          memory.beginFrame();
          game.playFrame();
          const p = game.render.particles;
          if (p.length > 0) sawParticles = true;
          frames.push(memory.space.u8.slice(p.ptr, p.ptr + p.length * PARTICLE_LAYOUT.stride));
        }
        for (let step = 0; !game.unloadFrame(step); step++) memory.beginFrame();
      } finally {
        game[Symbol.dispose]();
        memory.shutdown();
      }
      expect(sawParticles).toBe(true);
      return frames;
    };
    const js = record(false);
    const wasm = record(true);
    expect(wasm.length).toBe(js.length);
    for (let f = 0; f < js.length; f++) expect(wasm[f]).toEqual(js[f]);
  });

  test("usage: not with --baseline, --compare, --workers or --save", () => {
    expect(parseGameArgs(["--wasm"]).wasm).toBe(true);
    expect(parseGameArgs([]).wasm).toBe(false);
    for (const extra of [["--baseline"], ["--compare"], ["--workers", "2"], ["--save", "x"]]) {
      expect(() => parseGameArgs(["--wasm", ...extra])).toThrow(UsageError);
    }
  });
});
