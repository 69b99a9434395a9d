import { describe, expect, it } from "vitest";
import { markEntryPoints } from "@memkit/core";
import { CallStacks, MEMKIT_FRAME_PATTERN, parseFrames, shortFrame } from "../src/call-stacks.js";

const V8_STACK = [
  "Error",
  "    at CallStacks.capture (/app/node_modules/@memkit/trace-allocator/dist/call-stacks.js:40:17)",
  "    at TraceAllocator.allocate (/app/node_modules/@memkit/trace-allocator/dist/trace-allocator.js:90:20)",
  "    at DynamicArray.push (/repo/packages/containers/src/dynamic-array.ts:55:9)",
  "    at loadChunk (/game/src/level/streaming.ts:88:14)",
  "    at /repo/packages/core/src/looks-internal-but-is-not-leading.ts:3:1",
  "    at LevelStreamer.update (file:///game/src/level/streaming.ts:41:5)",
  "    at new Promise (<anonymous>)",
].join("\n");

const FIREFOX_STACK = [
  "capture@http://localhost:5173/node_modules/@memkit/trace-allocator/dist/call-stacks.js:40:17",
  "allocate@http://localhost:5173/node_modules/@memkit/trace-allocator/dist/trace-allocator.js:90:20",
  "loadChunk@http://localhost:5173/src/level/streaming.ts?t=123:88:14",
  "@http://localhost:5173/src/main.ts:3:1",
  "",
].join("\n");

describe("parseFrames", () => {
  it("drops the header and memkit's leading frames, keeps later ones, and normalises V8 frames", () => {
    expect(parseFrames(V8_STACK, MEMKIT_FRAME_PATTERN, 10)).toEqual([
      "loadChunk (/game/src/level/streaming.ts:88:14)",
      "/repo/packages/core/src/looks-internal-but-is-not-leading.ts:3:1",
      "LevelStreamer.update (file:///game/src/level/streaming.ts:41:5)",
      "new Promise (<anonymous>)",
    ]);
  });

  it("reads SpiderMonkey/JavaScriptCore frames (fn@url:line:col)", () => {
    expect(parseFrames(FIREFOX_STACK, MEMKIT_FRAME_PATTERN, 10)).toEqual([
      "loadChunk (http://localhost:5173/src/level/streaming.ts?t=123:88:14)",
      "http://localhost:5173/src/main.ts:3:1",
    ]);
  });

  it("keeps at most `depth` frames", () => {
    expect(parseFrames(V8_STACK, MEMKIT_FRAME_PATTERN, 2)).toHaveLength(2);
  });
});

describe("shortFrame", () => {
  it.each([
    ["loadChunk (/game/src/level/streaming.ts:88:14)", "loadChunk (level/streaming.ts:88)"],
    ["LevelStreamer.update (file:///game/src/level/streaming.ts:41:5)", "LevelStreamer.update (level/streaming.ts:41)"],
    ["loadChunk (http://localhost:5173/src/level/streaming.ts?t=123:88:14)", "loadChunk (level/streaming.ts:88)"],
    ["/repo/main.ts:3:1", "repo/main.ts:3"],
    ["new Promise (<anonymous>)", "new Promise (<anonymous>)"],
    ["C:\\game\\src\\level\\a.ts:7:2", "level/a.ts:7"],
  ])("%s -> %s", (frame, short) => {
    expect(shortFrame(frame)).toBe(short);
  });
});

