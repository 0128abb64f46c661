/**
 * `verify --anchor`: the Merkle tree checked during verify's own walk (a tap on it,
 * verify.ts `tap`), so anchoring costs the tree's hashing, not a second read.
 *
 * - Each head's root must be the MTH of the store's first `size` leaves (its own signature
 *   checked first against every `--pubkey`). A mismatch is `anchor_mismatch`; the message
 *   says where the history first differs when merkle.idx (written earlier by `head`)
 *   remembers the old leaves, and names every repair gap record before `size` (lost
 *   events change the tree after the loss: a repair never re-anchors).
 * - merkle.idx, when present, is checked against the frames: its leaves (always; a
 *   byte compare) and its chunk roots (with anchors, whose hashing computes them anyway).
 *   Out of date (its segments changed) is `merkle_stale` (info); describing the current
 *   segments yet disagreeing with their frames is `merkle_mismatch` (error).
 */
import { basename, join } from 'node:path';
import { equalBytes, readU64 } from '../../format/bytes.js';
import { EMPTY_ROOT, MERKLE_HASH_BYTES, sameHash } from '../../format/merkle.js';
import { MERKLE_INDEX_FILE, MERKLE_INDEX_LEAF_BYTES } from '../../format/merkle-index.js';
import { CHUNK_LEAVES } from '../../format/merkle-stream.js';
import type { NoteVerifier } from '../../format/signed-note.js';
import type { FileSystem } from '../io/fs-types.js';
import { exists } from '../io/fs-util.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import type { Problem, VerifyReport } from '../verify/verify.js';
import type { Fault, SegmentFile, WalkVisitor } from '../segment/walker.js';
import { checkHeadSignatures, describeSignatureFailures, type HeadFile, type SignatureCheck } from './anchor-files.js';
import { LeafCollector } from './leaf-collector.js';
import { loadMerkleIndex } from './log-tree.js';
import { MerkleIndexDamaged, type MerkleIndexFile } from './merkle-index-file.js';
import { startTreeHasher, type TreeHasher } from './tree-hasher.js';

export interface AnchorOutcome {
  file: string;
  origin: string;
  size: number;
  root: string;
  ok: boolean;
  signatures: SignatureCheck[];
  message: string;
}

interface FirstDiff {
  leaf: number;
  seq: number;
  segment: string;
}

export class AnchorCheck implements WalkVisitor {
  private readonly collector: LeafCollector;
  private readonly tree: TreeHasher | null;
  private cache: MerkleIndexFile | null = null;
  /** Rows of the cached chunk the walk is in (-1: none read yet). */
  private rowsChunk = -1;
  private chunkRowsBuf: Uint8Array = new Uint8Array(0);
  private cacheState: 'absent' | 'used' | 'stale' | 'damaged' = 'absent';
  private cacheMessage: string | undefined;
  private firstDiff: FirstDiff | null = null;
  private chunkDiff: { chunk: number; segment: string } | null = null;
  private segName = '';

  /** Whether verify needs this tap at all: anchors to check or a merkle.idx to check. */
  static needed(fs: FileSystem, dir: string, heads: readonly HeadFile[]): boolean {
    return heads.length > 0 || exists(fs, join(dir, MERKLE_INDEX_FILE));
  }

  constructor(
    fs: FileSystem,
    dir: string,
    segments: SegmentFile[],
    private readonly heads: readonly HeadFile[],
    private readonly verifiers: readonly NoteVerifier[],
  ) {
    this.loadCache(fs, dir, segments);
    let storeBytes = 0;
    for (const s of segments) {
      try {
        storeBytes += fs.stat(s.path).sizeBytes;
      } catch {
        // the walk reports a missing file
      }
    }
    this.tree = heads.length === 0 ? null : startTreeHasher(new Set(heads.map((h) => h.note.head.size)), storeBytes);
    this.collector = new LeafCollector((seq, buf, off) => this.onLeaf(seq, buf, off));
  }

