import type { WorkloadId } from "../workloads.js";
import type { SubjectFactory } from "./subject.js";

/** Who a subject is, for grouping rows and evaluating targets. */
export type SubjectKind = "memkit" | "peer" | "baseline";

/** One registered subject. Adding a subject is one line in {@link SUBJECTS}. */
export interface SubjectEntry {
  /** Stable id, used by --subjects and in the JSON output. */
  readonly id: string;
  /** Row label in the table. */
  readonly label: string;
  readonly kind: SubjectKind;
  /** The workloads it runs (the slot allocator only serves <= 1 KiB, the page allocator is for large blocks). */
  readonly workloads: readonly WorkloadId[];
  /** Op-count caps for O(n) subjects: the first N ops of the same sequence are run and scaled to ns/op. */
  readonly opCap?: Partial<Record<WorkloadId, number>>;
  /** Limits of what it serves: a workload asking more (a trace's largest block or alignment) is skipped with a note. */
  readonly serves?: { readonly maxSize?: number; readonly maxAlign?: number };
  /** Loads the adapter; rejects with SubjectUnavailableError when its package is not built yet. */
  readonly load: () => Promise<SubjectFactory>;
}

const ALL: readonly WorkloadId[] = ["A", "B", "C", "D", "E", "T1", "T2"];
const SMALL: readonly WorkloadId[] = ["A", "B", "D", "T1", "T2"];
const LARGE: readonly WorkloadId[] = ["C", "E"];

/**
 * Every subject, in row order. The memkit ones import their package
 * dynamically: until a package is built and exports its class, its row says
 * "not built yet" instead of a number.
 */
export const SUBJECTS: readonly SubjectEntry[] = [
  { id: "bare", label: "bare loop (writes only)", kind: "baseline", workloads: ALL, load: () => import("./bare.js").then((m) => m.load()) },
  { id: "memkit-generic", label: "memkit generic", kind: "memkit", workloads: ALL, load: () => import("./memkit-generic.js").then((m) => m.load()) },
  { id: "memkit-heap", label: "memkit heap (TLSF)", kind: "memkit", workloads: ALL, load: () => import("./memkit-heap.js").then((m) => m.load()) },
  { id: "memkit-slot", label: "memkit slot", kind: "memkit", workloads: SMALL, serves: { maxSize: 1024 }, load: () => import("./memkit-slot.js").then((m) => m.load()) },
  { id: "memkit-page", label: "memkit pages (4 KiB)", kind: "memkit", workloads: LARGE, load: () => import("./memkit-page.js").then((m) => m.load()) },
  // The floor of the slot tier's design with no check, counter or slab return: memkit slot's row minus this row is what those cost.
  { id: "free-list", label: "unchecked free lists (floor)", kind: "baseline", workloads: ["A", "B", "D"], serves: { maxSize: 1024 }, load: () => import("./free-list.js").then((m) => m.load()) },
  { id: "as-tlsf", label: "AS TLSF (wasm)", kind: "peer", workloads: ALL, serves: { maxAlign: 16 }, load: () => import("./as-tlsf.js").then((m) => m.load()) },
  { id: "gc", label: "new Uint8Array (GC)", kind: "peer", workloads: ALL, load: () => import("./gc.js").then((m) => m.load()) },
  // O(n) free and first fit (~15-70 us/op at 10,000 live, ~1 ms/op on all of E): run a prefix of each sequence (A-D: at least 10,000 ops past the fill; traces: their first 20,000 events).
  { id: "thing-malloc", label: "@thi.ng/malloc", kind: "peer", workloads: ALL, opCap: { A: 40_000, B: 30_000, C: 20_000, D: 40_000, E: 4_000, T1: 20_000, T2: 20_000 }, serves: { maxAlign: 8 }, load: () => import("./thing-malloc.js").then((m) => m.load()) },
];

/** The peers every row is compared with, in column order. */
export const PEER_IDS: readonly string[] = ["as-tlsf", "thing-malloc", "gc"];

/** Short column headers for {@link PEER_IDS}. */
export const PEER_SHORT: Readonly<Record<string, string>> = { "as-tlsf": "xAS", "thing-malloc": "xthi.ng", gc: "xGC" };
