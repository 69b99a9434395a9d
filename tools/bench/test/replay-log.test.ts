import { describe, expect, test } from "vitest";
import { MemoryGlobals } from "@memkit/memory-globals";
import { allocLogEvents, registeredTargets, replayAllocLog, type ReplayTarget } from "../src/traces/replay-log.js";
import { decodeAllocLog } from "@memkit/memory-globals";
import { TraceKind } from "../src/traces/format.js";
import { liveProfile } from "../src/workloads.js";
import { traceOps } from "../src/traces/replay.js";

/** A small game's log: per-frame particle churn, a growing level, one 64-aligned and one large block. */
function recordGame(): Uint8Array {
  const memory = MemoryGlobals.init({ initialBytes: 8 << 20, record: true });
  const fx = memory.scope("fx");
  const level = memory.scope("level");
  const chunks: number[] = [];
  let grid = level.allocate(64, 64);
  for (let frame = 0; frame < 60; frame++) {
    const burst = Array.from({ length: 20 }, (_, i) => fx.allocate(16 + ((i * 37) % 200)));
    for (const p of burst) fx.deallocate(p);
    if (frame % 6 === 0) chunks.push(level.allocate(3000));
    grid = level.reallocate(grid, 64 + frame * 16, 64);
    memory.beginFrame();
  }
  const big = level.allocate(5000);
  level.deallocate(big);
  for (const c of chunks) level.deallocate(c);
  level.deallocate(grid);
  const bytes = memory.stopRecording("small game");
  memory.shutdown();
  return bytes;
}

describe("replaying memkit's allocation log", () => {
  const bytes = recordGame();

  test("the log's events become the trace format's: same ids, aligned allocations as ALIGNED", () => {
    const log = decodeAllocLog(bytes);
    const events = allocLogEvents(log);
    expect(events.count).toBe(log.count);
    expect(Array.from(events.ids)).toEqual(Array.from(log.ids));
    expect(events.kinds[0]).toBe(TraceKind.ALIGNED);
    expect(events.alignLog2[0]).toBe(6);
    expect(Array.from(events.kinds).filter((k) => k === TraceKind.REALLOC)).toHaveLength(60);
  });

  test("replays against generic and heap (ns/op, peak footprint, peak live), skips slot (blocks above 1 KiB), and takes a user's adapter", async () => {
    const user: ReplayTarget = { ...registeredTargets(["memkit-heap"])[0]!, id: "mine", label: "my allocator" };
    const { log, rows } = await replayAllocLog(bytes, [...registeredTargets(["memkit-generic", "memkit-heap", "memkit-slot"]), user], 1);
    expect(log.header.label).toBe("small game");
    const peakLive = liveProfile(traceOps(allocLogEvents(log))).peakLiveBytes;
    expect(rows.map((r) => r.id)).toEqual(["memkit-generic", "memkit-heap", "memkit-slot", "mine"]);
    for (const r of [rows[0]!, rows[1]!, rows[3]!]) {
      expect(r.run).toBeDefined();
      expect(r.run!.verifyErrors).toBe(0);
      expect(r.run!.ops).toBe(log.count);
      expect(r.run!.nsPerOp).toBeGreaterThan(0);
      expect(r.run!.peakLiveBytes).toBe(peakLive);
      expect(r.run!.peakFootprint).toBeGreaterThanOrEqual(peakLive);
    }
    expect(rows[2]!.skipped).toBe("serves blocks up to 1024 B; the log asks 5000 B");
  }, 120_000);
});
