/**
 * Worker-thread entry of the drill: explores the crash points it is given and posts the
 * result. Loaded from dist/ only (drill-runner.ts falls back to one thread otherwise).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createHasher } from '../../format/hash/blake3.js';
import { explorePoints, prepareStart } from './crash-explorer.js';
import type { WorkerJob, WorkerMessage } from './drill-runner.js';

/** Progress is posted at most once per this many crash states. */
const PROGRESS_EVERY_STATES = 25;

const job = workerData as WorkerJob;
const post = (m: WorkerMessage): void => parentPort?.postMessage(m);

try {
  const hasher = await createHasher();
  const start = prepareStart(job.spec, hasher);
  const result = explorePoints(
    start,
    job.spec,
    job.opsPerEpisode,
    job.points,
    hasher,
    (done) => {
      if (done % PROGRESS_EVERY_STATES === 0) post({ type: 'progress', statesDone: done });
    },
    job.recoveryPoints,
    job.stop ? () => Atomics.load(job.stop!, 0) !== 0 : undefined,
  );
  post({ type: 'progress', statesDone: result.crashStates + result.recoveryCrashStates });
  post({ type: 'done', result });
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
