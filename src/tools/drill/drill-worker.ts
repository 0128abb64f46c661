/**
 * Worker-thread entry of the drill: explores the crash points it is given and posts the
 * result. Loaded from dist/ only (drill-runner.ts falls back to one thread otherwise).
 */
import { snapshotHasher } from '../../engine/wal/snapshot.js';
import { parentPort, workerData } from 'node:worker_threads';
import { createHasher } from '../../format/hash/blake3.js';
import { emptyShardResult, explorePoints, prepareStart } from './crash-explorer.js';
import type { WorkerJob, WorkerMessage } from './drill-runner.js';

/** Progress is posted at most once per this many crash states. */
const PROGRESS_EVERY_STATES = 25;

const job = workerData as WorkerJob;
const post = (m: WorkerMessage): void => parentPort?.postMessage(m);

const stopped = (): boolean => job.stop !== undefined && Atomics.load(job.stop, 0) !== 0;

try {
  const hasher = await createHasher();
  await snapshotHasher();
  // stopped while this thread started (Ctrl-C early): preparing the start state alone can take a second
  const start = stopped() ? null : prepareStart(job.spec, hasher);
  const result = start === null ? emptyShardResult(job.spec) : explorePoints(
    start,
    job.spec,
    job.opsPerEpisode,
    job.points,
    hasher,
    (done) => {
      if (done % PROGRESS_EVERY_STATES === 0) post({ type: 'progress', statesDone: done });
    },
    job.recoveryPoints,
    stopped,
  );
  post({ type: 'progress', statesDone: result.crashStates + result.recoveryCrashStates });
  post({ type: 'done', result });
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
