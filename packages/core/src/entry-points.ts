/**
 * memkit's entry points: the classes and functions through which user code
 * reaches an allocator on its way to an allocation (containers, allocators
 * that wrap a trace scope, helpers such as `allocateZeroed`).
 *
 * A trace scope recording call stacks drops the frames of these functions and
 * of everything they called, so a recorded stack starts at the user's code.
 * File paths tell memkit's frames apart only in unbundled code; in a bundle
 * everything is one file, and a minifier renames classes and functions. So a
 * frame is matched to a function by identity: `Error.captureStackTrace(holder,
 * fn)` stops at fn's frame, which places fn on the stack whatever its name or
 * file (see @memkit/trace-allocator's call-stacks.ts).
 */

/** A function or a class (also one with a protected constructor); anything else is ignored. */
export interface EntryPoint {
  readonly name: string;
  readonly prototype: unknown;
}

const marked = new Set<EntryPoint>();
let byName: Map<string, EntryPoint[]> | undefined;

/**
 * Marks functions and classes as memkit code that user code enters. A class
 * stands for its constructor, its static methods, and the methods and
 * accessors of its prototype chain (up to `Object.prototype`), including each
 * prototype's `constructor`. Idempotent and cheap for a target already marked,
 * so a base constructor can mark `new.target` on every construction.
 */
export function markEntryPoints(...targets: EntryPoint[]): void {
  for (const target of targets) {
    if (typeof target !== "function" || marked.has(target)) continue;
    marked.add(target);
    byName = undefined;
  }
}

/**
 * Every function behind the marked entry points, by the name the JS engine
 * reports for its frames (`fn.name`; `""` for anonymous ones). Rebuilt after
 * a new mark; meant for stack capture, a cold path.
 */
export function entryPointsByName(): ReadonlyMap<string, readonly EntryPoint[]> {
  if (byName !== undefined) return byName;
  const functions = new Set<EntryPoint>();
  for (const target of marked) collect(target, functions);
  const map = new Map<string, EntryPoint[]>();
  for (const fn of functions) {
    const name = typeof fn.name === "string" ? fn.name : "";
    const list = map.get(name);
    if (list === undefined) map.set(name, [fn]);
    else list.push(fn);
  }
  byName = map;
  return map;
}

function collect(target: EntryPoint, into: Set<EntryPoint>): void {
  into.add(target);
  addFunctionsOf(target, into, false); // static methods
  // A class's prototype chain holds its methods and accessors; a plain function's, only itself as constructor.
  let p: unknown = target.prototype;
  while (typeof p === "object" && p !== null && p !== Object.prototype) {
    addFunctionsOf(p, into, true);
    p = Object.getPrototypeOf(p);
  }
}

function addFunctionsOf(holder: object, into: Set<EntryPoint>, withConstructor: boolean): void {
  for (const key of Reflect.ownKeys(holder)) {
    if (key === "constructor" && !withConstructor) continue;
    if (key === "prototype" || key === "caller" || key === "arguments") continue;
    const d = Reflect.getOwnPropertyDescriptor(holder, key);
    if (d === undefined) continue;
    for (const fn of [d.value, d.get, d.set]) {
      if (typeof fn === "function") into.add(fn as EntryPoint);
    }
  }
}
