/** Stable codes carried by every memkit error. */
export type AllocatorErrorCode =
  | "ERR_ALLOCATOR"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_OUT_OF_MEMORY"
  | "ERR_INVALID_POINTER"
  | "ERR_DOUBLE_FREE"
  | "ERR_LEAK"
  | "ERR_CORRUPTION"
  | "ERR_DESTROYED";

/** Class names by code, spelled out so a minified bundle still prints them. */
const NAMES: Readonly<Record<AllocatorErrorCode, string>> = {
  ERR_ALLOCATOR: "AllocatorError",
  ERR_INVALID_ARGUMENT: "InvalidArgumentError",
  ERR_OUT_OF_MEMORY: "OutOfMemoryError",
  ERR_INVALID_POINTER: "InvalidPointerError",
  ERR_DOUBLE_FREE: "DoubleFreeError",
  ERR_LEAK: "LeakError",
  ERR_CORRUPTION: "CorruptionError",
  ERR_DESTROYED: "DestroyedError",
};

/** Base class of every error memkit throws; `code` is stable, the message is for people. */
export class AllocatorError extends Error {
  /** A stable, machine-readable code. */
  readonly code: AllocatorErrorCode;

  constructor(message: string, code: AllocatorErrorCode = "ERR_ALLOCATOR", options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    // A fixed string, not new.target.name: minifiers rename classes.
    this.name = NAMES[code];
    // Lead the printed stack with "Name [CODE]: message", as Node's own errors do.
    const stack = this.stack;
    if (typeof stack === "string") {
      const frames = stack.indexOf("\n    at ");
      this.stack = `${this.name} [${code}]: ${message}${frames >= 0 ? stack.slice(frames) : ""}`;
    }
  }

  /** `LeakError [ERR_LEAK]: message`, as the printed stack starts. */
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

/** A size, alignment, option or other argument is outside what the callee accepts. */
export class InvalidArgumentError extends AllocatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "ERR_INVALID_ARGUMENT", options);
  }
}

/** The request cannot be met: the backing memory (or a budget) is exhausted. */
export class OutOfMemoryError extends AllocatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "ERR_OUT_OF_MEMORY", options);
  }
}

/** A pointer this allocator did not hand out (foreign, interior, out of range, not a number). */
export class InvalidPointerError extends AllocatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "ERR_INVALID_POINTER", options);
  }
}

/** A block was freed twice. */
export class DoubleFreeError extends AllocatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "ERR_DOUBLE_FREE", options);
  }
}

/** One block that was still live when its owner was torn down. */
export interface LeakedBlock {
  /** Scope path that owns the block, e.g. `root/physics`. */
  scope: string;
  ptr: number;
  size: number;
  /** The allocation's call stack, when stacks were captured. */
  stack?: string;
}

/** Structured content of a {@link LeakError}. */
export interface LeakReport {
  /** Scope paths that still held memory (or live children). */
  scopes: string[];
  /** Total leaked blocks and bytes. */
  count: number;
  bytes: number;
  /** Every leaked block known (stacks included when captured). */
  blocks: LeakedBlock[];
}

/** Memory (or a child scope) was still live when its owner was torn down. */
export class LeakError extends AllocatorError {
  /** The full structured list behind the message. */
  readonly report: LeakReport;

  constructor(message: string, report: LeakReport, options?: ErrorOptions) {
    super(message, "ERR_LEAK", options);
    this.report = report;
  }
}

/** A guard, fill pattern or heap invariant was found broken: something wrote where it must not. */
export class CorruptionError extends AllocatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "ERR_CORRUPTION", options);
  }
}

/**
 * An allocator, scope, container or memory was used after it was destroyed,
 * disposed, detached or shut down. Every package throws this one class for it.
 */
export class DestroyedError extends AllocatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, "ERR_DESTROYED", options);
  }
}

/**
 * The standard use-after-destroy error: `who` names the call (`root/physics.allocate`),
 * `what` the object and how it ended (`this scope was disposed`), `next` what to do.
 */
export function destroyedError(who: string, what: string, next: string): DestroyedError {
  return new DestroyedError(`${who}: ${what}; ${next}`);
}
