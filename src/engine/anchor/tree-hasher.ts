/**
 * Hashes the leaves `verify --anchor` collects into the roots it needs: in this thread, or
 * in a worker thread for a large store, so the tree's ~3 SHA-256 blocks per event run on
 * the core verify's walk leaves idle instead of lengthening the walk. One accumulator
 * (format/merkle-stream.ts) either way: only the work moves.
 *
 * The walk hands over event hashes in batches of BATCH_LEAVES (2 MiB, transferred, not
 * copied); the worker keeps the roots of the sizes asked for and every full chunk's root.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MERKLE_HASH_BYTES } from '../../format/merkle.js';
import { MerkleAccumulator } from '../../format/merkle-stream.js';

export const BATCH_LEAVES = 65536;
/** Stores smaller than this hash their tree inline (a worker's start-up is not worth it). */
export const TREE_WORKER_MIN_BYTES = 16 * 1024 * 1024;

export interface TreeResult {
  count: number;
  /** size → MTH of the first `size` leaves, for every wanted size ≤ count. */
  roots: Map<number, Uint8Array>;
  /** Every full chunk's root, back to back. */
  chunkRoots: Uint8Array;
}

export interface TreeHasher {
  push(buf: Uint8Array, off: number): void;
  finish(): Promise<TreeResult>;
}

/** What the worker runs, and the inline hasher: push event hashes, snapshot wanted sizes. */
export class TreeJob {
  private readonly acc: MerkleAccumulator;
  private readonly roots = new Map<number, Uint8Array>();
  private chunkRoots = new Uint8Array(64 * MERKLE_HASH_BYTES);
  private chunks = 0;

  constructor(private readonly wanted: ReadonlySet<number>) {
    this.acc = new MerkleAccumulator((c, root) => {
      if ((c + 1) * MERKLE_HASH_BYTES > this.chunkRoots.length) {
        const bigger = new Uint8Array(this.chunkRoots.length * 2);
        bigger.set(this.chunkRoots);
        this.chunkRoots = bigger;
      }
      this.chunkRoots.set(root, c * MERKLE_HASH_BYTES);
      this.chunks = c + 1;
    });
  }

  push(buf: Uint8Array, off: number): void {
    this.acc.pushEventHash(buf, off);
    if (this.wanted.has(this.acc.count)) this.roots.set(this.acc.count, this.acc.root());
  }

  result(): TreeResult {
    return { count: this.acc.count, roots: this.roots, chunkRoots: this.chunkRoots.subarray(0, this.chunks * MERKLE_HASH_BYTES) };
  }
}

class InlineTreeHasher implements TreeHasher {
  private readonly job: TreeJob;
  constructor(wanted: ReadonlySet<number>) {
    this.job = new TreeJob(wanted);
  }
  push(buf: Uint8Array, off: number): void {
    this.job.push(buf, off);
  }
  finish(): Promise<TreeResult> {
    return Promise.resolve(this.job.result());
  }
}

export interface TreeWorkerResultMessage {
  count: number;
  roots: [number, Uint8Array][];
  chunkRoots: Uint8Array;
}

class WorkerTreeHasher implements TreeHasher {
  private batch = new Uint8Array(BATCH_LEAVES * MERKLE_HASH_BYTES);
  private inBatch = 0;
  private readonly done: Promise<TreeResult>;

  constructor(private readonly worker: Worker) {
    // never keeps the process alive on its own (an error before finish() just exits); finish() refs it
    worker.unref();
    this.done = new Promise((resolve, reject) => {
      worker.once('message', (m: TreeWorkerResultMessage) => resolve({ count: m.count, roots: new Map(m.roots), chunkRoots: m.chunkRoots }));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`tree worker exited (${code}) before its result`)));
    });
    this.done.catch(() => {}); // observed in finish()
  }

  push(buf: Uint8Array, off: number): void {
    const batch = this.batch;
    const p = this.inBatch * MERKLE_HASH_BYTES;
    for (let i = 0; i < MERKLE_HASH_BYTES; i++) batch[p + i] = buf[off + i]!; // no view object per leaf
    if (++this.inBatch === BATCH_LEAVES) this.flush();
  }

  private flush(): void {
    if (this.inBatch === 0) return;
    const full = this.batch;
    this.worker.postMessage({ leaves: full.buffer, count: this.inBatch }, [full.buffer as ArrayBuffer]);
    this.batch = new Uint8Array(BATCH_LEAVES * MERKLE_HASH_BYTES);
    this.inBatch = 0;
  }

  async finish(): Promise<TreeResult> {
    this.flush();
    this.worker.ref();
    this.worker.postMessage({ end: true });
    try {
      return await this.done;
    } finally {
      void this.worker.terminate();
    }
  }
}

/**
 * A worker for a large store when the build has one (not under vitest), a core is left
 * for it (verify's walk and its precheck worker take two), and SEGLOG_ANCHOR_WORKER is
 * not 0; else inline. On 2 cores inline was faster: `verify --anchor` 1.88-2.00 s wall,
 * 3.1-3.2 s CPU against 1.97-2.03 s and 3.5 s with the worker (plain verify 1.62-1.74 s,
 * 1M events, load 1.1; docs/DECISIONS.md).
 */
export function startTreeHasher(wanted: ReadonlySet<number>, storeBytes: number): TreeHasher {
  const env = process.env.SEGLOG_ANCHOR_WORKER;
  const url = new URL('./tree-worker.js', import.meta.url);
  const want = env === '1' || (env !== '0' && storeBytes >= TREE_WORKER_MIN_BYTES && availableParallelism() >= 3);
  if (!want || !import.meta.url.endsWith('.js')) return new InlineTreeHasher(wanted);
  try {
    return new WorkerTreeHasher(new Worker(url, { workerData: { wanted: [...wanted] } }));
  } catch {
    return new InlineTreeHasher(wanted);
  }
}
