/**
 * The Merkle tree of a whole store, for `head` and `prove` (docs/FORMAT.md 9): every leaf
 * (sequence and `event_hash`, 40 bytes each) held in memory, whole 256-leaf chunk roots
 * taken from `merkle.idx` when it still describes the sealed segments, the rest hashed on
 * demand. Only segments the cache does not cover are read, so the cost of a head is the
 * unsealed tail (plus reading the cache). The cache is refreshed (best effort, atomic,
 * never required) when sealed segments were read that it did not cover.
 *
 * Read-only with respect to the log: it takes no lock; a writer appending meanwhile only
 * adds leaves after the ones read.
 */
import { join } from 'node:path';
import { MERKLE_HASH_BYTES, EMPTY_ROOT, leafHash, nodeHash, splitPoint, type SubtreeHasher } from '../../format/merkle.js';
import { CHUNK_LEAVES, chunkRoot } from '../../format/merkle-stream.js';
import {
  decodeMerkleIndex,
  encodeMerkleIndex,
  MERKLE_INDEX_FILE,
  MERKLE_INDEX_LEAF_BYTES,
  type MerkleIndex,
  type MerkleIndexSegment,
} from '../../format/merkle-index.js';
import { readU64, writeU64 } from '../../format/bytes.js';
import { fingerprintSegment } from '../checkpoint.js';
import type { FileSystem } from '../fs/types.js';
import { exists, readWhole, writeFully } from '../fs/util.js';
import { type SegmentFile, type WalkVisitor, walkStore } from '../walker.js';
import { type GapSeen, LeafCollector, type OpenTxnItems } from './leaf-collector.js';
import type { SegmentReader } from '../segment-reader.js';
import type { Fault } from '../walker.js';

/** Largest merkle.idx read (40 bytes per leaf: about 25 M events). A larger one is rebuilt in memory each time. */
export const MERKLE_INDEX_MAX_BYTES = 1024 * 1024 * 1024;

export type CacheState = 'used' | 'absent' | 'stale' | 'damaged';

export interface LogTreeSource {
  cache: CacheState;
  cacheMessage?: string;
  /** Leaves taken from the cache, and segments read. */
  cachedLeaves: number;
  segmentsRead: number;
  cacheWritten: boolean;
  cacheWriteError?: string;
}

export class LogTree implements SubtreeHasher {
  private seqs: Float64Array;
  private hashes: Uint8Array;
  size = 0;
  private chunkRoots: (Uint8Array | undefined)[] = [];
  /** Leaf count at the end of each segment, by index. */
  readonly leavesAtSegmentEnd: number[] = [];
  readonly gaps: GapSeen[] = [];
  readonly faults: Fault[] = [];
  source: LogTreeSource = { cache: 'absent', cachedLeaves: 0, segmentsRead: 0, cacheWritten: false };

  constructor(capacity = 1024) {
    this.seqs = new Float64Array(Math.max(16, capacity));
    this.hashes = new Uint8Array(Math.max(16, capacity) * MERKLE_HASH_BYTES);
  }

