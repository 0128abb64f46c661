/**
 * The Merkle tree of a whole store, for `head` and `prove` (docs/FORMAT.md 9): the part
 * merkle.idx covers (the sealed segments when it was written) comes from it — 256-leaf
 * chunk roots from its chunk table, leaf rows read a chunk at a time only when a proof
 * needs them — and only the segments after it are read, their leaves (sequence and
 * `event_hash`, 40 bytes each) held in memory. So a head costs the unsealed tail plus a
 * few hundred KiB of index per million events. When sealed segments were read that the
 * cache did not cover, it is rewritten (best effort, atomic, never required).
 *
 * Read-only with respect to the log: it takes no lock; a writer appending meanwhile only
 * adds leaves after the ones read.
 */
import { join } from 'node:path';
import { copyBytes, readU64, writeU64 } from '../../format/bytes.js';
import { EMPTY_ROOT, leafHash, MERKLE_HASH_BYTES, nodeHash, splitPoint, type SubtreeHasher } from '../../format/merkle.js';
import { encodeMerkleIndex, MERKLE_INDEX_FILE, MERKLE_INDEX_LEAF_BYTES, type MerkleIndexSegment } from '../../format/merkle-index.js';
import { CHUNK_LEAVES, chunkRootOfEventHashes } from '../../format/merkle-stream.js';
import { fingerprintSegment } from '../index/checkpoint.js';
import type { FileSystem } from '../io/fs-types.js';
import { exists, writeFileAtomic } from '../io/fs-util.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import { type Fault, type SegmentFile, type WalkVisitor, walkStore } from '../segment/walker.js';
import { type GapSeen, LeafCollector, type OpenTxnItems } from './leaf-collector.js';
import { MerkleIndexFile } from './merkle-index-file.js';

