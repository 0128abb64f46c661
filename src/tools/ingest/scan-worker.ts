/**
 * Worker thread of `append --file` (see scan-pool.ts): scans the lines of shared chunks
 * while the main thread appends the lines before them. Loaded from the built JS only.
 * Two ways in: `workerData` is the job, or the worker was started warm (scan-pool.ts startWarmScan)
 * and gets the job as its one message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WarmData } from '../../engine/io/warm-worker.js';
import { runScanWorker, type ScanJob } from './scan-pool.js';

const data = workerData as ScanJob | WarmData;
if ('warm' in data) parentPort!.once('message', (job: ScanJob) => runScanWorker(job));
else runScanWorker(data);
