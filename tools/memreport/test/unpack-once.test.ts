import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nextMessage, startWorkers } from "@memkit/test-workers";
import { DONE_MARKER, unpackOnce } from "../src/unpack-once.js";

interface Report {
  id: number;
  filled: boolean;
  whole: boolean;
  by: string;
}

describe("unpackOnce", () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "memkit-unpack-test-"));
    dir = join(root, "chromium-x");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** What is beside the published folder: staging and set-aside folders must all be gone. */
  const leftovers = (): string[] => readdirSync(root).filter((name) => name !== "chromium-x");

  it("publishes one whole folder when four threads fill it at once, and each reads it whole", async () => {
    const jobs = [0, 1, 2, 3].map((id) => ({ dir, id, slices: 24, sliceBytes: 64 << 10 }));
    const run = await startWorkers(new URL("./fixtures/unpack-worker.ts", import.meta.url), jobs);
    const reports = await Promise.all(run.workers.map((w) => nextMessage<Report>(w)));
    await run.exited;
    expect(reports.every((r) => r.whole)).toBe(true);
    // All of them saw the same publisher's folder, and it is one that really filled.
    const by = readFileSync(join(dir, "by"), "utf8");
    expect(reports.map((r) => r.by)).toEqual([by, by, by, by]);
    expect(reports.find((r) => String(r.id) === by)?.filled).toBe(true);
    expect(readFileSync(join(dir, DONE_MARKER), "utf8")).toBe("test");
    expect(leftovers()).toEqual([]);
  }, 60_000);

  it("returns at once when the folder is marked done", async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, DONE_MARKER), "earlier");
    let calls = 0;
    await unpackOnce(dir, "now", () => {
      calls++;
    });
    expect(calls).toBe(0);
    expect(readFileSync(join(dir, DONE_MARKER), "utf8")).toBe("earlier");
  });

  it("replaces a folder an interrupted fill left without its marker", async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, "half-written"), "x");
    await unpackOnce(dir, "v2", (staging) => {
      writeFileSync(join(staging, "binary"), "whole");
    });
    expect(readdirSync(dir).sort()).toEqual([DONE_MARKER, "binary"]);
    expect(leftovers()).toEqual([]);
  });

  it("leaves nothing behind when the fill throws, and the next call fills", async () => {
    await expect(
      unpackOnce(dir, "v", (staging) => {
        writeFileSync(join(staging, "binary"), "partial");
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
    expect(existsSync(dir)).toBe(false);
    expect(leftovers()).toEqual([]);
    await unpackOnce(dir, "v", (staging) => {
      writeFileSync(join(staging, "binary"), "whole");
    });
    expect(readFileSync(join(dir, "binary"), "utf8")).toBe("whole");
  });
});
