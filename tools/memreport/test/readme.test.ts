import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import { EXIT_OK, EXIT_USAGE, USAGE, main, type CliIo } from "../src/index.js";
import { gameReport } from "./fixtures/reports.js";

/*
 * Every code block of README.md runs as written: the library example is
 * executed from the repository root (as the README says), every
 * `npm run memreport -- ...` command in the text runs through main(), each
 * output shown is checked against what that command prints (lines the README
 * elides with "..." aside), the usage block matches --help and the error lines
 * are what memreport says for such files.
 */

const PKG = join(import.meta.dirname, "..");
const ROOT = join(PKG, "..", "..");
const README = readFileSync(join(PKG, "README.md"), "utf8");
const FIXTURES = join(PKG, "test", "fixtures");

interface Block {
  lang: string;
  body: string;
  /** The prose between the previous block and this one. */
  prose: string;
}

function readmeBlocks(): Block[] {
  const out: Block[] = [];
  const re = /^( *)```(\w*)\n([^]*?)^\1```$/gm;
  let last = 0;
  for (let m = re.exec(README); m !== null; m = re.exec(README)) {
    out.push({ lang: m[2]!, body: m[3]!.replace(new RegExp(`^${m[1]}`, "gm"), ""), prose: README.slice(last, m.index) });
    last = m.index + m[0].length;
  }
  return out;
}

/** `npm run [-s] memreport -- <args>` commands quoted inline in the README, up to a pipe or redirection. */
function inlineCommands(text: string): string[][] {
  // `<arguments>`, `…` and the like are placeholders, not commands.
  return [...text.matchAll(/`npm run (?:-s )?memreport -- ([^`|><…]+)[^`<…]*`/g)].map((m) => m[1]!.trim().split(/\s+/));
}

/** Placeholder names in the README stand for the fixtures; README paths are from the repository root. */
function resolveArg(arg: string): string {
  const placeholder: Record<string, string> = { "report.json": "game-600.json", "before.json": "game-100.json", "after.json": "game-600.json" };
  if (placeholder[arg] !== undefined) return join(FIXTURES, placeholder[arg]);
  return arg.startsWith("tools/") ? join(ROOT, arg) : arg;
}

function run(argv: string[]): { code: number; out: string; err: string; files: Map<string, string> } {
  const r = { code: -1, out: "", err: "", files: new Map<string, string>() };
  const io: CliIo = {
    stdout: (t) => void (r.out += t),
    stderr: (t) => void (r.err += t),
    writeFile: (path, text) => void r.files.set(path, text),
  };
  r.code = main(argv.map(resolveArg), io);
  return r;
}

