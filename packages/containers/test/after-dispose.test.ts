import { describe, expect, it } from "vitest";
import { DestroyedError } from "@memkit/core";
import { containerSubjects, pages } from "./support/public-methods.js";

// Use after dispose is core's DestroyedError (ERR_DESTROYED) in every
// package; here, for every public method of every container.
describe.each(containerSubjects())("$name after dispose()", (subject) => {
  it("throws DestroyedError naming the container from every method (except the documented few)", () => {
    const allocator = pages();
    for (const method of subject.methods) {
      const c = subject.make(allocator);
      const label = subject.label(c);
      const args = method.args.map((a) => a.good(c));
      subject.dispose(c);
      subject.dispose(c); // idempotent
      if (method.afterDispose === "ok") {
        expect(() => method.call(c, args), method.name).not.toThrow();
        continue;
      }
      let caught: unknown;
      try {
        method.call(c, args);
      } catch (error) {
        caught = error;
      }
      expect(caught, `${subject.name}.${method.name}`).toBeInstanceOf(DestroyedError);
      const error = caught as DestroyedError;
      expect(error.code).toBe("ERR_DESTROYED");
      expect(error.name).toBe("DestroyedError");
      expect(error.message).toBe(`${label} was used after dispose(): its memory was returned to the allocator. Create a new container instead.`);
      expect(String(error)).toMatch(/^DestroyedError \[ERR_DESTROYED\]: /);
    }
    expect(allocator.stats().liveCount).toBe(0);
  });
});
