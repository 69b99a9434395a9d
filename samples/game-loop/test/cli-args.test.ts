import { describe, expect, test } from "vitest";
import { DEFAULT_ENTITIES, DEFAULT_FRAMES, DEFAULT_SEED, UsageError, parseGameArgs } from "../src/index.js";

describe("parseGameArgs", () => {
  test("defaults", () => {
    const args = parseGameArgs([]);
    expect(args).toMatchObject({
      frames: DEFAULT_FRAMES,
      entities: DEFAULT_ENTITIES,
      tracing: "counts",
      debug: false,
      report: undefined,
      leak: false,
      mode: "memkit",
      seed: DEFAULT_SEED,
      workers: 0,
      quiet: false,
      help: false,
    });
    expect(DEFAULT_FRAMES).toBe(600);
  });

  test("every flag, in both --flag value and --flag=value forms", () => {
    const args = parseGameArgs(["--frames=120", "--entities", "50", "--tracing", "callstacks", "--debug", "--report", "r.json", "--leak", "--seed=7", "--quiet", "--warmup", "0"]);
    expect(args).toMatchObject({ frames: 120, entities: 50, tracing: "callstacks", debug: true, report: "r.json", leak: true, seed: 7, quiet: true, warmup: 0 });
    expect(parseGameArgs(["--baseline"]).mode).toBe("baseline");
    expect(parseGameArgs(["--compare"]).mode).toBe("compare");
    expect(parseGameArgs(["-h"]).help).toBe(true);
    expect(parseGameArgs(["--tracing", "off"]).tracing).toBe("off");
    expect(parseGameArgs(["--workers", "2"]).workers).toBe(2);
    expect(parseGameArgs(["--workers=16", "--compare", "--leak", "--tracing", "off"])).toMatchObject({ workers: 16, mode: "compare", leak: true });
    expect(parseGameArgs(["--workers", "0", "--debug", "--save", "a.mksave"]).workers).toBe(0);
  });

  test("--save FILE and --restore FILE (alone or together: restore, play on, save again)", () => {
    expect(parseGameArgs([])).toMatchObject({ save: undefined, restore: undefined });
    expect(parseGameArgs(["--save", "a.mksave", "--frames", "10"])).toMatchObject({ save: "a.mksave", restore: undefined, frames: 10 });
    expect(parseGameArgs(["--restore=a.mksave", "--save", "b.mksave", "--warmup", "0"])).toMatchObject({ save: "b.mksave", restore: "a.mksave", warmup: 0 });
    expect(parseGameArgs(["--compare", "--save", "a.mksave"]).save).toBe("a.mksave");
  });

  test.each([
    [["--frames"], /--frames/],
    [["--frames", "0"], /--frames must be an integer from 1/],
    [["--frames", "1.5"], /--frames must be an integer/],
    [["--frames", "ten"], /"ten"/],
    [["--frames=-3"], /--frames must be an integer/],
    [["--entities", "0"], /--entities must be an integer from 1/],
    [["--entities", "1000000"], /--entities must be an integer from 1 to 200,000/],
    [["--seed", "4294967296"], /--seed/],
    [["--tracing", "verbose"], /--tracing must be off, counts or callstacks, not "verbose"/],
    [["--frobnicate"], /frobnicate/],
    [["extra"], /extra/],
    [["--baseline", "--compare"], /cannot be combined/],
    [["--baseline", "--leak"], /--leak needs the memkit run/],
    [["--baseline", "--report", "r.json"], /--report needs the memkit run/],
    [["--report="], /--report needs a file name/],
    [["--debug=yes"], /debug/],
    [["--save="], /--save needs a file name/],
    [["--restore="], /--restore needs a file name/],
    [["--baseline", "--save", "g.mksave"], /--save needs the memkit run/],
    [["--baseline", "--restore", "g.mksave"], /--restore needs the memkit run/],
    [["--compare", "--restore", "g.mksave"], /--restore cannot be combined with --compare/],
    [["--restore", "g.mksave", "--entities", "500"], /--restore plays the saved game: its --entities/],
    [["--restore", "g.mksave", "--seed", "2"], /its --seed/],
    [["--restore", "g.mksave", "--leak"], /its --leak/],
    [["--restore", "g.mksave", "--tracing", "off"], /its --tracing/],
    [["--restore", "g.mksave", "--debug"], /its --debug/],
    [["--workers", "17"], /--workers must be an integer from 0 to 16, not "17"/],
    [["--workers", "-1"], /--workers/],
    [["--workers", "2", "--baseline"], /--workers needs the memkit run/],
    [["--workers", "1", "--debug"], /--workers cannot be combined with --debug: memkit's debug layer does not run on a shared memory yet/],
    [["--workers", "2", "--save", "g.mksave"], /--workers cannot be combined with --save/],
    [["--workers", "2", "--restore", "g.mksave"], /--workers cannot be combined with --restore/],
  ])("rejects %j", (argv, message) => {
    let error: unknown;
    try {
      parseGameArgs(argv);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });
});
