// A job worker of the sample game (`--workers N`): see worker-loop.ts. The main thread starts it with src/jobs/job-system.ts.
import { parentPort, workerData } from "node:worker_threads";
import { runJobWorker, type JobWorkerData } from "./worker-loop.js";

runJobWorker(workerData as JobWorkerData, (message) => parentPort!.postMessage(message));
