export { bundleWorker } from "./bundle-worker.js";
export { startWorkers, nextMessage, type WorkerRun } from "./run-workers.js";
export { Worker } from "node:worker_threads";
export { fillPattern, holdsPattern } from "./pattern.js";
export { REMOTE_FREE_WORKER, type RemoteFreeJob } from "./workers/index.js";
export { remoteFreeStress, type RemoteFreeSubject, type RemoteFreeStressResult } from "./remote-free-stress.js";
export { checkMemoryModule, declaredConstants } from "./memory-module-build.js";
export { outcome } from "./outcome.js";
