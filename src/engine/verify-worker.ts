/**
 * Worker thread of parallel verify (see verify-parallel.ts): checks the event hashes of
 * whole segment files ahead of the main thread's walk. Loaded from the built JS only.
 */
import { workerData } from 'node:worker_threads';
import { createHasher } from '../format/blake3.js';
import { RealFs } from './fs/real-fs.js';
import { runPrecheckWorker, type WorkerJob } from './verify-parallel.js';

runPrecheckWorker(workerData as WorkerJob, new RealFs(), await createHasher());