const ROW = MERKLE_INDEX_LEAF_BYTES;
/** Chunks of cached rows kept in memory at once by one tree. */
const ROW_CACHE_CHUNKS = 64;

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
  /** Leaves [0, memBase) are merkle.idx's full chunks; rows of the rest are in `rows`. */
  private cached: MerkleIndexFile | null = null;
  private memBase = 0;
  private rows = new Uint8Array(1024 * ROW);
  private memCount = 0;
  private readonly computedRoots = new Map<number, Uint8Array>();
  private readonly rowCache = new Map<number, Uint8Array>();
  /** Leaf count at the end of each segment, by index. */
  readonly leavesAtSegmentEnd: number[] = [];
  readonly gaps: GapSeen[] = [];
  readonly faults: Fault[] = [];
  source: LogTreeSource = { cache: 'absent', cachedLeaves: 0, segmentsRead: 0, cacheWritten: false };

  get size(): number {
    return this.memBase + this.memCount;
  }

  /** Takes merkle.idx's leaves as the tree's first ones (only on an empty tree). */
  attachCache(file: MerkleIndexFile): void {
    if (this.size !== 0) throw new Error('attachCache: the tree is not empty');
    this.cached = file;
    this.memBase = file.meta.chunks.length * CHUNK_LEAVES;
    this.pushRows(file.meta.partialRows);
  }

  private reserve(n: number): void {
    if (n * ROW <= this.rows.length) return;
    const rows = new Uint8Array(Math.max(n, (this.rows.length / ROW) * 2) * ROW);
    rows.set(this.rows.subarray(0, this.memCount * ROW));
    this.rows = rows;
  }

  push(seq: number, buf: Uint8Array, off: number): void {
    this.reserve(this.memCount + 1);
    const p = this.memCount * ROW;
    writeU64(this.rows, p, seq);
    for (let i = 0; i < MERKLE_HASH_BYTES; i++) this.rows[p + 8 + i] = buf[off + i]!;
    this.memCount++;
  }

  private pushRows(rows: Uint8Array): void {
    const count = rows.length / ROW;
    this.reserve(this.memCount + count);
    this.rows.set(rows, this.memCount * ROW);
    this.memCount += count;
  }

  /** Where leaf i's row is: a buffer and the row's offset in it. */
  private rowOf(i: number): [Uint8Array, number] {
    if (!(i >= 0 && i < this.size)) throw new RangeError(`leaf ${i} is not in a tree of ${this.size}`);
    if (i >= this.memBase) return [this.rows, (i - this.memBase) * ROW];
    const c = Math.floor(i / CHUNK_LEAVES);
    let rows = this.rowCache.get(c);
    if (rows === undefined) {
      if (this.rowCache.size >= ROW_CACHE_CHUNKS) this.rowCache.delete(this.rowCache.keys().next().value!);
      rows = this.cached!.chunkRows(c);
      this.rowCache.set(c, rows);
    }
    return [rows, (i - c * CHUNK_LEAVES) * ROW];
  }

  seqAt(i: number): number {
    const [b, o] = this.rowOf(i);
    return readU64(b, o);
  }

  /** A copy of leaf i's event hash. */
  eventHashAt(i: number): Uint8Array {
    const [b, o] = this.rowOf(i);
    return copyBytes(b, o + 8, o + ROW);
  }

  leafHashAt(i: number): Uint8Array {
    const [b, o] = this.rowOf(i);
    return leafHash(b, o + 8);
  }

  /** The leaf index of the event with this sequence, or -1 when it is not a leaf (not committed, or absent). */
  leafIndexOfSeq(seq: number): number {
    // A leaf's index is at most its sequence, and commit order is sequence order but
    // around interleaved transactions: in memory look just below seq first, then all.
    const memEnd = this.size;
    const guess = Math.min(seq, memEnd - 1);
    if (guess >= this.memBase) {
      for (let i = guess; i >= this.memBase && i >= guess - 4096; i--) if (this.seqAt(i) === seq) return i;
    }
    for (let i = this.memBase; i < memEnd; i++) if (this.seqAt(i) === seq) return i;
    const chunks = this.cached?.meta.chunks ?? [];
    for (let c = 0; c < chunks.length; c++) {
      if (seq < chunks[c]!.minSeq || seq > chunks[c]!.maxSeq) continue;
      for (let i = c * CHUNK_LEAVES; i < (c + 1) * CHUNK_LEAVES; i++) if (this.seqAt(i) === seq) return i;
    }
    return -1;
  }

  chunkRootAt(c: number): Uint8Array {
    const chunks = this.cached?.meta.chunks;
    if (chunks !== undefined && c < chunks.length) return chunks[c]!.root;
    let r = this.computedRoots.get(c);
    if (r === undefined) {
      // a chunk's rows are in one buffer (the in-memory rows, or one cached chunk's), 40 bytes apart
      const [b, o] = this.rowOf(c * CHUNK_LEAVES);
      r = new Uint8Array(MERKLE_HASH_BYTES);
      chunkRootOfEventHashes(b, o + 8, ROW, r, 0);
      this.computedRoots.set(c, r);
    }
    return r;
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

  /** merkle.idx's bytes for the first `segCount` segments (their leaves must all be in this tree). */
  encodeIndex(fs: FileSystem, segments: SegmentFile[], segCount: number, openTxns: OpenTxnItems[]): Uint8Array {
    const segs: MerkleIndexSegment[] = [];
    let start = 0;
    for (let i = 0; i < segCount; i++) {
      const fp = fingerprintSegment(fs, segments[i]!.path);
      const end = this.leavesAtSegmentEnd[i]!;
      segs.push({ id: segments[i]!.id, sizeBytes: fp.sizeBytes, tailCrc: fp.tailCrc, leafStart: start, leafCount: end - start });
      start = end;
    }
    const leafCount = start;
    if (leafCount < this.memBase) throw new Error('encodeIndex: fewer leaves than the cache already holds');
    const rows = new Uint8Array(leafCount * ROW);
    const cachedChunks = this.memBase / CHUNK_LEAVES;
    if (cachedChunks > 0) rows.set(this.cached!.chunkRows(0, cachedChunks));
    rows.set(this.rows.subarray(0, (leafCount - this.memBase) * ROW), this.memBase * ROW);
    const nChunks = Math.floor(leafCount / CHUNK_LEAVES);
    const chunkRoots = new Uint8Array(nChunks * MERKLE_HASH_BYTES);
    for (let c = 0; c < nChunks; c++) chunkRoots.set(this.chunkRootAt(c), c * MERKLE_HASH_BYTES);
    return encodeMerkleIndex({
      segments: segs,
      leafCount,
      rows,
      chunkRoots,
      openTxns: openTxns.map((t) => ({ txn: t.txn, items: t.seqs.map((seq, k) => ({ seq, hash: t.hashes[k]! })) })),
    });
  }
}

