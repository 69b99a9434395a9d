import { describe, expect, it } from "vitest";
import { entryPointsByName, markEntryPoints } from "../src/index.js";

describe("markEntryPoints / entryPointsByName", () => {
  it("expands a class to its constructor, statics, and the methods and accessors of its prototype chain", () => {
    abstract class Base {
      protected constructor() {}
      dispose(): void {}
    }
    class Table extends Base {
      constructor() {
        super();
      }
      static of(): Table {
        return new Table();
      }
      set(): void {}
      get size(): number {
        return 0;
      }
    }
    markEntryPoints(Table);
    /* eslint-disable @typescript-eslint/unbound-method -- identities, never called */
    const byName = entryPointsByName();
    const has = (name: string, fn: unknown): boolean => (byName.get(name) ?? []).includes(fn as never);
    expect(has("Table", Table)).toBe(true);
    expect(has("Base", Base)).toBe(true);
    expect(has("of", Table.of)).toBe(true);
    expect(has("set", Table.prototype.set)).toBe(true);
    expect(has("dispose", Base.prototype.dispose)).toBe(true);
    expect(has("get size", Object.getOwnPropertyDescriptor(Table.prototype, "size")!.get)).toBe(true);
    expect(has("toString", Object.prototype.toString)).toBe(false);
    /* eslint-enable @typescript-eslint/unbound-method */
  });

  it("takes plain functions, ignores what is not a function, and is idempotent", () => {
    function helper(): void {}
    markEntryPoints(helper, helper);
    markEntryPoints(42 as never, null as never);
    expect(entryPointsByName().get("helper")).toEqual([helper]);
  });

  it("names anonymous functions \"\"", () => {
    const anonymous = [(): void => {}][0]!;
    markEntryPoints(anonymous);
    expect(entryPointsByName().get("")).toContain(anonymous);
  });
});
