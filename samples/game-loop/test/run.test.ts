import { describe, expect, test } from "vitest";
import { renderHtml, validateReport } from "@memkit/memreport";
import { USAGE } from "../src/index.js";
import { SMALL, runCli } from "./helpers.js";

const SUBSYSTEMS = ["level", "physics", "ai", "gameplay", "render", "audio"];

describe("a memkit run", () => {
  test("prints the stage table, the scope tree, frame times, GC events, and shuts down clean (exit 0)", async () => {
    const r = await runCli([...SMALL]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^memkit game-loop \(memkit\): 300 units, 40 play frames after 5 warm-up frames, seed 1, tracing counts\n/);
    // The per-stage table: every subsystem, every stage, the heaviest stage column.
    expect(r.stdout).toContain("Memory by stage and scope");
    for (const stage of ["load (12 fr)", "warmup (5 fr)", "play (40 fr)", "unload (4 fr)"]) expect(r.stdout).toContain(stage);
    for (const name of [...SUBSYSTEMS, "gameplay/events", "root (all scopes)", "memory.frame (2-frame ring)", "memory.scratch"]) {
      expect(r.stdout).toMatch(new RegExp(`^${name.replace(/[()]/g, "\\$&")}\\s`, "m"));
    }
    expect(r.stdout).toMatch(/^level\s+[\d.]+ MiB\s+56\s/m); // 48 assets + the containers, built and grown while loading
    // Nothing is left after unload: every subsystem's "left" column is 0 B.
    for (const name of SUBSYSTEMS) expect(r.stdout).toMatch(new RegExp(`^${name}\\s.*\\s0 B\\s+(load|warmup|play|unload)$`, "m"));
    // The scope tree at the end of play, with budgets.
    expect(r.stdout).toMatch(/Scope tree at the end of play \(frame 57\):\nscope\s+live\s+self\s+blocks\s+peak\s+allocs\s+frees\s+budget\nroot \[play\]/);
    expect(r.stdout).toMatch(/├─ physics \[play\].* \/ [\d.]+ KiB \(\d+%\)/);
    expect(r.stdout).toContain("│  └─ events [play]");
    // Frame times and GC.
    expect(r.stdout).toMatch(/memkit: 40 play frames in [\d.]+ ms: [\d,]+ frames\/s; frame time p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms/);
    expect(r.stdout).toMatch(/GC events during play: \d+/);
    expect(r.stdout).toMatch(/warm-up before play: 5 frames, GC events/);
    expect(r.stdout).toMatch(/game: \d[\d,]* units alive, [\d,]+ spawned, [\d,]+ died; [\d,]+ shots, [\d,]+ hits, [\d,]+ sounds; .* checksum 0x[0-9a-f]{8}/);
    expect(r.stdout).toContain("Shutdown: clean. Every scope returned its memory.");
  });

  test("--frames, --entities and --seed change the game; the same seed plays the same game", async () => {
    const a = await runCli(["--frames", "25", "--warmup", "0", "--entities", "120", "--seed", "5", "--quiet"]);
    const b = await runCli(["--frames", "25", "--warmup", "0", "--entities", "120", "--seed", "5", "--quiet"]);
    const c = await runCli(["--frames", "25", "--warmup", "0", "--entities", "120", "--seed", "6", "--quiet"]);
    for (const r of [a, b, c]) expect(r.code).toBe(0);
    expect(a.stdout).toMatch(/120 units, 25 play frames after 0 warm-up frames, seed 5/);
    expect(a.stdout).toMatch(/memkit: 25 play frames/);
    const checksum = (text: string): string => /checksum (0x[0-9a-f]{8})/.exec(text)![1]!;
    expect(checksum(a.stdout)).toBe(checksum(b.stdout));
    expect(checksum(a.stdout)).not.toBe(checksum(c.stdout));
    // --quiet: no progress, no tables.
    expect(a.stdout).not.toContain("Memory by stage");
    expect(a.stdout).not.toContain("frame 25/25");
  });

  test("--tracing off: the scopes still count, and shutdown is still leak-checked", async () => {
    const r = await runCli([...SMALL, "--tracing", "off"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(tracing off: scopes count usable bytes and blocks, but keep no list of blocks)");
    expect(r.stdout).toMatch(/Shutdown: clean/);
    const leak = await runCli([...SMALL, "--tracing", "off", "--leak", "--quiet"]);
    expect(leak.code).toBe(1);
    expect(leak.stderr).toMatch(/LeakError \[ERR_LEAK\]: scope root leaked/);
    expect(leak.stderr).toContain('at tracing "off", which keeps counts, not a list of blocks');
  });

  test("--tracing callstacks and --debug run clean; debug runs memory.check() after every stage", async () => {
    const stacks = await runCli([...SMALL, "--tracing", "callstacks", "--quiet"]);
    expect(stacks.code).toBe(0);
    expect(stacks.stdout).toContain("tracing callstacks");
    const debug = await runCli([...SMALL, "--debug"]);
    expect(debug.code).toBe(0);
    expect(debug.stdout).toMatch(/tracing counts, debug\n/);
    expect(debug.stdout).toContain("memory.check() passed after each of the 4 stages");
    // Debug layers sit under the scopes: the scopes count the same sizes, the game is the same.
    const plain = await runCli([...SMALL, "--quiet"]);
    const checksum = (text: string): string => /checksum (0x[0-9a-f]{8})/.exec(text)![1]!;
    expect(checksum(debug.stdout)).toBe(checksum(plain.stdout));
  });

  test("progress: one rewritten line on a terminal, a few lines otherwise", async () => {
    const tty = await runCli(["--frames", "30", "--warmup", "0", "--entities", "100"], true);
    expect(tty.stdout).toMatch(new RegExp(String.raw`\r {2}memkit: frame 30/30 \(100%\), [\d,]+ frames/s` + "\u001b\\[K"));
    expect(tty.stdout).toContain("\r\x1b[K");
    const pipe = await runCli(["--frames", "30", "--warmup", "0", "--entities", "100"], false);
    const lines = pipe.stdout.split("\n").filter((l) => /^ {2}memkit: frame \d+\/30/.test(l));
    expect(lines.map((l) => /frame (\d+)/.exec(l)![1])).toEqual(["8", "15", "23", "30"]);
    expect(pipe.stdout).not.toContain("\r");
  });
});

describe("--report", () => {
  test("writes the memory report tools/memreport reads: subsystem scopes, stages with peaks, a memory map", async () => {
    const r = await runCli([...SMALL, "--quiet", "--report", "out/report.json"]);
    expect(r.code).toBe(0);
    // The hint is a command that works after `npm ci && npm start`: memreport is a root script, not on the PATH,
    // and the report's path is given from the repository root (this test runs in samples/game-loop).
    expect(r.stdout).toContain(
      "Memory report written to out/report.json; render it from the repository root with: npm run memreport -- --html memory.html samples/game-loop/out/report.json",
    );
    const text = r.files.get("out/report.json");
    expect(text).toBeDefined();
    const report = validateReport(JSON.parse(text as string), "out/report.json");
    expect(report.schema).toBe("memkit.memory-report/1");
    expect(report.label).toBe("game-loop --frames 40 --warmup 5 --entities 300 --seed 1 --tracing counts (at the end of play)");
    expect(report.options).toMatchObject({ tracing: "counts", debug: false });
    // Scopes: the root with one child per subsystem, gameplay with its events, all holding memory at the end of play.
    expect(report.scopes.path).toBe("root");
    expect(report.scopes.children.map((c) => c.name).sort()).toEqual([...SUBSYSTEMS].sort());
    const gameplay = report.scopes.children.find((c) => c.name === "gameplay")!;
    expect(gameplay.children.map((c) => c.path)).toEqual(["root/gameplay/events"]);
    for (const scope of report.scopes.children) {
      expect(scope.totalLiveBytes).toBeGreaterThan(0);
      expect(scope.budgetBytes).toBeGreaterThan(scope.totalLiveBytes);
    }
    // Stages: load, warmup, play, unload in order, frames contiguous, a peak per subsystem.
    expect(report.stages.map((s) => s.name)).toEqual(["load", "warmup", "play", "unload"]);
    expect(report.stages.map((s) => [s.startFrame, s.endFrame])).toEqual([
      [0, 12],
      [12, 17],
      [17, 57],
      [57, 61],
    ]);
    for (const stage of report.stages) {
      for (const name of SUBSYSTEMS) {
        const s = stage.scopes.find((x) => x.path === `root/${name}`);
        expect(s, `${stage.name} root/${name}`).toBeDefined();
        expect(s!.peakLiveBytes).toBeGreaterThanOrEqual(s!.liveBytes);
      }
    }
    const level = (name: string) => report.stages.find((s) => s.name === name)!.scopes.find((x) => x.path === "root/level")!;
    expect(level("load").peakLiveBytes).toBeGreaterThan(1 << 20); // the assets
    expect(level("unload").liveBytes).toBe(0);
    expect(level("unload").peakLiveBytes).toBe(level("load").liveBytes);
    // The memory map: spans in address order, owners named.
    expect(report.memoryMap.spans.length).toBeGreaterThan(0);
    for (let i = 1; i < report.memoryMap.spans.length; i++) {
      expect(report.memoryMap.spans[i]!.start).toBeGreaterThan(report.memoryMap.spans[i - 1]!.start);
    }
    expect(Object.values(report.memoryMap.owners)).toContain("generic.heap");
    expect(report.memoryMap.scopePaths).toContain("root/level");
    // Containers file their blocks under their names: the report lists them per scope, exactly, and the HTML shows them.
    const physics = report.scopes.children.find((c) => c.name === "physics")!;
    const labels = physics.labels!.map((l) => l.label).sort();
    expect(labels).toEqual(['DynamicArray<i32> "cell chains"', 'HashMap<u32, i32> "spatial hash"', 'StructArray "bodies"', 'StructArray "bullets"']);
    expect(physics.labels!.reduce((sum, l) => sum + l.liveBytes, 0)).toBe(physics.liveBytes);
    expect(report.folded.liveBytes).toMatch(/^root;physics;\[StructArray "bodies"\] \d+$/m);
    const html = renderHtml(report);
    expect(html).toContain('data-path="root/physics" data-label="StructArray &quot;bodies&quot;"');
    expect(html).toContain('data-n="[StructArray &quot;bodies&quot;]"');
  });

  test("a report that cannot be written is an error (exit 1), after the run", async () => {
    let stderr = "";
    const { run } = await import("../src/index.js");
    const code = await run([...SMALL, "--quiet", "--report", "/nonexistent/dir/r.json"], {
      stdout: () => {},
      stderr: (t) => void (stderr += t),
      isTTY: false,
      writeFile: () => {
        throw new Error("ENOENT: no such file or directory");
      },
      readFile: () => new Uint8Array(),
    });
    expect(code).toBe(1);
    expect(stderr).toContain("cannot write the report to /nonexistent/dir/r.json: ENOENT");
  });
});

describe("--leak", () => {
  test("exits 1 with the LeakError: the scope path, the block, and a hint to capture stacks", async () => {
    const r = await runCli([...SMALL, "--leak", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("Shutdown: clean");
    expect(r.stderr).toContain("Shutdown found memory still held:");
    expect(r.stderr).toMatch(/LeakError \[ERR_LEAK\]: scope root leaked 1 block \(86\.1 KiB\) and has 1 live child scope/);
    expect(r.stderr).toMatch(/0x[0-9a-f]{8} {2}88,200 B {2}in root\/audio \[frame 10\]/);
    expect(r.stderr).toContain("live child scopes (dispose them first): root/audio");
    expect(r.stderr).toContain('use tracing "callstacks"');
  });

  test("with --tracing callstacks the report names the function that allocated the leaked block", async () => {
    const r = await runCli([...SMALL, "--leak", "--tracing", "callstacks", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/88,200 B {2}in root\/audio, allocated at Audio\.loadVoiceBank \(game\/audio\.ts:\d+\)/);
    expect(r.stderr).toMatch(/at MemkitGame\.loadFrame \(game\/game\.ts:\d+\)/);
  });

  test("the memory is shut down even so: the next run starts fresh", async () => {
    expect((await runCli([...SMALL, "--leak", "--quiet"])).code).toBe(1);
    expect((await runCli([...SMALL, "--quiet"])).code).toBe(0);
  });
});

describe("--baseline and --compare", () => {
  test("--baseline runs the plain-JS game: frame times and GC, no memory tables", async () => {
    const r = await runCli([...SMALL]);
    const b = await runCli([...SMALL, "--baseline"]);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/^memkit game-loop \(baseline\): 300 units, 40 play frames after 5 warm-up frames, seed 1\n/);
    expect(b.stdout).toMatch(/baseline \(plain JS\): 40 play frames in [\d.]+ ms/);
    expect(b.stdout).toMatch(/ {2}baseline: frame 40\/40/);
    expect(b.stdout).not.toContain("Memory by stage");
    expect(b.stdout).not.toContain("Shutdown");
    // The same game: the same counters and checksum as the memkit run.
    const game = (text: string): string => /game: (.*)/.exec(text)![1]!;
    expect(game(b.stdout)).toBe(game(r.stdout));
  });

  test("--compare prints both runs side by side and the verdict on the two targets", async () => {
    const r = await runCli([...SMALL, "--compare"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^memkit game-loop \(memkit vs plain JS\)/);
    expect(r.stdout).toMatch(/^\s+memkit\s+baseline \(plain JS\)$/m);
    for (const row of ["frames/s", "frame time p50", "frame time p99", "frame time max", "GC events during play", "JS garbage made during play", "GC events during warm-up (not judged)", "load / unload", "checksum"]) {
      expect(r.stdout).toMatch(new RegExp(`^${row.replace(/[()/]/g, "\\$&")}\\s{2,}\\S`, "m"));
    }
    expect(r.stdout).toMatch(/zero GC events during play \(memkit\): {2}(PASS|MISS) \(\d+ GC events\)/);
    expect(r.stdout).toMatch(/frame time p99 below the baseline's: {2}(PASS|MISS) \([\d.]+ ms vs [\d.]+ ms, [\d.]+x\)/);
    expect(r.stdout).toContain("same game in both runs (checksum):    yes");
    expect(r.stdout).toContain("Shutdown: clean.");
  });

  test("--compare --leak still compares, and exits 1 for the leak", async () => {
    const r = await runCli([...SMALL, "--compare", "--leak", "--quiet"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Targets:");
    expect(r.stderr).toContain("in root/audio");
  });
});

describe("usage", () => {
  test("--help prints the usage and exits 0", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(USAGE);
    for (const flag of ["--frames N", "--entities N", "--tracing LEVEL", "--debug", "--report FILE", "--leak", "--baseline", "--compare", "--seed N", "--quiet", "--warmup N", "--help"]) {
      expect(USAGE).toContain(flag);
    }
  });

  test.each([[["--frames", "0"]], [["--bogus"]], [["--tracing", "all"]], [["--baseline", "--compare"]]])("bad flags %j: the error and the usage on stderr, exit 2", async (argv) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^memkit-game-loop: .+\n\nUsage: memkit-game-loop/);
    expect(r.stderr).toContain(USAGE);
  });
});
