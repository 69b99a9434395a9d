export { bundleWorker } from "./bundle-worker.js";
export { startWorkers, type WorkerRun } from "./run-workers.js";
export { fillPattern, holdsPattern } from "./pattern.js";
export { REMOTE_FREE_WORKER, type RemoteFreeJob } from "./workers/index.js";
