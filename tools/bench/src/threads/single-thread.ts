// Single thread, shared memory against private (issue #14: shared <= 1.15x
// private). One subject per process: V8 makes the allocators' write paths
// polymorphic once a process runs both a private and a shared one
// (docs/perf-log.md, "the page allocator under a lock"), so threads-bench.ts
// runs this script once per subject, alternating, and compares.
//   node --expose-gc dist/threads/single-thread.js --subject generic-shared [--only A,B] [--runs N] [--quick]
// Prints one JSON line: { subject, results: { A: { nsPerOp, runsNsPerOp, gcEvents, verifyErrors }, ... } }.
import { AddressSpace } from "@memkit/core";
import { PageAllocator } from "@memkit/page-allocator";
import { GenericAllocator } from "@memkit/generic-allocator";
import { MemoryGlobals } from "@memkit/memory-globals";
import { GcObserver } from "../gc-observer.js";
import { FULL_WARMUP, runSubject } from "../runner.js";
import type { SubjectFactory } from "../subjects/subject.js";
import { DEFAULT_SEED, FULL_PARAMS, QUICK_PARAMS, generateWorkload } from "../workloads.js";
import { RIG_INITIAL_BYTES, RIG_MAXIMUM_BYTES, RIG_PAGE_SIZE, createRig } from "./rig.js";
import { SINGLE_SUBJECTS, genericSubject, scopeSubject, type SingleResult, type SingleSubjectId } from "./thread-subjects.js";

/** A fresh allocator per subject the runner asks for, over 16 KiB pages in a 64 MiB space committed up front, private or shared. */
function factory(id: SingleSubjectId): SubjectFactory {
  const note = "not measured";
  switch (id) {
    case "generic-private":
      return {
        footprintNote: note,
        footprintAtPeakOnly: true,
        create: () => {
          const space = AddressSpace.create({ initialBytes: RIG_INITIAL_BYTES, maximumBytes: RIG_MAXIMUM_BYTES });
          const pages = new PageAllocator(space, { pageSize: RIG_PAGE_SIZE });
          const generic = new GenericAllocator(pages, {});
          return genericSubject(space, generic, () => {
            generic.destroy();
            pages.destroy();
          });
        },
      };
    case "generic-shared":
      // The per-thread heap of the threads bench: a routed generic allocator over a shared page allocator, with a thread seat.
      return {
        footprintNote: note,
        footprintAtPeakOnly: true,
        create: () => {
          const rig = createRig("heaps");
          const generic = new GenericAllocator(rig.pages, { routes: rig.share.routes });
          return genericSubject(rig.space, generic, () => {
            generic.destroy();
            rig.pages.destroy();
          });
        },
      };
    case "default-private":
    case "default-shared":
      return {
        footprintNote: note,
        footprintAtPeakOnly: true,
        create: () => {
          const memory = MemoryGlobals.init({ shared: id === "default-shared", initialBytes: RIG_INITIAL_BYTES, maximumBytes: RIG_MAXIMUM_BYTES });
          return scopeSubject(memory.space, memory.default, () => memory.shutdown());
        },
      };
  }
}

function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

const argv = process.argv.slice(2);
const id = option(argv, "--subject") as SingleSubjectId;
if (!SINGLE_SUBJECTS.includes(id)) throw new Error(`--subject must be one of ${SINGLE_SUBJECTS.join(", ")}`);
const only = (option(argv, "--only") ?? "A,B").split(",") as ("A" | "B")[];
const quick = argv.includes("--quick");
const runs = Number(option(argv, "--runs") ?? (quick ? 1 : 5));
const gc = new GcObserver();
const results: Record<string, SingleResult> = {};
for (const w of only) {
  const workload = generateWorkload(w, DEFAULT_SEED, quick ? QUICK_PARAMS : FULL_PARAMS);
  const run = await runSubject(factory(id), workload, undefined, { warmup: quick ? { runs: 1, minOps: 0, maxMs: 0 } : FULL_WARMUP, runs }, gc);
  results[w] = { nsPerOp: run.nsPerOp, runsNsPerOp: run.runsNsPerOp, gcEvents: run.gc.count, verifyErrors: run.verifyErrors };
}
gc.disconnect();
console.log(JSON.stringify({ subject: id, results }));