/** Every non-"..." line of `shown` appears in `actual`, in the same order. */
function expectShownIn(shown: string, actual: string, what: string): void {
  const lines = actual.split("\n").map((l) => l.trimEnd());
  let at = 0;
  for (const line of shown.split("\n").map((l) => l.trimEnd())) {
    if (line.trim() === "" || line.trim() === "...") continue;
    const found = lines.indexOf(line, at);
    expect(found, `${what}: README line not in the output (in this order):\n${line}\n--- output ---\n${actual}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

const blocks = readmeBlocks();

describe("README.md", () => {
  test("every code block is one of the kinds checked below", () => {
    const kinds = blocks.map(kindOf);
    expect(kinds.filter((k) => k === "unknown"), blocks.map((b, i) => `${kinds[i]}: ${b.body.slice(0, 40)}`).join("\n")).toEqual([]);
    expect(kinds.filter((k) => k === "output").length).toBe(3);
    expect(kinds.filter((k) => k === "library").length).toBe(1);
  });

  test("the library example runs as written, from the repository root", async () => {
    const block = blocks.find((b) => kindOf(b) === "library")!;
    // A copy of the repository root holding only the fixtures, so the example's memory.html lands there.
    const cwd = mkdtempSync(join(tmpdir(), "memreport-readme-"));
    mkdirSync(join(cwd, "tools", "memreport", "test"), { recursive: true });
    symlinkSync(FIXTURES, join(cwd, "tools", "memreport", "test", "fixtures"));
    // The example must resolve "@memkit/memreport" as an installed package would: a file inside the repository.
    const file = join(PKG, ".vitest-out", "readme", "library-example.ts");
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, block.body);
    const logged: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void logged.push(args.join(" ")));
    const saved = process.cwd();
    try {
      process.chdir(cwd);
      await import(/* @vite-ignore */ file);
    } finally {
      process.chdir(saved);
      log.mockRestore();
    }
    expect(readFileSync(join(cwd, "memory.html"), "utf8")).toMatch(/^<!doctype html>/);
    expect(logged.join("\n")).toContain("memreport diff");
    expect(logged.join("\n")).toContain("before: game-loop --frames 100");
  });

  test("every `npm run memreport -- ...` command in the text runs", () => {
    const commands = inlineCommands(README);
    expect(commands.length).toBeGreaterThanOrEqual(7);
    for (const argv of commands) {
      const r = run(argv);
      expect(r.code, `memreport ${argv.join(" ")}: ${r.err}`).toBe(EXIT_OK);
      expect(r.out.length + r.files.size, `memreport ${argv.join(" ")} printed nothing`).toBeGreaterThan(0);
    }
  });

  test("each output shown is what its command prints", () => {
    for (const block of blocks.filter((b) => kindOf(b) === "output")) {
      const commands = inlineCommands(block.prose);
      expect(commands.length, `no command before the block:\n${block.body.slice(0, 80)}`).toBeGreaterThan(0);
      const argv = commands[commands.length - 1]!; // the command right before the block
      const r = run(argv);
      expect(r.code).toBe(EXIT_OK);
      expectShownIn(block.body, r.out, `memreport ${argv.join(" ")}`);
    }
  });

  test("the usage block is --help's synopsis", () => {
    const block = blocks.find((b) => kindOf(b) === "usage")!;
    const help = run(["--help"]).out;
    expect(help).toBe(USAGE);
    // Each command line of the block (its first column) is a command line of --help.
    for (const line of block.body.split("\n").filter((l) => l.startsWith("memreport"))) {
      const command = line.split(/ {2,}/)[0]!;
      expect(USAGE, line).toContain(`  ${command}`);
    }
  });

  test("the error lines are what memreport prints for such files", () => {
    const block = blocks.find((b) => kindOf(b) === "errors")!;
    const dir = mkdtempSync(join(tmpdir(), "memreport-readme-errors-"));
    const text = JSON.stringify(gameReport());
    const bad = gameReport() as unknown as { scopes: { children: { liveBytes: unknown }[] } };
    bad.scopes.children[1]!.liveBytes = "lots";
    const files: Record<string, string> = {
      "cut.json": text.slice(0, text.indexOf(":") + 1), // ends after the first key: {"schema":
      "speedscope.json": JSON.stringify({ $schema: "https://www.speedscope.app/file-format-schema.json", shared: { frames: [] } }),
      "r.json": JSON.stringify(bad),
    };
    const lines = block.body.trim().split("\n");
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const name = /^memreport: ([\w.-]+):/.exec(line)![1]!;
      const path = join(dir, name);
      writeFileSync(path, files[name]!);
      expect(existsSync(path)).toBe(true);
      const r = run([path]);
      expect(r.code).toBe(EXIT_USAGE);
      expect(r.err.replaceAll(path, name).trim()).toBe(line);
    }
  });
});

function kindOf(b: Block): "library" | "usage" | "errors" | "output" | "illustration" | "unknown" {
  if (b.lang === "ts") return "library";
  if (b.body.startsWith("memreport <report.json>")) return "usage";
  if (b.body.startsWith("memreport: ")) return "errors";
  // The memory-map sketch and the source tree are pictures, not commands or output.
  if (b.body.startsWith("0x00000000") || b.body.startsWith("src/")) return "illustration";
  if (/:\s*$/.test(b.prose.trimEnd()) && inlineCommands(b.prose).length > 0) return "output";
  return "unknown";
}
