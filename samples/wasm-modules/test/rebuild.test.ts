import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AS_BUILDS, compileParticles } from "../src/build/build-as.js";
import { SQLITE_C, SQLITE_EXPORTS, buildSqlite, hasToolchain } from "../src/build/build-c.js";
import { SQLITE_WASM } from "../src/build/paths.js";

describe("the committed .wasm files are what their sources build", () => {
  it("AssemblyScript: both builds of assembly/particles.ts, byte for byte", async () => {
    for (const build of AS_BUILDS) {
      const fresh = await compileParticles(build);
      expect(Buffer.from(fresh).equals(readFileSync(build.out)), `${build.out} is stale: run npm run build -w @memkit/wasm-modules`).toBe(true);
    }
  });

  it("the committed sqlite.wasm imports only env's memory and malloc family, and exports what the wrapper calls", () => {
    const module = new WebAssembly.Module(readFileSync(SQLITE_WASM));
    for (const i of WebAssembly.Module.imports(module)) {
      expect(i.module).toBe("env");
      expect(["memory", "malloc", "free", "calloc", "realloc", "aligned_alloc"]).toContain(i.name);
    }
    expect(WebAssembly.Module.exports(module).map((e) => e.name).sort()).toEqual([...SQLITE_EXPORTS].sort());
  });

  // Needs clang + wasi-libc and the amalgamation (npm run build:c fetches it); skipped on a bare machine.
  const canBuildC = hasToolchain() && existsSync(SQLITE_C);
  it.skipIf(!canBuildC)("C: SQLite + the glue rebuilt with clang, byte for byte", { timeout: 900_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "memkit-sqlite-test-"));
    try {
      const fresh = buildSqlite(join(dir, "sqlite.wasm"));
      expect(Buffer.from(fresh).equals(readFileSync(SQLITE_WASM)), "wasm/sqlite.wasm is stale: run npm run build:c -w @memkit/wasm-modules").toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
