/**
 * Worker thread of parallel verify (see verify-parallel.ts): checks the event hashes of
 * whole segment files ahead of the main thread's walk; for dump (dump-verdicts.ts), their
 * frame CRCs and payloads' canonical-JSON test. Loaded from the built JS only.
 */
import { workerData } from 'node:worker_threads';
import { createHasher } from '../../format/hash/blake3.js';
import { RealFs } from '../io/real-fs.js';
import { runPrecheckWorker, type WorkerJob } from './verify-parallel.js';

const job = workerData as WorkerJob;
// dump's precheck and sidx rebuild's footer check hash nothing (verify-parallel.ts)
runPrecheckWorker(job, new RealFs(), job.dump || job.footersOnly ? null : await createHasher());
