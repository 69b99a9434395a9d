import { describe, expect, it } from "vitest";
import { captureStack, markEntryPoints } from "../src/index.js";

/*
 * captureStack: the current call stack from the user's code, memkit's
 * marked entry points (and what they called) cut off by function identity,
 * so the cut holds whatever the functions are named or wherever they live.
 */

/** Function names of a stack text's frames, innermost first. */
function names(text: string): string[] {
  return text
    .split("\n")
    .map((l) => /^\s+at (?:async )?([^\s(]+)/.exec(l)?.[1] ?? l.trim())
    .filter((n) => n !== "");
}

class Library {
  constructor(private readonly inner: Inner) {}
  run(): string {
    return this.inner.work();
  }
}
class Inner {
  work(): string {
    return helper();
  }
}
function helper(): string {
  return captureStack(8).text;
}
markEntryPoints(Library, Inner);

describe("captureStack", () => {
  it("starts at the caller of the outermost marked frame, in a text formatted when read", () => {
    function userCode(): string {
      return new Library(new Inner()).run();
    }
    function game(): string {
      return userCode();
    }
    const frames = names(game());
    // helper is not marked, but Inner.work (marked) called it: everything from the outermost marked frame up is cut.
    expect(frames[0]).toBe("userCode");
    expect(frames[1]).toBe("game");
    expect(frames.some((f) => /Library|Inner|helper|captureStack/.test(f))).toBe(false);
  });

  it("keeps `depth` frames after the cut", () => {
    function a(): string {
      return b();
    }
    function b(): string {
      return c();
    }
    function c(): string {
      return new Library(new Inner()).run();
    }
    expect(names(a())).toHaveLength(8);
    function shallow(): string {
      return captureStack(2).text;
    }
    expect(names(shallow())).toEqual(["shallow", expect.any(String)]);
  });

  it("with `above`, starts below the first of them on the stack, and recognises minified names by identity", () => {
    // A minifier renames functions: the marked function's name says nothing, its identity does.
    const renamed = { x: (f: () => string): string => f() }.x;
    markEntryPoints(renamed);
    function userCode(): string {
      return renamed(() => captureStack(4).text);
    }
    expect(names(userCode())[0]).toBe("userCode");
    function notOnStack(): void {}
    function direct(): string {
      return captureStack(3, notOnStack, direct).text;
    }
    function outer(): string {
      return direct();
    }
    expect(names(outer())[0]).toBe("outer");
  });
});
