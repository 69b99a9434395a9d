import type { Allocator } from "../types.js";

/** What a factory hands the kit: the allocator, plus optional hooks. */
export interface ContractSubject {
  allocator: Allocator;
  /** Verifies internal invariants (a heap's `check()`); throws on corruption. */
  check?: () => void;
  /** Releases whatever the factory built. */
  dispose?: () => void;
  /**
   * A second handle on the same allocator, attached from its control block
   * (`X.attach(space, controlPtr)`); its `dispose` detaches that handle only.
   * Without it the `attach` check is skipped.
   */
  attach?: () => ContractSubject;
  /** Destroys the allocator itself (not just a handle). Without it the `after-destroy` check is skipped. */
  destroy?: () => void;
}

/** Builds a fresh subject for each check. Returning a bare Allocator is fine too. */
export type ContractFactory = () => ContractSubject | Allocator;

/** Normalises a factory result to a subject. */
export function toSubject(made: ContractSubject | Allocator): ContractSubject {
  return "allocator" in made && typeof (made).allocator === "object" ? (made) : { allocator: made as Allocator };
}


/**
 * Runs `body`, then `dispose` either way. When `body` threw, that error is
 * the one reported: a dispose that fails on the mess a failed check left
 * (a LeakError for blocks it never freed) must not hide it.
 */
export function disposeAfter(body: () => void, dispose: (() => void) | undefined): void {
  let failed = true;
  try {
    body();
    failed = false;
  } finally {
    if (!failed) dispose?.();
    else {
      try {
        dispose?.();
      } catch {
        // the body's error is already on its way
      }
    }
  }
}
