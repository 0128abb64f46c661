/** Worker thread of tree-hasher.ts: hashes batches of event hashes into the tree's roots. Loaded from the built JS only. */
import { parentPort, workerData } from 'node:worker_threads';
import { MERKLE_HASH_BYTES } from '../../format/merkle.js';
import { TreeJob, type TreeWorkerResultMessage } from './tree-hasher.js';

const job = new TreeJob(new Set((workerData as { wanted: number[] }).wanted));
parentPort!.on('message', (m: { leaves?: ArrayBuffer; count?: number; end?: boolean }) => {
  if (m.end) {
    const r = job.result();
    const msg: TreeWorkerResultMessage = { count: r.count, roots: [...r.roots], chunkRoots: r.chunkRoots };
    parentPort!.postMessage(msg);
    return;
  }
  const leaves = new Uint8Array(m.leaves!);
  for (let i = 0; i < m.count!; i++) job.push(leaves, i * MERKLE_HASH_BYTES);
});
