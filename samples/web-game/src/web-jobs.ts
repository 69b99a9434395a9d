import { JobError, type JobThread, type JobWorkerData, type SpawnJobWorker } from "@memkit/game-loop/browser";

/**
 * The job system's spawner for a page: each job worker is a module Web
 * Worker running `script` (the bundled src/job-worker.ts), sent its
 * JobWorkerData (the memory's share, the job board) in one message. It
 * answers "ready" once attached and "exited" when its loop ends.
 */
export function webWorkerSpawner(script: URL): SpawnJobWorker {
  return (data: JobWorkerData): JobThread => {
    const worker = new Worker(script, { type: "module", name: data.threadName });
    let markExited!: () => void;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const ready = new Promise<void>((resolve, reject) => {
      worker.addEventListener("message", (event: MessageEvent<unknown>) => {
        if (event.data === "ready") resolve();
        else if (event.data === "exited") {
          markExited();
          reject(new JobError(`job worker ${data.threadName} exited before it attached to the memory.`));
        }
      });
      worker.addEventListener("error", (event: ErrorEvent) => {
        // An error after "ready" is already settled here; chunk failures reach the main thread on the job board.
        reject(new JobError(`job worker ${data.threadName} failed to start: ${event.message || "the worker script did not load"}`));
      });
    });
    // A rejection after the system has started (settled promises ignore it) must not surface as unhandled.
    ready.catch(() => {});
    worker.postMessage(data);
    return {
      ready,
      exited,
      terminate: () => {
        worker.terminate();
        markExited();
        return Promise.resolve();
      },
    };
  };
}
