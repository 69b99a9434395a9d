import { describe, it } from "vitest";
import {
  contractChecks,
  resolveOptions,
  type ContractCheckName,
  type ContractFactory,
  type ContractOptions,
} from "./contract-checks.js";
import { ContractSkip } from "./live-blocks.js";

/**
 * Registers the allocator contract as a vitest suite: one test per check.
 * Every allocator package calls this from its tests. It only works inside a
 * test file that vitest runs (it calls vitest's `describe` and `it`); from a
 * script or another test runner, call `runAllocatorContract`, which
 * runs the same checks and throws at the first failure.
 *
 * ```ts
 * describeAllocatorContract("PageAllocator", () => makePages(), { maxBlockSize: 1 << 20 });
 * ```
 */
export function describeAllocatorContract(name: string, factory: ContractFactory, options: ContractOptions = {}): void {
  const resolved = resolveOptions(options);
  describe(`${name} keeps the allocator contract`, () => {
    for (const check of Object.keys(contractChecks) as ContractCheckName[]) {
      const run = (): void => contractChecks[check](factory, resolved);
      if (options.skip?.includes(check)) it.skip(check, run);
      else {
        it(check, (ctx) => {
          try {
            run();
          } catch (err) {
            // A subject without the hook a check needs shows as skipped, never as passed.
            if (err instanceof ContractSkip) ctx.skip(err.message);
            else throw err;
          }
        });
      }
    }
  });
}
