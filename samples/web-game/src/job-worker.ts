/*
 * A job worker of the page: the headless game's worker loop (`--workers N`,
 * samples/game-loop/src/jobs/worker-loop.ts) in a Web Worker. The page posts
 * it its JobWorkerData once; it attaches to the shared memory, says "ready",
 * runs chunks until the exit phase (or a failure, which it writes on the job
 * board), then says "exited" and closes.
 */
import { runJobWorker, type JobWorkerData } from "@memkit/game-loop/browser";

/** The worker's global scope, typed here because the project's lib is DOM, not WebWorker. */
const scope = self as unknown as {
  postMessage(message: string): void;
  close(): void;
  onmessage: ((event: MessageEvent<JobWorkerData>) => void) | null;
};

scope.onmessage = (event) => {
  scope.onmessage = null;
  try {
    runJobWorker(event.data, (message) => scope.postMessage(message));
  } finally {
    scope.postMessage("exited");
    scope.close();
  }
};