  private loadCache(fs: FileSystem, dir: string, segments: SegmentFile[]): void {
    const path = join(dir, MERKLE_INDEX_FILE);
    if (!exists(fs, path)) return;
    const loaded = loadMerkleIndex(fs, dir, segments);
    this.cacheState = loaded.state;
    // even out of date, its leaves are what the store held when it was written: they locate a rewrite
    this.cache = loaded.file ?? null;
    if (loaded.state !== 'used') this.cacheMessage = loaded.message;
  }

  private readonly segmentNames: string[] = [];

  onSegment(seg: SegmentFile, i: number): void {
    this.segName = seg.name;
    this.segmentNames[i] = seg.name;
    this.collector.onSegment(seg);
  }

  onFrame(r: SegmentReader): void {
    this.collector.onFrame(r);
  }

  onFault(f: Fault): void {
    this.collector.onFault(f);
  }

  onSegmentEnd(seg: SegmentFile, i: number): void {
    this.collector.onSegmentEnd(seg, i);
  }

  private onLeaf(seq: number, buf: Uint8Array, off: number): void {
    const i = this.collector.leaves;
    const cache = this.cache;
    if (cache && this.firstDiff === null && i < cache.meta.leafCount) {
      const row = this.cachedRow(cache, i);
      if (row !== null && (readU64(row[0], row[1]) !== seq || !equalBytes(row[0], row[1] + 8, buf, off, MERKLE_HASH_BYTES))) {
        this.firstDiff = { leaf: i, seq, segment: this.segName };
      }
    }
    this.tree?.push(buf, off);
  }

  /** merkle.idx's row for leaf i, read a chunk at a time as the walk advances; null once the rows fail. */
  private cachedRow(cache: MerkleIndexFile, i: number): [Uint8Array, number] | null {
    const c = Math.floor(i / CHUNK_LEAVES);
    if (c >= cache.meta.chunks.length) return [cache.meta.partialRows, (i - c * CHUNK_LEAVES) * MERKLE_INDEX_LEAF_BYTES];
    if (c !== this.rowsChunk) {
      try {
        this.chunkRowsBuf = cache.chunkRows(c, 1, false);
      } catch (err) {
        if (!(err instanceof MerkleIndexDamaged)) throw err;
        this.cache = null;
        if (this.cacheState === 'used') {
          this.cacheState = 'damaged';
          this.cacheMessage = err.message;
        }
        return null;
      }
      this.rowsChunk = c;
    }
    return [this.chunkRowsBuf, (i - c * CHUNK_LEAVES) * MERKLE_INDEX_LEAF_BYTES];
  }

