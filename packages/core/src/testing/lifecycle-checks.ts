import { hex } from "../format.js";
import type { ResolvedContractOptions } from "./contract-checks.js";
import { disposeAfter, toSubject, type ContractFactory } from "./subject.js";
import { ContractSkip, ContractViolation, LiveBlocks, expect } from "./live-blocks.js";

/*
 * The lifecycle part of the contract: a second handle attached to the same
 * allocator serves, frees and checks the same blocks; a destroyed allocator
 * refuses every call with DestroyedError.
 */

type Check = (factory: ContractFactory, options: ResolvedContractOptions) => void;

/** Runs `fn` and returns the `code` of what it threw (undefined when it returned). */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ContractViolation) throw err;
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? code : `${err instanceof Error ? err.name : typeof err}`;
  }
  return undefined;
}

export const lifecycleChecks = {
  /**
   * Blocks allocated through one handle are owned, sized, freed and checked
   * through a second handle attached from the control block, and the other
   * way round; both handles' stats agree; detaching the second leaves the
   * first working.
   */
  attach(factory, o) {
    const subject = toSubject(factory());
    disposeAfter(() => {
      if (subject.attach === undefined) throw new ContractSkip("the factory gives no attach() hook");
      const a = subject.allocator;
      const live = new LiveBlocks(a);
      const small = Math.min(600, o.maxBlockSize);
      for (let i = 0; i < 200; i++) live.allocate((i * 37) % small, i % 5 === 0 ? Math.min(64, o.maxAlign) : undefined);
      const second = subject.attach();
      const b = second.allocator;
      expect(b !== a, `${a.name}: attach() returned the same handle`);
      disposeAfter(() => {
        const viaB = new LiveBlocks(b);
        for (const block of live.blocks) {
          expect(b.owns(block.ptr), `${b.name}: the attached handle does not own ${hex(block.ptr)}, allocated through the first`);
          expect(b.allocatedSize(block.ptr) === a.allocatedSize(block.ptr), `${b.name}: allocatedSize(${hex(block.ptr)}) differs between the handles`);
        }
        // Free every other block through the second handle; allocate more through it.
        for (let i = live.blocks.length - 1; i >= 0; i -= 2) {
          live.verify(live.blocks[i]!);
          b.deallocate(live.blocks[i]!.ptr);
          live.blocks.splice(i, 1);
        }
        for (let i = 0; i < 100; i++) viaB.allocate((16 + i * 13) % (o.maxBlockSize + 1));
        subject.check?.();
        second.check?.();
        const sa = a.stats();
        const sb = b.stats();
        expect(sa.liveCount === sb.liveCount && sa.liveBytes === sb.liveBytes, `${a.name}: the handles disagree on live blocks (${sa.liveCount}/${sa.liveBytes} B vs ${sb.liveCount}/${sb.liveBytes} B)`);
        // Blocks of the second handle are the first's too.
        for (const block of viaB.blocks) {
          expect(a.owns(block.ptr), `${a.name}: does not own ${hex(block.ptr)}, allocated through the attached handle`);
        }
        live.verifyAll();
        viaB.verifyAll();
        viaB.blocks.forEach((block) => a.deallocate(block.ptr));
        viaB.blocks.length = 0;
      }, second.dispose);
      // The first handle is untouched by the second's detach.
      live.verifyAll();
      live.allocate(Math.min(100, o.maxBlockSize));
      live.freeAll();
      subject.check?.();
    }, subject.dispose);
  },

  /** After destroy, allocate, deallocate, reallocate and allocatedSize throw DestroyedError (ERR_DESTROYED). */
  "after-destroy"(factory) {
    const subject = toSubject(factory());
    if (subject.destroy === undefined) {
      subject.dispose?.();
      throw new ContractSkip("the factory gives no destroy() hook");
    }
    const a = subject.allocator;
    const p = a.allocate(32);
    subject.destroy();
    const calls: [string, () => unknown][] = [
      ["allocate(16)", () => a.allocate(16)],
      [`deallocate(${hex(p)})`, () => a.deallocate(p)],
      [`reallocate(${hex(p)}, 64)`, () => a.reallocate(p, 64)],
      [`allocatedSize(${hex(p)})`, () => a.allocatedSize(p)],
    ];
    for (const [what, call] of calls) {
      const code = codeOf(call);
      expect(code === "ERR_DESTROYED", `${a.name}.${what} after destroy: expected DestroyedError (ERR_DESTROYED), got ${code ?? "a return"}`);
    }
  },
} satisfies Record<string, Check>;
