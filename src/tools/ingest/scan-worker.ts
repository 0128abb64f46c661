/**
 * Worker thread of `append --file` (see scan-pool.ts): scans the lines of shared chunks
 * while the main thread appends the lines before them. Loaded from the built JS only.
 */
import { workerData } from 'node:worker_threads';
import { runScanWorker, type ScanJob } from './scan-pool.js';

runScanWorker(workerData as ScanJob);
