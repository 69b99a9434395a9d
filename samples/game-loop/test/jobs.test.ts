import { spawnSync } from "node:child_process";
import { MemoryGlobals } from "@memkit/memory-globals";
import { bundleWorker } from "@memkit/test-workers";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { validateReport } from "@memkit/memreport";
import { EngineStages, MemkitGame, initEngineMemory, parseGameArgs, runMemkit } from "../src/index.js";
import { GcObserver } from "../src/stats/gc-observer.js";
import type { GameConfig } from "../src/game/config.js";
import { JobError, JobSystem } from "../src/jobs/job-system.js";
import { bundleCli } from "./bundle-cli.js";

/*
 * --workers N (issue #14 point 5): the job system plays the game a
 * single-threaded run plays. Real worker threads run the worker script
 * bundled from its TypeScript source (@memkit/test-workers); the command
 * line runs bundled, in fresh processes, like test/save-file.test.ts.
 */

let script: string;
let failing: string;
beforeAll(async () => {
  script = await bundleWorker(new URL("../src/jobs/job-worker.ts", import.meta.url));
  failing = await bundleWorker(new URL("./fixtures/failing-job-worker.ts", import.meta.url));
});

let jobs: JobSystem | undefined;
afterEach(async () => {
  // A failed test must not leave workers attached, or the next test unable to init.
  await jobs?.abort();
  jobs = undefined;
  const memory = MemoryGlobals.current;
  if (memory !== undefined) {
    try {
      memory.shutdown();
    } catch {
      // the test already said what went wrong
    }
  }
});

/** What one block of frames ends with: the game's summary and the counters it does not hash. */
interface Block {
  summary: ReturnType<MemkitGame["summary"]>;
  senses: number;
  plans: number;
  contacts: number;
}

interface Played {
  memory: MemoryGlobals;
  game: MemkitGame;
  stages: EngineStages;
  blocks: Block[];
}

/** Loads a game and plays `blocks` x `per` frames, on `workers` job workers (undefined: the single-threaded frame). */
async function play(config: GameConfig, blocks: number, per: number, workers?: number, workerScript = script): Promise<Played> {
  const memory = initEngineMemory({ entities: config.entities, tracing: "counts", debug: false, shared: workers !== undefined && workers > 0 });
  const stages = new EngineStages(memory);
  if (workers !== undefined) jobs = await JobSystem.start(memory, { workers, script: workerScript });
  const game = new MemkitGame(memory, config);
  game.jobs = jobs;
  for (let step = 0; ; step++) {
    stages.beginFrame();
    if (game.loadFrame(step)) break;
  }
  const out: Block[] = [];
  for (let b = 0; b < blocks; b++) {
    for (let f = 0; f < per; f++) {
      stages.beginFrame();
      game.playFrame();
    }
    out.push({ summary: game.summary(), senses: game.ai.senses, plans: game.ai.plans, contacts: game.physics.contactCount });
  }
  return { memory, game, stages, blocks: out };
}

/** Unloads, disposes and shuts down: throws (a LeakError) if anything is still held. */
function finish({ memory, game, stages }: Played): void {
  for (let step = 0; ; step++) {
    stages.beginFrame();
    if (game.unloadFrame(step)) break;
  }
  game[Symbol.dispose]();
  memory.shutdown();
}

/** The single-threaded game's blocks (it runs first: one memory per process at a time). */
async function straight(config: GameConfig, blocks: number, per: number): Promise<Block[]> {
  const run = await play(config, blocks, per);
  finish(run);
  return run.blocks;
}

describe("the job kernels", () => {
  test.each([
    [1, 300],
    [7, 250],
    [42, 500],
  ])("on the main thread alone (no workers: four chunks per phase, merged in order) play the single-threaded game, block by block (seed %i, %i units)", async (seed, entities) => {
    const config: GameConfig = { frames: 150, entities, seed, leak: false };
    const expected = await straight(config, 5, 30);
    const split = await play(config, 5, 30, 0);
    expect(split.blocks).toEqual(expected);
    expect(split.blocks.at(-1)!.summary.died).toBeGreaterThan(0);
    expect(split.blocks.at(-1)!.plans).toBeGreaterThan(0);
    finish(split);
  });
});

