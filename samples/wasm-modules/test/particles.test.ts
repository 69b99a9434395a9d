import { afterEach, describe, expect, it } from "vitest";
import { InvalidPointerError, LeakError } from "@memkit/core";
import { MemoryGlobals } from "@memkit/memory-globals";
import { StructArray, defineStruct } from "@memkit/containers";
import { WASM_STATIC_BYTES, instantiateParticles, instantiateParticlesTlsf } from "@memkit/wasm-modules";
import { particlesTlsfWasm, particlesWasm } from "@memkit/wasm-modules/node";

afterEach(() => {
  const memory = MemoryGlobals.current;
  if (memory === undefined) return;
  try {
    memory.shutdown();
  } catch {
    // the leak test asserted what it needed
  }
});

const options = { initialBytes: 4 << 20, maximumBytes: 256 << 20, wasmStaticBytes: WASM_STATIC_BYTES };
const Particle = defineStruct({ x: "f64", y: "f64", vx: "f64", vy: "f64", life: "f64", color: "u8" });

describe("the AssemblyScript module on memkit's heap", () => {
  it("allocates through its scope: counted, freed, a foreign free is the typed error", () => {
    const memory = MemoryGlobals.init(options);
    const { exports, heap } = instantiateParticles(memory, particlesWasm());
    const p = exports.alloc(100) >>> 0;
    expect(heap.scope.path).toBe("root/particles");
    expect(heap.scope.stats().liveBytes).toBe(100);
    memory.space.f64.set([1.5, 2.5, 3], p >>> 3);
    expect(exports.sumF64(p, 3)).toBe(7); // wasm reads what JS wrote
    const js = memory.scope("js").allocate(16);
    expect(() => exports.release(js)).toThrow(InvalidPointerError);
    exports.release(p);
    expect(heap.scope.stats().liveBytes).toBe(0);
    memory.openScope("js").deallocate(js);
  });

  it("its churn loop frees all it allocates; a block it forgets is a LeakError naming the scope", () => {
    const memory = MemoryGlobals.init(options);
    const { exports, heap } = instantiateParticles(memory, particlesWasm());
    const slots = memory.default.allocate(64 * 4, 4);
    exports.churn(50, 64, 200, slots);
    expect(heap.scope.stats().allocCount).toBe(50 * 64);
    expect(heap.scope.stats().liveBytes).toBe(0);
    expect(heap.scope.stats().peakLiveBytes).toBeGreaterThan(64 * 16);
    memory.default.deallocate(slots);
    exports.alloc(48);
    expect(() => memory.shutdown()).toThrow(LeakError);
    expect(memory.report().children.find((c) => c.path === "root/particles")!.liveBytes).toBe(48);
  });

  it("moveParticles over a StructArray's bytes gives the JS loop's results bit for bit", () => {
    const memory = MemoryGlobals.init(options);
    const { exports } = instantiateParticles(memory, particlesWasm());
    const scope = memory.scope("render");
    const make = (): StructArray<typeof Particle> => {
      const a = new StructArray(scope, Particle, { capacity: 512 });
      for (let i = 0; i < 500; i++) {
        const k = a.push();
        a.field("x").set(k, i * 1.25);
        a.field("y").set(k, -i * 0.5);
        a.field("vx").set(k, Math.cos(i) * 40);
        a.field("vy").set(k, Math.sin(i) * 40);
        a.field("life").set(k, 0.05 + (i % 13) * 0.025);
        a.field("color").set(k, i & 7);
      }
      return a;
    };
    const js = make();
    const wasm = make();
    const stride = Particle.size;
    const off = (f: "x" | "y" | "vx" | "vy" | "life"): number => Particle.offsetOf(f);
    for (let frame = 0; frame < 20; frame++) {
      const dt = 1 / 60;
      // The JS loop, as samples/game-loop's Render.moveParticles.
      for (let i = 0; i < js.length; ) {
        const life = js.field("life").get(i) - dt;
        if (life <= 0) {
          js.swapRemove(i);
          continue;
        }
        js.field("life").set(i, life);
        const vx = js.field("vx").get(i) * 0.96;
        const vy = js.field("vy").get(i) * 0.96;
        js.field("vx").set(i, vx);
        js.field("vy").set(i, vy);
        js.field("x").set(i, js.field("x").get(i) + vx * dt);
        js.field("y").set(i, js.field("y").get(i) + vy * dt);
        i++;
      }
      wasm.resize(exports.moveParticles(wasm.ptr, wasm.length, stride, off("x"), off("y"), off("vx"), off("vy"), off("life"), dt));
      expect(wasm.length).toBe(js.length);
      const u8 = memory.space.u8;
      expect(u8.subarray(wasm.ptr, wasm.ptr + wasm.length * stride)).toEqual(u8.subarray(js.ptr, js.ptr + js.length * stride));
    }
    expect(js.length).toBeGreaterThan(0);
    expect(js.length).toBeLessThan(500);
    js.dispose();
    wasm.dispose();
  });

  it("the TLSF build runs the same code on AssemblyScript's own heap, in its own memory", () => {
    const { exports, memory } = instantiateParticlesTlsf(particlesTlsfWasm());
    const slots = exports.alloc(64 * 4);
    expect(exports.churn(10, 64, 200, slots)).not.toBe(0);
    exports.release(slots);
    expect(memory.buffer.byteLength).toBeGreaterThan(0);
  });
});
