import { AddressSpace, nextRemoteFree, takeRemoteFrees } from "@memkit/core";
import { describe, expect, it } from "vitest";
import { REMOTE_FREE_WORKER, fillPattern, startWorkers } from "@memkit/test-workers";

describe("startWorkers", () => {
  it("runs a bundled worker over a shared memory: every block it was given reaches the list once, patterns verified", async () => {
    const space = AddressSpace.create({ initialBytes: 1 << 16, maximumBytes: 1 << 16, shared: true });
    const head = 16;
    const ptrs = [256, 512, 768, 1024, 2048];
    for (const p of ptrs) fillPattern(space.u8, p, 24);
    space.u8[1029] = space.u8[1029]! ^ 1; // one broken block
    const flags = new SharedArrayBuffer(8);
    const halves = [ptrs.slice(0, 2), ptrs.slice(2)].map((list) => Int32Array.from(list.flatMap((p) => [p, 24])));
    const run = await startWorkers(
      REMOTE_FREE_WORKER,
      halves.map((blocks) => ({ memory: space.memory, head, blocks, flags })),
    );
    await run.exited;
    const status = new Int32Array(flags);
    expect(status[0]).toBe(2);
    expect(status[1]).toBe(1);
    const seen: number[] = [];
    for (let p = takeRemoteFrees(space.i32, head); p !== 0; p = nextRemoteFree(space.i32, p)) seen.push(p);
    expect(seen.sort((a, b) => a - b)).toEqual(ptrs);
    expect(takeRemoteFrees(space.i32, head)).toBe(0);
  });

  it("rejects when a worker throws", async () => {
    const run = await startWorkers(REMOTE_FREE_WORKER, [{ memory: undefined, head: 0, blocks: new Int32Array(0), flags: new SharedArrayBuffer(8) }]);
    await expect(run.exited).rejects.toThrow();
  });
});
