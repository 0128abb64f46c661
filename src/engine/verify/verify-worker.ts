/**
 * Worker thread of parallel verify (see verify-parallel.ts): checks the event hashes of
 * whole segment files ahead of the main thread's walk; for dump (dump-verdicts.ts), their
 * frame CRCs and payloads' canonical-JSON test. Loaded from the built JS only.
 *
 * Two ways in: `workerData` is the job, or the worker was started warm (warm-precheck.ts)
 * and gets the job as its one message once verify knows its segments.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createHasher } from '../../format/hash/blake3.js';
import { RealFs } from '../io/real-fs.js';
import { prepareSimdHasher, runPrecheckWorker, type WorkerJob } from './verify-parallel.js';
import type { WarmPrecheckData } from './warm-precheck.js';

// dump's precheck and sidx rebuild's footer check hash nothing (verify-parallel.ts)
const needsHasher = (job: WorkerJob): boolean => !job.dump && !job.footersOnly;
const data = workerData as WorkerJob | WarmPrecheckData;
if ('warm' in data) {
  // a warm worker for verify, which hashes: both hashers ready before the job comes
  const hasher = data.hashes ? await createHasher() : null;
  if (data.hashes) prepareSimdHasher();
  // its job comes by its parent, or by the port of the job thread that adopted it (warm-precheck.ts precheckBeside);
  // closing that port (a job thread that ends without using it) ends this thread
  const port = data.port ?? parentPort!;
  port.once('message', async (job: WorkerJob) => {
    runPrecheckWorker(job, new RealFs(), needsHasher(job) ? (hasher ?? (await createHasher())) : null);
    port.close();
  });
} else {
  runPrecheckWorker(data, new RealFs(), needsHasher(data) ? await createHasher() : null);
}
