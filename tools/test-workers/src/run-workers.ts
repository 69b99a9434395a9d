import { Worker } from "node:worker_threads";
import { bundleWorker } from "./bundle-worker.js";

/** Workers started by {@link startWorkers}. */
export interface WorkerRun {
  readonly workers: readonly Worker[];
  /** Resolves when every worker exited; rejects with the first worker's uncaught error. */
  readonly exited: Promise<void>;
}

/**
 * Starts one real `worker_threads` Worker per entry of `data`, each running
 * the bundled script `entry` with that `workerData`.
 */
export async function startWorkers(entry: URL, data: readonly unknown[]): Promise<WorkerRun> {
  const script = await bundleWorker(entry);
  const workers = data.map((workerData) => new Worker(script, { workerData }));
  const exited = Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once("error", reject);
          w.once("exit", () => resolve());
        }),
    ),
  ).then(() => undefined);
  return { workers, exited };
}

/** A worker's next message (rejects on its error, or on an exit before it). */
export function nextMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T): void => {
      off();
      resolve(m);
    };
    const onError = (e: unknown): void => {
      off();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    const onExit = (code: number): void => {
      off();
      reject(new Error(`worker exited with ${code} before answering`));
    };
    const off = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
  });
}