/** Opens merkle.idx if it still describes the store's first segments; why not, otherwise. */
export function loadMerkleIndex(
  fs: FileSystem,
  dir: string,
  segments: SegmentFile[],
): { state: 'used'; file: MerkleIndexFile } | { state: Exclude<CacheState, 'used'>; message?: string; file?: MerkleIndexFile } {
  const path = join(dir, MERKLE_INDEX_FILE);
  if (!exists(fs, path)) return { state: 'absent' };
  let file: MerkleIndexFile | string;
  try {
    file = MerkleIndexFile.open(fs, path);
  } catch (err) {
    return { state: 'damaged', message: `cannot read: ${(err as Error).message}` };
  }
  if (typeof file === 'string') return { state: 'damaged', message: file };
  const recs = file.meta.segments;
  if (recs.length > segments.length) return { state: 'stale', file, message: `it describes ${recs.length} segments, the store has ${segments.length}` };
  for (let i = 0; i < recs.length; i++) {
    const k = recs[i]!;
    const s = segments[i]!;
    if (k.id !== s.id) return { state: 'stale', file, message: `it describes segment ${k.id} where the store has ${s.name}` };
    const fp = fingerprintSegment(fs, s.path);
    if (fp.sizeBytes !== k.sizeBytes || fp.tailCrc !== k.tailCrc) return { state: 'stale', file, message: `${s.name} changed since it was written` };
  }
  return { state: 'used', file };
}

export interface LoadTreeOptions {
  /** Refresh merkle.idx when sealed segments were read that it did not cover (default true). */
  writeCache?: boolean;
  /** Ignore merkle.idx (tests: the slow path must agree with the fast one). */
  ignoreCache?: boolean;
  /** Only the first `upTo` leaves are needed: when merkle.idx holds them, no segment is read (the tree may then be shorter than the log). */
  upTo?: number;
}

/** Builds the store's tree: cached prefix, then a walk of the segments the cache does not cover. */
export function loadLogTree(fs: FileSystem, dir: string, segments: SegmentFile[], opts: LoadTreeOptions = {}): LogTree {
  const loaded = opts.ignoreCache ? ({ state: 'absent' } as const) : loadMerkleIndex(fs, dir, segments);
  const tree = new LogTree();
  let openAtStart: OpenTxnItems[] = [];
  let firstToRead = 0;
  if (loaded.state === 'used') {
    const meta = loaded.file.meta;
    tree.attachCache(loaded.file);
    for (const s of meta.segments) tree.leavesAtSegmentEnd.push(s.leafStart + s.leafCount);
    openAtStart = meta.openTxns.map((t) => ({ txn: t.txn, seqs: t.items.map((x) => x.seq), hashes: t.items.map((x) => x.hash) }));
    firstToRead = meta.segments.length;
    tree.source = { cache: 'used', cachedLeaves: meta.leafCount, segmentsRead: 0, cacheWritten: false };
  } else {
    tree.source = { cache: loaded.state, cacheMessage: 'message' in loaded ? loaded.message : undefined, cachedLeaves: 0, segmentsRead: 0, cacheWritten: false };
  }
  const lastSealed = segments.length - 2; // every segment but the active one
  let openAtLastSealed: OpenTxnItems[] | null = null;
  const cachedEnough = loaded.state === 'used' && opts.upTo !== undefined && loaded.file.meta.leafCount >= opts.upTo;
  if (firstToRead < segments.length && !cachedEnough) {
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
      writeCacheFile(fs, join(dir, MERKLE_INDEX_FILE), tree.encodeIndex(fs, segments, lastSealed + 1, openAtLastSealed));
      tree.source.cacheWritten = true;
    } catch (err) {
      tree.source.cacheWriteError = (err as Error).message;
    }
  }
  return tree;
}

/** Atomic replace with a temp name of our own: two readers refreshing at once do not share a temp file. */
function writeCacheFile(fs: FileSystem, path: string, bytes: Uint8Array): void {
  writeFileAtomic(fs, path, bytes, { tmp: `${path}.${process.pid}.tmp`, syncDir: false });
}
