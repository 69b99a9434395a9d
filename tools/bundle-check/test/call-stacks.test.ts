import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT, bundleProgram } from "../lib/bundle.mjs";

/*
 * A program bundled (and minified) by a real bundler leaks through a scope at
 * tracing "callstacks": the LeakError's stacks and the folded stacks must start
 * at the user's function, not inside memkit (CallStacks.capture, the scope, a
 * container, allocateZeroed, a debug wrapper), although in a bundle every
 * frame is in one file and a minifier renames memkit's classes.
 */

interface LeakOutput {
  error: string | null;
  name?: string;
  code?: string;
  blocks: { size: number; stack?: string }[];
  folded: string;
}

const OUT = join(ROOT, ".vitest-out", "bundles");

async function runLeak(minify: boolean): Promise<LeakOutput> {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, minify ? "leak.min.mjs" : "leak.mjs");
  await bundleProgram("leak.ts", { minify, platform: "node", file });
  return JSON.parse(execFileSync(process.execPath, [file], { encoding: "utf8" })) as LeakOutput;
}

/** The user's functions the program allocates from, one leaked block each. */
const USER = ["clearedBuffer", "fillTable", "loadLevel", "throughDebugWrapper"];

/** The function a frame names (`Object.loadLevel (file:1:2)` -> `loadLevel`), or the frame when it names none. */
function functionOf(frame: string): string {
  const m = /^(?:Object\.)?([\w$#.]+) \(/.exec(frame);
  return m === null ? frame : m[1]!;
}

describe.each([
  ["plain", false],
  ["minified", true],
])("a %s bundle", (_mode, minify) => {
  test("LeakError stacks and folded stacks start at the user's function", async () => {
    const out = await runLeak(minify);
    expect(out.error).not.toBeNull();
    // Each block's stack starts (innermost frame first) at the user's function that allocated it.
    expect(out.blocks.map((b) => functionOf(b.stack?.split("\n")[0] ?? "(no stack)")).sort()).toEqual(USER);
    // The message shows each block's innermost frame after "allocated at".
    const allocatedAt = [...out.error!.matchAll(/allocated at (.*)/g)].map((m) => functionOf(m[1]!));
    expect(allocatedAt.sort()).toEqual(USER);
    // Folded stacks: scope path, then frames outermost first, so each line's last frame is the user's function.
    const lines = out.folded.trim().split("\n");
    const innermost = lines.map((line) => {
      const frames = line.slice(0, line.lastIndexOf(" ")).split(";");
      expect(frames.slice(0, 2), line).toEqual(["root", "level"]);
      return functionOf(frames.at(-1)!);
    });
    expect(innermost.sort()).toEqual(USER);
  });

  test("the LeakError keeps its name: String(err) reads 'LeakError [ERR_LEAK]: ...'", async () => {
    const out = await runLeak(minify);
    expect(out.name).toBe("LeakError");
    expect(out.code).toBe("ERR_LEAK");
    expect(out.error).toMatch(/^LeakError \[ERR_LEAK\]: /);
  });
});

/*
 * The debug paths: a debug container's creation stack and a debug wrapper's
 * free stacks (freed directly, through a container's dispose(), through a
 * scope over the debug stack) start at the user's function in both bundles,
 * found by core's captureStack (function identity), not by file or class name.
 */

interface DebugOutput {
  containerLeak: string;
  doubleFree: string;
  containerDoubleFree: string;
  writeAfterFree: string;
}

async function runDebugStacks(minify: boolean): Promise<DebugOutput> {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, minify ? "debug-stacks.min.mjs" : "debug-stacks.mjs");
  await bundleProgram("debug-stacks.ts", { minify, platform: "node", file });
  return JSON.parse(execFileSync(process.execPath, ["--expose-gc", file], { encoding: "utf8" })) as DebugOutput;
}

describe.each([
  ["plain", false],
  ["minified", true],
])("debug stacks in a %s bundle", (_mode, minify) => {
  test("start at the user's function: container creation, first freed (directly, through a container, through a scope)", async () => {
    const out = await runDebugStacks(minify);
    expect(out.containerLeak).toMatch(/^memkit: DynamicArray<u32> "forgotten" was garbage-collected without dispose\(\)/);
    expect(out.doubleFree).toMatch(/^DoubleFreeError \[ERR_DOUBLE_FREE\]: /);
    expect(out.writeAfterFree).toMatch(/^CorruptionError \[ERR_CORRUPTION\]: /);
    const first = (text: string, label: string): string => functionOf(new RegExp(`\\n {2}${label} at (.*)`).exec(text)?.[1] ?? text);
    expect({
      created: first(out.containerLeak, "Created"),
      freedDirectly: first(out.doubleFree, "first freed"),
      freedByContainer: first(out.containerDoubleFree, "first freed"),
      freedThroughScope: first(out.writeAfterFree, "freed"),
    }).toEqual({ created: "makeForgotten", freedDirectly: "releaseBlock", freedByContainer: "dropArray", freedThroughScope: "freeThroughScope" });
  });
});