  push(seq: number, buf: Uint8Array, off: number): void {
    if (this.size === this.seqs.length) {
      const seqs = new Float64Array(this.seqs.length * 2);
      seqs.set(this.seqs);
      this.seqs = seqs;
      const hashes = new Uint8Array(this.hashes.length * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.seqs[this.size] = seq;
    this.hashes.set(buf.subarray(off, off + MERKLE_HASH_BYTES), this.size * MERKLE_HASH_BYTES);
    this.size++;
  }

  seqAt(i: number): number {
    return this.seqs[i]!;
  }

  /** A copy of leaf i's event hash. */
  eventHashAt(i: number): Uint8Array {
    return this.hashes.slice(i * MERKLE_HASH_BYTES, (i + 1) * MERKLE_HASH_BYTES);
  }

  /** The leaf index of the event with this sequence, or -1 when it is not a leaf (not committed, or absent). */
  leafIndexOfSeq(seq: number): number {
    // commit order is sequence order except around interleaved transactions: look near seq first
    const guess = Math.min(seq, this.size - 1);
    for (let i = guess; i >= 0 && i >= guess - 4096; i--) if (this.seqs[i] === seq) return i;
    for (let i = 0; i < this.size; i++) if (this.seqs[i] === seq) return i;
    return -1;
  }

  /** Index of the segment whose walk produced leaf i (or -1). */
  segmentOfLeaf(i: number): number {
    for (let s = 0; s < this.leavesAtSegmentEnd.length; s++) if (i < (this.leavesAtSegmentEnd[s] ?? -1)) return s;
    return -1;
  }

  leafHashAt(i: number): Uint8Array {
    return leafHash(this.hashes, i * MERKLE_HASH_BYTES);
  }

  chunkRootAt(c: number): Uint8Array {
    let r = this.chunkRoots[c];
    if (r === undefined) {
      const leaves = new Uint8Array(CHUNK_LEAVES * MERKLE_HASH_BYTES);
      for (let k = 0; k < CHUNK_LEAVES; k++) leaves.set(this.leafHashAt(c * CHUNK_LEAVES + k), k * MERKLE_HASH_BYTES);
      r = chunkRoot(leaves);
      this.chunkRoots[c] = r;
    }
    return r;
  }

  setChunkRoot(c: number, root: Uint8Array): void {
    this.chunkRoots[c] = root;
  }

  subtreeHash(start: number, end: number): Uint8Array {
    if (!(start >= 0 && start < end && end <= this.size)) throw new RangeError(`subtreeHash: [${start}, ${end}) is not inside a tree of ${this.size}`);
    const n = end - start;
    if (n === 1) return this.leafHashAt(start);
    if (n === CHUNK_LEAVES && start % CHUNK_LEAVES === 0) return this.chunkRootAt(start / CHUNK_LEAVES);
    const k = splitPoint(n);
    return nodeHash(this.subtreeHash(start, start + k), this.subtreeHash(start + k, end));
  }

  /** MTH of the first n leaves. */
  root(n = this.size): Uint8Array {
    if (!(Number.isSafeInteger(n) && n >= 0 && n <= this.size)) throw new RangeError(`root: size ${n} is not within 0..${this.size}`);
    return n === 0 ? EMPTY_ROOT : this.subtreeHash(0, n);
  }

  /** The cache's view of the first `segCount` segments (their leaves must all be in this tree). */
  toIndex(fs: FileSystem, segments: SegmentFile[], segCount: number, openTxns: OpenTxnItems[]): MerkleIndex {
    const segs: MerkleIndexSegment[] = [];
    let start = 0;
    for (let i = 0; i < segCount; i++) {
      const fp = fingerprintSegment(fs, segments[i]!.path);
      const end = this.leavesAtSegmentEnd[i]!;
      segs.push({ id: segments[i]!.id, sizeBytes: fp.sizeBytes, tailCrc: fp.tailCrc, leafStart: start, leafCount: end - start });
      start = end;
    }
    const leafCount = start;
    const leaves = new Uint8Array(leafCount * MERKLE_INDEX_LEAF_BYTES);
    for (let i = 0; i < leafCount; i++) {
      writeU64(leaves, i * MERKLE_INDEX_LEAF_BYTES, this.seqs[i]!);
      leaves.set(this.hashes.subarray(i * MERKLE_HASH_BYTES, (i + 1) * MERKLE_HASH_BYTES), i * MERKLE_INDEX_LEAF_BYTES + 8);
    }
    const chunks = Math.floor(leafCount / CHUNK_LEAVES);
    const roots = new Uint8Array(chunks * MERKLE_HASH_BYTES);
    for (let c = 0; c < chunks; c++) roots.set(this.chunkRootAt(c), c * MERKLE_HASH_BYTES);
    return {
      segments: segs,
      leafCount,
      leaves,
      chunkRoots: roots,
      openTxns: openTxns.map((t) => ({ txn: t.txn, items: t.seqs.map((seq, k) => ({ seq, hash: t.hashes[k]! })) })),
    };
  }
}

/** Loads merkle.idx if it still describes the store's first segments; why not, otherwise. */
export function loadMerkleIndex(
  fs: FileSystem,
  dir: string,
  segments: SegmentFile[],
): { state: 'used'; index: MerkleIndex } | { state: Exclude<CacheState, 'used'>; message?: string } {
  const path = join(dir, MERKLE_INDEX_FILE);
  if (!exists(fs, path)) return { state: 'absent' };
  let decoded: MerkleIndex | string;
  try {
    decoded = decodeMerkleIndex(readWhole(fs, path, MERKLE_INDEX_MAX_BYTES));
  } catch (err) {
    return { state: 'damaged', message: `cannot read: ${(err as Error).message}` };
  }
  if (typeof decoded === 'string') return { state: 'damaged', message: decoded };
  if (decoded.segments.length > segments.length) return { state: 'stale', message: `it describes ${decoded.segments.length} segments, the store has ${segments.length}` };
  for (let i = 0; i < decoded.segments.length; i++) {
    const k = decoded.segments[i]!;
    const s = segments[i]!;
    if (k.id !== s.id) return { state: 'stale', message: `it describes segment ${k.id} where the store has ${s.name}` };
    const fp = fingerprintSegment(fs, s.path);
    if (fp.sizeBytes !== k.sizeBytes || fp.tailCrc !== k.tailCrc) return { state: 'stale', message: `${s.name} changed since it was written` };
  }
  return { state: 'used', index: decoded };
}

export interface LoadTreeOptions {
  /** Refresh merkle.idx when sealed segments were read that it did not cover (default true). */
  writeCache?: boolean;
  /** Ignore merkle.idx (tests: the slow path must agree with the fast one). */
  ignoreCache?: boolean;
}

/** Builds the store's tree: cached prefix, then a walk of the segments the cache does not cover. */
export function loadLogTree(fs: FileSystem, dir: string, segments: SegmentFile[], opts: LoadTreeOptions = {}): LogTree {
  const loaded = opts.ignoreCache ? ({ state: 'absent' } as const) : loadMerkleIndex(fs, dir, segments);
  let tree: LogTree;
  let openAtStart: OpenTxnItems[] = [];
  let firstToRead = 0;
  if (loaded.state === 'used') {
    const idx = loaded.index;
    tree = new LogTree(idx.leafCount + 1024);
    for (let i = 0; i < idx.leafCount; i++) tree.push(readU64(idx.leaves, i * MERKLE_INDEX_LEAF_BYTES), idx.leaves, i * MERKLE_INDEX_LEAF_BYTES + 8);
    for (let c = 0; c * MERKLE_HASH_BYTES < idx.chunkRoots.length; c++) tree.setChunkRoot(c, idx.chunkRoots.slice(c * MERKLE_HASH_BYTES, (c + 1) * MERKLE_HASH_BYTES));
    for (const s of idx.segments) tree.leavesAtSegmentEnd.push(s.leafStart + s.leafCount);
    openAtStart = idx.openTxns.map((t) => ({ txn: t.txn, seqs: t.items.map((x) => x.seq), hashes: t.items.map((x) => x.hash) }));
    firstToRead = idx.segments.length;
    tree.source = { cache: 'used', cachedLeaves: idx.leafCount, segmentsRead: 0, cacheWritten: false };
  } else {
    tree = new LogTree();
    tree.source = { cache: loaded.state, cacheMessage: 'message' in loaded ? loaded.message : undefined, cachedLeaves: 0, segmentsRead: 0, cacheWritten: false };
  }
  const lastSealed = segments.length - 2; // every segment but the active one
  let openAtLastSealed: OpenTxnItems[] | null = null;
  if (firstToRead < segments.length) {
    const collector = new LeafCollector((seq, buf, off) => tree.push(seq, buf, off), openAtStart, tree.size);
    const visitor: WalkVisitor = {
      onSegment: (seg: SegmentFile) => collector.onSegment(seg),
      onFrame: (r: SegmentReader) => collector.onFrame(r),
      onFault: (f: Fault) => collector.onFault(f),
      onSegmentEnd: (seg: SegmentFile, i: number) => {
        collector.onSegmentEnd(seg, i);
        tree.leavesAtSegmentEnd[i] = collector.leavesAtSegmentEnd[i]!;
        if (i === lastSealed) openAtLastSealed = collector.openTxns();
      },
    };
    walkStore(fs, segments, visitor, { lastIsActive: true, start: { segmentId: segments[firstToRead]!.id, offset: 0 } });
    tree.source.segmentsRead = segments.length - firstToRead;
    tree.gaps.push(...collector.gaps);
    tree.faults.push(...collector.faults);
  }
  if ((opts.writeCache ?? true) && openAtLastSealed !== null && tree.faults.length === 0 && lastSealed >= firstToRead) {
    try {
      writeCacheFile(fs, join(dir, MERKLE_INDEX_FILE), encodeMerkleIndex(tree.toIndex(fs, segments, lastSealed + 1, openAtLastSealed)));
      tree.source.cacheWritten = true;
    } catch (err) {
      tree.source.cacheWriteError = (err as Error).message;
    }
  }
  return tree;
}

/** Atomic replace with a temp name of our own: two readers refreshing at once do not share a temp file. */
function writeCacheFile(fs: FileSystem, path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = fs.open(tmp, 'w');
  try {
    writeFully(fs, fd, bytes, 0, bytes.length, 0);
    fs.fsync(fd);
  } finally {
    fs.close(fd);
  }
  fs.rename(tmp, path);
}
