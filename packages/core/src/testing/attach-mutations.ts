import type { AddressSpace } from "../address-space.js";
import { AllocatorError } from "../errors.js";
import { hex } from "../format.js";
import { SeededRandom } from "../random.js";
import type { Allocator, Ptr } from "../types.js";
import { ContractViolation } from "./live-blocks.js";

/*
 * Attach trusts nothing: damage a control block in every way a stray write,
 * a truncated save or a wrong pointer can, then attach. The only acceptable
 * outcomes are a CorruptionError at attach, a CorruptionError at the first
 * check(), or a handle that serves blocks that are non-zero, aligned, inside
 * the space and overlap nothing (no live block, no control block, no other
 * new block). Anything else — another error type, a block out of range, an
 * overlap — is a violation.
 */

/** A fresh allocator, built the same way for the same seed, with what the harness may damage. */
export interface MutationSubject {
  space: AddressSpace;
  controlPtr: Ptr;
  /** Byte ranges `[from, to)` holding the state attach reads: the harness damages bytes in these. */
  regions: readonly (readonly [number, number])[];
  /** Blocks live before the damage, `[ptr, size]`: nothing new may overlap them. */
  live: readonly (readonly [Ptr, number])[];
  /** Other byte ranges no block may overlap (control blocks, page maps, headers). */
  reserved?: readonly (readonly [number, number])[];
}

/** What the harness needs to know about one kind of allocator. */
export interface AttachMutationTarget {
  /** Builds a fresh subject (deterministic per seed). */
  build(seed: number): MutationSubject;
  /** Attaches a second handle to the (damaged) control block. */
  attach(space: AddressSpace, controlPtr: Ptr): { allocator: Allocator; check(): void };
}

/** Knobs for {@link runAttachMutations}. */
export interface MutationOptions {
  /** Damaged control blocks to try. @defaultValue 480 */
  cases?: number;
  /** Seed of the whole run. @defaultValue 0x4d555441 */
  seed?: number;
  /** Blocks a surviving handle is asked for. @defaultValue 48 */
  allocations?: number;
}

/** How the cases ended (each case ends one way). */
export interface MutationOutcome {
  /** attach threw CorruptionError. */
  refusedAtAttach: number;
  /** attach worked, the first check() threw CorruptionError. */
  caughtByCheck: number;
  /** The damage hit nothing attach relies on: the handle served only good blocks (or refused with a typed error). */
  servedSafely: number;
  /** Cases per mutation kind. */
  byKind: Record<MutationKind, number>;
}

type MutationKind = "random-bytes" | "truncation" | "bit-flips" | "field-edit";
const KINDS: readonly MutationKind[] = ["random-bytes", "truncation", "bit-flips", "field-edit"];

/** Runs the cases; throws a ContractViolation describing the first unacceptable outcome. */
export function runAttachMutations(target: AttachMutationTarget, options: MutationOptions = {}): MutationOutcome {
  const cases = options.cases ?? 480;
  const rng = new SeededRandom(options.seed ?? 0x4d555441);
  const allocations = options.allocations ?? 48;
  const outcome: MutationOutcome = { refusedAtAttach: 0, caughtByCheck: 0, servedSafely: 0, byKind: { "random-bytes": 0, truncation: 0, "bit-flips": 0, "field-edit": 0 } };
  for (let n = 0; n < cases; n++) {
    const subject = target.build(n);
    const kind = KINDS[n % KINDS.length]!;
    outcome.byKind[kind]++;
    const what = damage(subject, kind, rng);
    const label = `case ${n} (${kind}: ${what})`;
    let handle: { allocator: Allocator; check(): void };
    try {
      handle = target.attach(subject.space, subject.controlPtr);
    } catch (err) {
      expectCorruption(err, `${label}: attach`);
      outcome.refusedAtAttach++;
      continue;
    }
    try {
      handle.check();
    } catch (err) {
      expectCorruption(err, `${label}: check() after attach`);
      outcome.caughtByCheck++;
      continue;
    }
    serve(handle.allocator, subject, allocations, rng, label);
    outcome.servedSafely++;
  }
  return outcome;
}

function expectCorruption(err: unknown, what: string): void {
  if (err instanceof ContractViolation) throw err;
  const code = (err as { code?: unknown }).code;
  if (code !== "ERR_CORRUPTION") {
    throw new ContractViolation(`${what} threw ${err instanceof Error ? `${err.name} (${String(code)}): ${err.message}` : String(err)}; damage must be a CorruptionError`);
  }
}

/** Damages the subject's regions; returns a short description. */
function damage(subject: MutationSubject, kind: MutationKind, rng: SeededRandom): string {
  const u8 = subject.space.u8;
  const [from, to] = subject.regions[rng.int(0, subject.regions.length - 1)]!;
  const at = (): number => rng.int(from, to - 1);
  switch (kind) {
    case "random-bytes": {
      const count = rng.int(1, 16);
      for (let i = 0; i < count; i++) u8[at()] = rng.int(0, 255);
      return `${count} random bytes in ${hex(from)}..${hex(to)}`;
    }
    case "truncation": {
      const cut = at();
      u8.fill(0, cut, to);
      return `zeroed from ${hex(cut)} to ${hex(to)}`;
    }
    case "bit-flips": {
      const count = rng.int(1, 4);
      for (let i = 0; i < count; i++) u8[at()]! ^= 1 << rng.int(0, 7);
      return `${count} flipped bits`;
    }
    case "field-edit": {
      const word = (at() & ~3) >>> 2;
      const u32 = subject.space.u32;
      const old = u32[word]!;
      const values = [0, 0xffffffff, old + 1, old - 1, old * 2, rng.nextU32(), 0x7fffffff, subject.space.byteLength];
      u32[word] = values[rng.int(0, values.length - 1)]! >>> 0;
      return `word ${hex(word << 2)} ${old} -> ${u32[word]}`;
    }
  }
}

/** Asks a surviving handle for blocks and checks every one; typed refusals are fine. */
function serve(a: Allocator, subject: MutationSubject, count: number, rng: SeededRandom, label: string): void {
  const taken: [number, number][] = [];
  const overlaps = (p: number, n: number, ranges: readonly (readonly [number, number])[]): readonly [number, number] | undefined =>
    ranges.find(([lo, hi]) => p < hi && lo < p + Math.max(n, 1));
  for (let i = 0; i < count; i++) {
    const want = rng.int(0, 3) === 0 ? rng.int(1, 70_000) : rng.int(1, 600);
    const align = rng.int(0, 4) === 0 ? 1 << rng.int(3, 10) : 8;
    let p: number;
    try {
      p = a.allocate(want, align);
    } catch (err) {
      if (err instanceof AllocatorError) continue; // out of memory, or damage found now: both refuse safely
      throw new ContractViolation(`${label}: allocate(${want}) threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    const size = a.space.byteLength; // read after the call: an allocator may grow the memory (and a restore serves from a space of its own)
    if (!(Number.isInteger(p) && p > 0 && p % align === 0 && p + want <= size)) {
      throw new ContractViolation(`${label}: allocate(${want}, ${align}) returned ${hex(p)}: not a usable aligned block inside the ${size}-byte space`);
    }
    const hit = overlaps(p, want, subject.live) ?? overlaps(p, want, subject.reserved ?? []) ?? overlaps(p, want, taken) ?? overlaps(p, want, [[0, 8]]);
    if (hit !== undefined) {
      throw new ContractViolation(`${label}: allocate(${want}) returned ${hex(p)}, which overlaps ${hex(hit[0])}..${hex(hit[1])} (live, reserved or already handed out)`);
    }
    taken.push([p, p + want]);
  }
}
