import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatBytes } from "@memkit/core";
import { diffFoldedStacks, formatReport, parseFoldedStacks } from "@memkit/trace-allocator";
import { beforeAll, describe, expect, test } from "vitest";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, USAGE, diffMemoryReports, formatMemoryDiff, main, type CliIo } from "../src/index.js";
import { countsGameReport, earlyGameReport, gameReport } from "./fixtures/reports.js";

/*
 * The CLI through main(argv, io): what it prints, what it writes and its exit
 * codes, on the JSON fixtures in test/fixtures (see fixtures.test.ts).
 */

const FIXTURES = join(import.meta.dirname, "fixtures");
const LATE = join(FIXTURES, "game-600.json");
const EARLY = join(FIXTURES, "game-100.json");
const COUNTS = join(FIXTURES, "game-600-counts.json");

interface Run {
  code: number;
  out: string;
  err: string;
  files: Map<string, string>;
}

function run(...argv: string[]): Run {
  const result: Run = { code: -1, out: "", err: "", files: new Map() };
  const io: CliIo = {
    stdout: (t) => void (result.out += t),
    stderr: (t) => void (result.err += t),
    writeFile: (path, text) => void result.files.set(path, text),
  };
  result.code = main(argv, io);
  return result;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "memreport-cli-"));
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Checks the folded-stack format and returns the sum of the values. */
function foldedSum(text: string): number {
  expect(text.endsWith("\n")).toBe(true);
  const lines = text.split("\n").slice(0, -1);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).toMatch(/^[^ ;][^;\n]*(;[^;\n]+)* [1-9]\d*$/);
  return parseFoldedStacks(text).reduce((s, l) => s + l.value, 0);
}

describe("memreport <report.json>", () => {
  test("prints the header, the scope tree (trace-allocator's formatReport), stages, allocators and the map summary", () => {
    const r = run(LATE);
    const report = gameReport();
    expect(r.code).toBe(EXIT_OK);
    expect(r.err).toBe("");
    expect(r.out.startsWith("memkit memory report: game-loop --frames 600\n  frame 600, 2025-01-06T12:10:00.000Z, tracing callstacks")).toBe(true);
    expect(r.out).toContain(`Scopes\n${formatReport(report.scopes)}\n`);
    expect(r.out).toContain("root/level/streaming     156.3 KiB       585.9 KiB *     512.0 KiB");
    expect(r.out).toContain("root/audio               253.9 KiB       234.4 KiB       312.5 KiB *");
    expect(r.out).toMatch(/default\.heap +546\.9 KiB +70 +683\.6 KiB +384\.0 KiB +136\.7 KiB +35\.2 KiB +74\.3%/);
    // Heap pages: the fixture's 96 pages cycle through 12 use figures (sum 34,080 B per 12 pages).
    const heapUsed = 8 * 34_080;
    expect(r.out).toMatch(new RegExp(`default\\.heap +1 +96 +384\\.0 KiB +${formatBytes(heapUsed).replace(".", "\\.")} \\(${((100 * heapUsed) / (96 * 4096)).toFixed(1)}%\\)`));
    expect(r.out).toMatch(/free +4 +16 +64\.0 KiB +largest 24\.0 KiB/);
    expect(r.out).toContain("regions: null guard 0x00000000 4.00 KiB, bootstrap 0x00001000 20.0 KiB");
  });

  test("--help prints the usage and exits 0", () => {
    const r = run("--help");
    expect(r).toMatchObject({ code: EXIT_OK, out: USAGE, err: "" });
  });
});

