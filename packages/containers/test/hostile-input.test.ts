import { describe, expect, it } from "vitest";
import { AllocatorError, CorruptionError, InvalidArgumentError, InvalidPointerError } from "@memkit/core";
import type { PageAllocator } from "@memkit/page-allocator";
import { containerSubjects, entryPoints, pages, type ArgKind } from "./support/public-methods.js";

// Every public method of every container, each argument in turn replaced by
// each of these, gets a typed error (never a TypeError from `>>>` or a
// typed-array store), and the container keeps its contents and still works.
const BAD: [string, unknown][] = [
  ["1n", 1n],
  ["Symbol()", Symbol("bad")],
  ['"1"', "1"],
  ["null", null],
  ["undefined", undefined],
  ["{}", {}],
  ["NaN", NaN],
  ["1.5", 1.5],
  ["-1", -1],
];

type Outcome = { ok: true } | { returns: unknown } | { error: abstract new (...args: never[]) => Error };

const ok: Outcome = { ok: true };
const invalid: Outcome = { error: InvalidArgumentError };
const range: Outcome = { error: RangeError };

/**
 * What an argument of `kind` does with `v`. A value that is not a number
 * where a number belongs is an InvalidArgumentError; a number that is not a
 * valid index is a RangeError (as documented: out of range, not an integer).
 */
function outcome(kind: ArgKind, v: unknown): Outcome {
  const isNumber = typeof v === "number";
  switch (kind) {
    case "index":
    case "cursor":
      return isNumber ? range : invalid;
    case "optional-index":
      return v === undefined ? ok : isNumber ? range : invalid;
    case "start-cursor":
      return v === -1 ? ok : isNumber ? range : invalid;
    case "number-value":
      return isNumber ? ok : invalid; // NaN, 1.5, -1: typed-array conversion, as documented
    case "bigint-value":
      return typeof v === "bigint" ? ok : invalid;
    case "any":
      return ok;
    case "key:i32":
      return v === -1 ? ok : invalid;
    case "key:f64":
      return isNumber && v === v ? ok : invalid; // NaN is refused: it never equals itself
    case "handle":
      return { error: InvalidPointerError };
    case "alive-handle":
      return { returns: false };
    case "options":
      return v === undefined || (typeof v === "object" && v !== null) ? ok : invalid;
    case "option:capacity":
    case "option:maxLoadFactor":
    case "option:indexBits":
    case "option:debug":
    case "option:kind":
      return v === undefined ? ok : invalid;
    case "option:name":
      return v === undefined || typeof v === "string" ? ok : invalid;
    case "leak-handler":
      return v === undefined || v === null ? ok : invalid;
    case "descriptor":
      return Number.isInteger(v) ? { error: CorruptionError } : invalid; // -1 holds no descriptor; NaN, 1.5 are no pointers
    default:
      // count, key:u32, field, callback, required-options, element-kind,
      // key-kind, allocator, layout, fields, boolean, space: all refused
      return invalid;
  }
}

function attempt(call: () => unknown): { result?: unknown; error?: unknown } {
  try {
    return { result: call() };
  } catch (error) {
    return { error };
  }
}

function expectOutcome(what: string, expected: Outcome, got: { result?: unknown; error?: unknown }, label: string | undefined): void {
  if ("error" in expected) {
    expect(got.error, `${what} should throw ${expected.error.name}`).toBeInstanceOf(expected.error);
    const error = got.error as Error;
    if (expected.error !== RangeError) {
      expect(error, what).toBeInstanceOf(AllocatorError);
      expect((error as AllocatorError).code, what).toMatch(/^ERR_/);
    }
    if (label !== undefined) expect(error.message, what).toContain(label);
  } else {
    expect(got.error, `${what} should not throw`).toBeUndefined();
    if ("returns" in expected) expect(got.result, what).toBe(expected.returns);
  }
}

describe.each(containerSubjects())("$name refuses bad arguments and keeps its contents", (subject) => {
  for (const method of subject.methods) {
    method.args.forEach((arg, position) => {
      it(`${method.name}: argument ${position + 1} (${arg.kind})`, () => {
        for (const [shown, bad] of BAD) {
          const allocator = pages();
          const c = subject.make(allocator);
          const before = subject.snapshot(c);
          const args = method.args.map((a) => a.good(c));
          args[position] = bad;
          const what = `${subject.name}.${method.name} with ${shown} as argument ${position + 1}`;
          const expected = outcome(arg.kind, bad);
          expectOutcome(what, expected, attempt(() => method.call(c, args)), subject.label(c));
          if ("error" in expected) expect(subject.snapshot(c), `${what}: contents after the error`).toEqual(before);
          subject.exercise(c);
          subject.dispose(c);
          expect(allocator.stats().liveCount, `${what}: blocks left after dispose`).toBe(0);
          (allocator as PageAllocator).check();
        }
      });
    });
  }
});

describe("constructors and free functions refuse bad arguments", () => {
  for (const entry of entryPoints()) {
    entry.args.forEach((arg, position) => {
      it(`${entry.name}: argument ${position + 1} (${arg.kind})`, () => {
        for (const [shown, bad] of BAD) {
          const allocator = pages();
          const args = entry.args.map((a) => a.good(allocator));
          args[position] = bad;
          const what = `${entry.name} with ${shown}`;
          const expected = outcome(arg.kind, bad);
          // Constructors' messages name the class; restore's name the call.
          const label = /^new (\w+)/.exec(entry.name)?.[1] ?? /^\w+\.restore/.exec(entry.name)?.[0];
          const got = attempt(() => entry.call(allocator, args));
          try {
            expectOutcome(what, expected, got, label);
          } finally {
            entry.reset?.();
          }
          const made = got.result as { dispose?: () => void } | undefined;
          if (typeof made?.dispose === "function") made.dispose();
          expect(allocator.stats().liveCount, `${what}: blocks left`).toBe(0);
        }
      });
    });
  }
});