  /** The problems to add to verify's report, and one outcome per head. */
  async finish(report: VerifyReport): Promise<{ problems: Problem[]; anchors: AnchorOutcome[] }> {
    const problems: Problem[] = [];
    const leaves = this.collector.leaves;
    const tree = this.tree ? await this.tree.finish() : null;
    const cache = this.cache;
    if (tree && cache && this.cacheState === 'used') {
      const chunks = Math.min(cache.meta.chunks.length, tree.chunkRoots.length / MERKLE_HASH_BYTES);
      for (let c = 0; c < chunks && !this.chunkDiff; c++) {
        if (!equalBytes(tree.chunkRoots, c * MERKLE_HASH_BYTES, cache.meta.chunks[c]!.root, 0, MERKLE_HASH_BYTES)) {
          const seg = this.collector.leavesAtSegmentEnd.findIndex((end) => end > c * CHUNK_LEAVES);
          this.chunkDiff = { chunk: c, segment: this.segmentNames[seg] ?? MERKLE_INDEX_FILE };
        }
      }
    }
    if (this.cacheState === 'stale' || this.cacheState === 'damaged') {
      problems.push({
        code: 'merkle_stale',
        severity: 'info',
        segment: MERKLE_INDEX_FILE,
        offset: 0,
        message: `${MERKLE_INDEX_FILE} is ${this.cacheState === 'stale' ? 'out of date' : 'damaged'} (${this.cacheMessage ?? 'unknown'}); seglog head rebuilds it`,
      });
    } else if (this.cacheState === 'used' && this.cache && !report.stoppedEarly) {
      const short = this.cache!.meta.leafCount > leaves;
      if (this.firstDiff || short || this.chunkDiff) {
        const where = this.firstDiff
          ? `its leaf ${this.firstDiff.leaf} is not event ${this.firstDiff.seq} of ${this.firstDiff.segment} as the frames say`
          : short
            ? `it lists ${this.cache!.meta.leafCount} committed events, the frames ${leaves}`
            : `its root of chunk ${this.chunkDiff!.chunk} does not match the frames (${this.chunkDiff!.segment})`;
        problems.push({
          code: 'merkle_mismatch',
          severity: 'error',
          segment: this.firstDiff?.segment ?? this.chunkDiff?.segment ?? MERKLE_INDEX_FILE,
          offset: 0,
          message: `${MERKLE_INDEX_FILE} describes these segments but ${where}: the log changed after it was written, or the index was`,
        });
      }
    }
    const anchors: AnchorOutcome[] = [];
    for (const h of this.heads) {
      const head = h.note.head;
      const sigs = checkHeadSignatures(h, this.verifiers);
      const sigFail = describeSignatureFailures(sigs);
      const out: AnchorOutcome = { file: h.path, origin: head.origin, size: head.size, root: Buffer.from(head.root).toString('base64'), ok: false, signatures: sigs, message: '' };
      anchors.push(out);
      const name = basename(h.path);
      if (sigFail !== null) {
        out.message = `head ${h.path}: ${sigFail}`;
        problems.push({ code: 'anchor_signature', severity: 'error', segment: name, offset: 0, message: out.message });
        continue;
      }
      if (report.stoppedEarly) {
        out.message = `head ${h.path}: not checked: verify stopped early (--max-errors)`;
        problems.push({ code: 'anchor_mismatch', severity: 'error', segment: name, offset: 0, message: out.message });
        continue;
      }
      const root = head.size === 0 ? EMPTY_ROOT : tree?.roots.get(head.size);
      if (root !== undefined && sameHash(root, head.root)) {
        out.ok = true;
        const signed = sigs.length > 0 ? `, signed by ${sigs.map((s) => s.key).join(', ')}` : '';
        out.message = `head ${h.path}: the first ${head.size} committed events give its root (${head.origin}${signed})`;
        problems.push({ code: 'anchor_ok', severity: 'info', segment: name, offset: 0, message: out.message });
        continue;
      }
      const parts: string[] = [];
      if (root === undefined) {
        parts.push(`head ${h.path} covers ${head.size} committed events but the store has only ${leaves}: events were lost or the log was cut`);
      } else {
        parts.push(`head ${h.path}: the store's first ${head.size} committed events do not give its root: that history was changed`);
      }
      let segment = name;
      let offset = 0;
      if (this.firstDiff && this.firstDiff.leaf < head.size) {
        parts.push(`it first differs at committed event ${this.firstDiff.leaf} (seq ${this.firstDiff.seq}) in ${this.firstDiff.segment}, by ${MERKLE_INDEX_FILE}`);
        segment = this.firstDiff.segment;
      }
      const gaps = this.collector.gaps.filter((g) => g.leavesBefore < head.size);
      for (const g of gaps.slice(0, 5)) parts.push(`a repair's GAP record at ${g.segment}@${g.offset} after committed event ${g.leavesBefore} explains a change: ${g.text}`);
      if (gaps.length > 5) parts.push(`and ${gaps.length - 5} more gap records`);
      if (gaps.length > 0 && segment === name) {
        segment = gaps[0]!.segment;
        offset = gaps[0]!.offset;
      }
      out.message = parts.join('; ');
      problems.push({ code: 'anchor_mismatch', severity: 'error', segment, offset, message: out.message });
    }
    return { problems, anchors };
  }
}

/** Adds problems to a report, keeping its counts and `ok` right. */
export function addProblems(report: VerifyReport, problems: readonly Problem[]): VerifyReport {
  const all = [...report.problems, ...problems];
  const errors = report.errors + problems.filter((p) => p.severity === 'error').length;
  const warnings = report.warnings + problems.filter((p) => p.severity === 'warning').length;
  return { ...report, problems: all, errors, warnings, ok: errors === 0 };
}