describe("memreport --folded", () => {
  test("bytes: one `frames bytes` line per stack, summing to the root's live bytes", () => {
    const r = run("--folded", "bytes", LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(foldedSum(r.out)).toBe(gameReport().scopes.totalLiveBytes);
    expect(r.out).toContain("root;level;streaming;main (game/main.ts:12);Game.update (game/game.ts:77);LevelStreamer.update (level/streaming.ts:41);loadChunk (level/streaming.ts:88) 524288\n");
  });

  test("count: lines sum to the root's live blocks", () => {
    const r = run("--folded", "count", LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(foldedSum(r.out)).toBe(gameReport().scopes.totalLiveCount);
  });

  test("peak: the stacks live at each scope's peak; a counts-only report has none (exit 2, says why)", () => {
    const r = run("--folded", "peak", LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(foldedSum(r.out)).toBe(gameReport().scopes.totalPeakLiveBytes);
    const none = run("--folded", "peak", COUNTS);
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.err).toBe('memreport: the report has no peak stacks (it was taken with tracing "counts"); peak stacks need tracing "callstacks".\n');
  });

  test("counts-only reports fold by scope path", () => {
    const r = run("--folded", "bytes", COUNTS);
    expect(foldedSum(r.out)).toBe(countsGameReport().scopes.totalLiveBytes);
    expect(r.out).toContain("root;level;streaming 524288\n");
  });

  test("an unknown metric is a usage error", () => {
    const r = run("--folded", "pages", LATE);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toBe(`memreport: --folded takes bytes, count, peak, not "pages"\n\n${USAGE}`);
  });
});

describe("memreport --html", () => {
  test("writes one self-contained page and says where", () => {
    const r = run("--html", "out/report.html", LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toBe("");
    const html = r.files.get("out/report.html")!;
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(r.err).toBe(`memreport: wrote out/report.html (${Math.ceil(html.length / 1024)} KiB)\n`);
    expect(html).toContain("game-loop --frames 600");
    expect(html).not.toMatch(/https?:\/\//);
  });

  test("a file that cannot be written: exit 1 with the reason", () => {
    let err = "";
    const out = join(dir, "no/such/dir/x.html");
    const code = main(["--html", out, LATE], { stdout: () => undefined, stderr: (t) => void (err += t), writeFile: (p, t) => writeFileSync(p, t) });
    expect(code).toBe(EXIT_FAILURE);
    expect(err).toMatch(new RegExp(`^memreport: cannot write ${out}: ENOENT: no such file or directory`));
  });

  test("the real file system: the page lands on disk", () => {
    const out = join(dir, "page.html");
    let err = "";
    const code = main(["--html", out, LATE], { stdout: () => undefined, stderr: (t) => void (err += t), writeFile: (p, t) => writeFileSync(p, t) });
    expect(code).toBe(EXIT_OK);
    expect(err).toContain(`wrote ${out}`);
    expect(readFileSync(out, "utf8")).toContain('<canvas id="memory-map"');
  });
});

describe("memreport diff", () => {
  test("lists what grew and shrank per scope and per call stack", () => {
    const r = run("diff", EARLY, LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("  live: 1.69 MiB -> 2.11 MiB (+429.4 KiB), blocks 307 -> 659 (+352)");
    expect(r.out).toContain("  grew     +384.0 KiB  root/level/streaming  128.0 KiB -> 512.0 KiB (+12 blocks)");
    expect(r.out).toContain("  grew      +12.5 KiB  root/ai (new)  0 B -> 12.5 KiB (+50 blocks)");
    expect(r.out).toContain("  shrank    -48.0 KiB  root/audio  240.0 KiB -> 192.0 KiB (-2 blocks)");
    expect(r.out).toContain("  shrank    -64.0 KiB  root/loader (gone)  64.0 KiB -> 0 B (-4 blocks)");
    expect(r.out).toContain(
      "  grew     +384.0 KiB  root/level/streaming: loadChunk (level/streaming.ts:88) < LevelStreamer.update (level/streaming.ts:41) < Game.update (game/game.ts:77) < main (game/main.ts:12)  128.0 KiB -> 512.0 KiB",
    );
    expect(r.out).toContain("  shrank    -48.0 KiB  root/audio: Audio.loadBank (audio/bank.ts:22) < Game.load (game/game.ts:40) < main (game/main.ts:12)  240.0 KiB -> 192.0 KiB");
    expect(r.out).toContain("Live bytes per call stack (6 grew, 2 shrank; the 20 largest changes each way)");
  });

  test("--top limits the stacks listed", () => {
    const r = run("diff", "--top", "1", EARLY, LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.match(/^ {2}grew .*: .* < /gm)).toHaveLength(1);
    expect(r.out.match(/^ {2}shrank .*: .* < /gm)).toHaveLength(1);
    expect(r.out).toContain("(6 grew, 2 shrank; the largest change each way)");
  });

  test("one block more is '+1 block'", () => {
    const before = gameReport();
    const after = gameReport();
    const audio = after.scopes.children.find((c) => c.name === "audio")!;
    audio.liveBytes += 100;
    audio.liveCount += 1;
    const text = formatMemoryDiff(diffMemoryReports(before, after));
    expect(text).toContain("root/audio  192.0 KiB -> 192.1 KiB (+1 block)");
    expect(text).not.toMatch(/\(\+1 blocks\)/);
  });

  test("without call stacks on one side it compares scopes only and says why", () => {
    const r = run("diff", EARLY, COUNTS);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("  grew     +384.0 KiB  root/level/streaming  128.0 KiB -> 512.0 KiB (+12 blocks)");
    expect(r.out).toContain('Call stacks: not compared: the later report has no call stacks (take both with tracing "callstacks")');
  });

  test("a report against itself: no change anywhere", () => {
    const r = run("diff", LATE, LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("scope (frame 600 -> 600): no change");
    expect(r.out).toContain("no scope's own live bytes changed");
    expect(r.out).toContain("no call stack's live bytes changed");
    expect(r.out).toContain("Allocators: no change in live or reserved bytes");
  });

  test("--folded bytes: the differential format of trace-allocator's diffFoldedStacks", () => {
    const r = run("diff", "--folded", "bytes", EARLY, LATE);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toBe(diffFoldedStacks(earlyGameReport().folded.liveBytes, gameReport().folded.liveBytes));
    expect(r.out).toContain("root;ai;main (game/main.ts:12);Game.update (game/game.ts:77);Blackboard.set (ai/blackboard.ts:57) 0 12800\n");
  });

  test("usage errors: one report, three reports, a bad --top, --html", () => {
    for (const argv of [["diff", LATE], ["diff", LATE, LATE, LATE], ["diff", "--top", "0", LATE, LATE], ["diff", "--html", "x.html", LATE, LATE]]) {
      const r = run(...argv);
      expect(r.code, argv.join(" ")).toBe(EXIT_USAGE);
      expect(r.err.endsWith(USAGE)).toBe(true);
      expect(r.out).toBe("");
    }
  });
});

describe("bad input and usage", () => {
  const cases: [string, () => string[], string][] = [
    ["malformed JSON", () => [file("cut.json", JSON.stringify(gameReport()).slice(0, 100))], "not valid JSON"],
    ["no schema", () => [file("noschema.json", JSON.stringify({ ...gameReport(), schema: undefined }))], 'no "schema" field'],
    ["another tool's JSON", () => [file("speedscope.json", '{"$schema":"https://www.speedscope.app/file-format-schema.json"}')], 'no "schema" field'],
    ["a wrong schema", () => [file("v9.json", JSON.stringify({ ...gameReport(), schema: "memkit.memory-report/9" }))], '"schema" is "memkit.memory-report/9"'],
    ["a missing file", () => [join(dir, "missing.json")], "cannot read the report: no such file"],
    ["a broken field", () => [file("broken.json", JSON.stringify({ ...gameReport(), stages: {} }))], "stages must be an array, found an object"],
  ];
  for (const [what, args, message] of cases) {
    test(`${what}: one line, exit 2, for every command`, () => {
      const path = args()[0]!;
      for (const argv of [[path], ["--folded", "bytes", path], ["--html", join(dir, "x.html"), path], ["diff", LATE, path], ["diff", path, LATE]]) {
        const r = run(...argv);
        expect(r.code, argv.join(" ")).toBe(EXIT_USAGE);
        expect(r.out).toBe("");
        expect(r.files.size).toBe(0);
        expect(r.err.startsWith(`memreport: ${path}: `)).toBe(true);
        expect(r.err).toContain(message);
        expect(r.err.split("\n")).toHaveLength(2); // one line and its newline
      }
    });
  }

  test("usage errors print the usage and exit 2", () => {
    const cases: [string[], string][] = [
      [[], "which report? give the path of a report.json"],
      [[LATE, EARLY], "expected one report, got 2"],
      [["--frobnicate", LATE], "Unknown option '--frobnicate'"],
      [["--folded"], "Option '--folded <value>' argument missing"],
      [["--folded", "bytes", "--html", "x.html", LATE], "use one of --folded, --html and --trace-events"],
      [["--html", LATE, "x.html"], "--html takes the output file (out.html), then the report"],
      [["--all", LATE], "--all and --top go with diff"],
    ];
    for (const [argv, message] of cases) {
      const r = run(...argv);
      expect(r.code, argv.join(" ")).toBe(EXIT_USAGE);
      expect(r.err.startsWith("memreport: ")).toBe(true);
      expect(r.err).toContain(message);
      expect(r.err.endsWith(`\n\n${USAGE}`)).toBe(true);
    }
  });

  test("an unexpected failure is exit 1 with the stack", () => {
    let err = "";
    const code = main([LATE], {
      stdout: () => {
        throw new TypeError("stdout exploded");
      },
      stderr: (t) => void (err += t),
      writeFile: () => undefined,
    });
    expect(code).toBe(EXIT_FAILURE);
    expect(err).toMatch(/^memreport: TypeError: stdout exploded\n {4}at /);
  });
});
