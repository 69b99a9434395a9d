import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { MemoryGlobals } from "@memkit/memory-globals";
import { EXIT_OK, EXIT_USAGE, mainAsync, type CliIo } from "../src/index.js";

/*
 * `memreport replay run.mlog`: a log recorded from a small game, replayed
 * against memkit's generic, heap and slot allocators and AS TLSF through
 * tools/bench; the table has a row per allocator with figures or the reason
 * it has none (AS TLSF's wasm is built by `npm run build:wasm -w tools/bench`).
 */

const dir = mkdtempSync(join(tmpdir(), "memreport-replay-"));

function record(): string {
  const memory = MemoryGlobals.init({ initialBytes: 8 << 20, record: true });
  const fx = memory.scope("fx");
  for (let frame = 0; frame < 40; frame++) {
    const burst = Array.from({ length: 16 }, (_, i) => fx.allocate(24 + i * 8));
    for (const p of burst) fx.deallocate(p);
    memory.beginFrame();
  }
  const path = join(dir, "run.mlog");
  writeFileSync(path, memory.stopRecording("particles"));
  memory.shutdown();
  return path;
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = { code: -1, out: "", err: "" };
  const io: CliIo = { stdout: (t) => void (r.out += t), stderr: (t) => void (r.err += t), writeFile: () => undefined };
  r.code = await mainAsync(argv, io);
  return r;
}

describe("memreport replay", () => {
  test("prints the side-by-side table for a recorded log", async () => {
    const r = await run("replay", "--runs", "1", record());
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('"particles", 1,280 events in 1 scopes over 40 frames, median of 1 timed run each');
    const lines = r.out.split("\n");
    expect(lines[1]).toMatch(/^allocator +ns\/op +vs AS TLSF +peak footprint +peak live +fragmentation +note$/);
    for (const label of ["memkit generic", "memkit heap (TLSF)", "memkit slot", "AS TLSF (wasm)"]) {
      const row = lines.find((l) => l.startsWith(label));
      expect(row, label).toBeDefined();
      // Figures (ns/op, footprint, live, fragmentation), or the reason there are none.
      expect(row!).toMatch(/ \d+\.\d +(\d+\.\d\dx +)?[\d.]+ (B|KiB|MiB) +1\.3\d KiB +\d+\.\d%|not built yet/);
    }
  }, 120_000);

  test("a file that is not a log, and bad usage, exit 2 with a message", async () => {
    const bad = join(dir, "bad.mlog");
    writeFileSync(bad, "MKTR\u0001xx");
    const r = await run("replay", bad);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain('allocation log: not an allocation log: it does not start with "MKAL"');
    expect((await run("replay")).code).toBe(EXIT_USAGE);
    expect((await run("replay", "--runs", "0", bad)).code).toBe(EXIT_USAGE);
    expect((await run("replay", join(dir, "missing.mlog"))).err).toContain("cannot read the allocation log");
  });
});