describe("CallStacks", () => {
  const stacks = new CallStacks(12, MEMKIT_FRAME_PATTERN);
  function siteA(): number {
    return stacks.capture();
  }
  function siteB(): number {
    return stacks.capture();
  }

  it("interns: one id per distinct stack, whose first frame is the caller", () => {
    const ids = new Set<number>();
    for (let i = 0; i < 1000; i++) ids.add(siteA());
    expect(ids.size).toBe(1);
    const [a] = [...ids];
    const b = siteB();
    expect(b).not.toBe(a);
    expect(stacks.size).toBe(2);
    expect(stacks.get(a!)!.split("\n")[0]).toMatch(/^siteA \(.*call-stacks\.test\.ts:\d+:\d+\)$/);
    expect(stacks.get(b)!.split("\n")[0]).toMatch(/^siteB /);
    // The same function called from another line is another stack.
    expect(siteA()).not.toBe(a);
    expect(stacks.size).toBe(3);
  });

  it("keys by the frames below `above`, and takes the whole stack when `above` is not on it", () => {
    const keyed = new CallStacks(12, MEMKIT_FRAME_PATTERN);
    function entry(): number {
      return keyed.capture(entry);
    }
    function callerOne(): number {
      return entry();
    }
    function callerTwo(): number {
      return entry();
    }
    const ids = new Set<number>();
    for (let i = 0; i < 100; i++) ids.add(callerOne()); // the same call path, the same id
    expect(ids.size).toBe(1);
    const [one] = [...ids];
    expect(callerTwo()).not.toBe(one);
    // The stack starts at entry's caller: `above` and everything above it are skipped by identity.
    expect(keyed.get(one!)!.split("\n")[0]).toMatch(/^callerOne /);
    function notOnStack(): number {
      return 0;
    }
    const whole = keyed.capture(notOnStack);
    expect(whole).not.toBe(0);
    expect(keyed.get(whole)!.split("\n").length).toBeGreaterThan(1);
  });

  it("keeps `depth` frames and maps id 0 to no stack", () => {
    const shallow = new CallStacks(2, MEMKIT_FRAME_PATTERN);
    expect(shallow.get(shallow.capture())!.split("\n")).toHaveLength(2);
    expect(shallow.get(0)).toBeUndefined();
    expect(shallow.intern("")).toBe(0);
  });
});

describe("memkit's frames by identity (bundled and minified builds)", () => {
  // A pattern that matches no path: here paths play no part, as in a bundle where all code is one file.
  const NO_PATH = /(?!)/;

  it("starts below `above` without reading paths or names", () => {
    const stacks = new CallStacks(12, NO_PATH);
    function allocateLike(): number {
      return stacks.capture(allocateLike);
    }
    function userLoad(): number {
      return allocateLike();
    }
    expect(stacks.get(userLoad())!.split("\n")[0]).toMatch(/^userLoad /);
  });

  it("cuts below the outermost frame of a marked entry point: a container's public method, its helpers and constructor", () => {
    const stacks = new CallStacks(12, NO_PATH);
    const ids: number[] = [];
    function allocateLike(): void {
      ids.push(stacks.capture(allocateLike));
    }
    class Table {
      constructor() {
        this.#grow();
      }
      set(): void {
        this.insert();
      }
      insert(): void {
        this.#grow();
      }
      #grow(): void {
        allocateLike();
      }
    }
    markEntryPoints(Table);
    function makeTable(): Table {
      return new Table();
    }
    function fillTable(table: Table): void {
      table.set();
    }
    fillTable(makeTable());
    expect(ids.map((id) => stacks.get(id)!.split("\n")[0])).toEqual([expect.stringMatching(/^makeTable /), expect.stringMatching(/^fillTable /)]);
  });

  it("keeps a user function that only shares a name with a marked one", () => {
    const stacks = new CallStacks(12, NO_PATH);
    function allocateLike(): number {
      return stacks.capture(allocateLike);
    }
    class Marked {
      set(): number {
        return allocateLike();
      }
    }
    markEntryPoints(Marked);
    // A user method named `set` too: same name, another function.
    const user = {
      set(): number {
        return allocateLike();
      },
    };
    function caller(): number {
      return user.set();
    }
    expect(stacks.get(caller())!.split("\n")[0]).toMatch(/^Object\.set /);
    expect(new Marked().set()).not.toBe(0);
  });
});

describe("runtime frames", () => {
  it("drops Node's own frames wherever they stand", () => {
    const raw = [
      "Error",
      "    at loadLevel (/game/dist/level.js:10:5)",
      "    at async ModuleLoader.import (node:internal/modules/esm/loader:606:24)",
      "    at main (/game/dist/main.js:3:1)",
      "    at asyncRunEntryPointWithESMLoader (node:internal/modules/run_main:117:5)",
    ].join("\n");
    expect(parseFrames(raw, MEMKIT_FRAME_PATTERN, 10)).toEqual(["loadLevel (/game/dist/level.js:10:5)", "main (/game/dist/main.js:3:1)"]);
  });
});
