/**
 * Worker thread of a write-behind (see write-behind.ts): does the queued chunk writes of
 * a bulk append in order. Loaded from the built JS only.
 */
import { workerData } from 'node:worker_threads';
import { runWriteBehindWorker, type WriteBehindJob } from './write-behind.js';

runWriteBehindWorker(workerData as WriteBehindJob);