describe("two job workers on a shared memory", () => {
  test.each([
    [1, 300],
    [9, 600],
    [3, 5], // fewer units than a range each could take: empty and one-unit ranges
  ])("play the single-threaded game block by block (seed %i, %i units); check() passes; shutdown finds nothing held", async (seed, entities) => {
    const config: GameConfig = { frames: 120, entities, seed, leak: false };
    const expected = await straight(config, 4, 30);
    const split = await play(config, 4, 30, 2);
    expect(split.blocks).toEqual(expected);
    await jobs!.stop();
    const threads = split.memory.threads();
    expect(threads.map((t) => `${t.name}:${t.state}`).sort()).toEqual(["jobs-1:ended", "jobs-2:ended", "main:live"]);
    // The workers planned paths through the ai scope: allocations of their own, live in the scope after they
    // detached. Which worker claims which chunks is up to the scheduler (a starved one may claim none), so
    // the workers are counted together; every live byte is some thread's.
    const workers = threads.filter((t) => t.name !== "main");
    if (entities > 100) expect(workers.reduce((n, t) => n + t.allocCount, 0)).toBeGreaterThan(0);
    expect(threads.reduce((n, t) => n + t.liveBytes, 0)).toBe(split.memory.report().totalLiveBytes);
    split.memory.check();
    finish(split);
    jobs = undefined;
  });

  test("a worker that throws: JobError names it, its phase and frame, with its stack; the others are terminated and declared ended; nothing is lost", async () => {
    const config: GameConfig = { frames: 20, entities: 300, seed: 2, leak: false };
    const run = await play(config, 0, 0, 2, failing);
    let error: unknown;
    // It throws at the first plan-and-steer phase it wakes for from frame 3 on; the main thread sees it at that join or the next.
    for (let f = 0; f < 100 && error === undefined; f++) {
      run.stages.beginFrame();
      try {
        run.game.playFrame();
      } catch (err) {
        error = err;
      }
    }
    expect(error).toBeInstanceOf(JobError);
    const message = (error as JobError).message;
    const [, frame, broke] = /^job worker jobs-2 failed in the AI plan and steer phase of play frame (\d+):\nError: the planner broke in frame (\d+)\n/.exec(message) ?? [];
    expect(frame, message).toBeDefined();
    expect(Number(frame)).toBeGreaterThanOrEqual(3);
    expect(broke).toBe(frame);
    expect(message).toMatch(/at plannerBroke/);
    // A later frame is refused at once (the workers are gone), not left waiting for them.
    run.stages.beginFrame();
    expect(() => run.game.playFrame()).toThrow(/^the job system has failed \(job worker jobs-2 failed in the AI plan and steer phase of play frame \d+:\): it runs no more frames\.$/);
    await jobs!.abort();
    expect(run.memory.threads().map((t) => `${t.name}:${t.state}`).sort()).toEqual(["jobs-1:dead", "jobs-2:dead", "main:live"]);
    run.memory.check();
    finish(run);
    jobs = undefined;
  });
});

describe("the memkit run with workers", () => {
  test("--report: a snapshot taken while the workers are attached, which memreport reads; then a clean shutdown", async () => {
    const args = parseGameArgs(["--frames", "30", "--warmup", "5", "--entities", "300", "--workers", "2", "--report", "r.json"]);
    using gc = new GcObserver();
    const run = await runMemkit(args, gc, undefined, undefined, { workerScript: script });
    expect(run.leak).toBeUndefined();
    const report = validateReport(JSON.parse(JSON.stringify(run.report)), "r.json");
    expect(report.label).toBe("game-loop --frames 30 --warmup 5 --entities 300 --seed 1 --tracing counts --workers 2 (at the end of play)");
    expect(report.memoryMap.spans.length).toBeGreaterThan(0);
    expect(run.jobs!.threads.map((t) => `${t.name}:${t.state}`).sort()).toEqual(["jobs-1:live", "jobs-2:live", "main:live"]);
    expect(MemoryGlobals.current).toBeUndefined();
  });
});

describe("the command line", () => {
  const checksum = (text: string): string => /checksum (0x[0-9a-f]{8})/.exec(text)![1]!;
  const game = (text: string): string => /game: (.*)/.exec(text)![1]!;

  test("--workers 2 plays --workers 0's game (same checksum) in fresh processes, and shuts down clean", async () => {
    const cli = await bundleCli(new URL("../src/jobs/job-worker.ts", import.meta.url));
    const node = (workers: number): string => {
      const r = spawnSync(process.execPath, [cli, "--warmup", "10", "--frames", "60", "--entities", "400", "--seed", "4", "--quiet", "--workers", String(workers)], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      return r.stdout;
    };
    const alone = node(0);
    const shared = node(2);
    expect(checksum(shared)).toBe(checksum(alone));
    expect(game(shared)).toBe(game(alone));
    expect(shared).toContain("2 job workers");
    expect(shared).toMatch(/jobs: 2 worker threads and the main thread share physics contacts and AI, 12 chunks per phase/);
    expect(shared).toMatch(/threads at the end of play .*main .*; jobs-1 .*; jobs-2 /);
    expect(shared).toContain("Shutdown: clean.");
    expect(alone).not.toContain("jobs:");
  });

  test("a worker that throws ends the run with exit 1 and the worker's error", async () => {
    const cli = await bundleCli(new URL("./fixtures/failing-job-worker.ts", import.meta.url));
    // The worker throws in the first AI phase it wakes for from frame 3 on; on a loaded machine it can wake late
    // for many frames in a row (it once missed all of frames 3-19), so the run gets frames to spare: it ends at the failure.
    const r = spawnSync(process.execPath, [cli, "--warmup", "0", "--frames", "300", "--entities", "300", "--quiet", "--workers", "2"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^memkit-game-loop: the run failed:\nJobError: job worker jobs-2 failed in the AI plan and steer phase of play frame (\d+):\nError: the planner broke in frame \1\n/);
    expect(r.stdout).not.toContain("Shutdown: clean.");
  });
});
