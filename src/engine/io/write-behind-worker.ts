/**
 * Worker thread of a write-behind (see write-behind.ts): completes the chain hashes of a
 * bulk append's queued chunks and writes them, in order. Loaded from the built JS only.
 * Without a BLAKE3 hasher it does nothing: the caller then does every queued write itself.
 */
import { workerData } from 'node:worker_threads';
import { chainHashers } from '../../format/chain-hash.js';
import { createHasher } from '../../format/hash/blake3.js';
import { Blake3Multi } from '../../format/hash/blake3-multi.js';
import { runWriteBehindWorker, type WriteBehindJob } from './write-behind.js';

createHasher().then(
  (single) => runWriteBehindWorker(workerData as WriteBehindJob, chainHashers(Blake3Multi.create(), single)),
  () => undefined,
);
