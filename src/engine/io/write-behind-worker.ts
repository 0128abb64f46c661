/**
 * Worker thread of a write-behind (see write-behind.ts): completes the chain hashes of a
 * bulk append's queued chunks and writes them, in order. Loaded from the built JS only.
 * Without a BLAKE3 hasher it does nothing: the caller then does every queued write itself.
 * Two ways in: `workerData` is the job, or the worker was started warm
 * (startWarmWriteBehind): its hashers made first, then the job as its one message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { chainHashers } from '../../format/chain-hash.js';
import { createHasher } from '../../format/hash/blake3.js';
import { Blake3Multi } from '../../format/hash/blake3-multi.js';
import type { WarmData } from './warm-worker.js';
import { runWriteBehindWorker, type WriteBehindJob } from './write-behind.js';

const data = workerData as WriteBehindJob | WarmData;
createHasher().then(
  (single) => {
    const hashers = chainHashers(Blake3Multi.create(), single);
    if ('warm' in data) parentPort!.once('message', (job: WriteBehindJob) => runWriteBehindWorker(job, hashers));
    else runWriteBehindWorker(data, hashers);
  },
  () => undefined,
);
