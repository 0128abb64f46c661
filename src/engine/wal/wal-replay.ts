/*
 * WAL replay and WAL dump: the scanner (WalScanner, the TxnFold's facts for key/value
 * transactions), the two sinks (replay applies, dump lists) and their result types.
 * Over 500 lines, knowingly: the scanner's pooled transaction records and op buffers are
 * shared by both sinks and kept in one file so the hot path stays one module; the sinks
 * are the natural split (wal/replay-sink, wal/dump-sink) when either grows.
 */
import { readU16, readU32, readU64 } from '../../format/bytes.js';
import { EV } from '../../format/event.js';
import type { SnapshotStats } from '../../format/snapshot.js';
import { FrameType } from '../../format/frame.js';
import { checkKvEvent, KV_ENTITY_PREFIX_BYTES, KV_KIND_CATEGORY, KV_VERSION_BYTES, KvKind } from '../../format/kv.js';
import { markerCount, markerTxnId } from '../../format/marker.js';
import { ioError, SeglogError } from '../io/errors.js';
import { type OpenTxn, type TxnFacts, TxnFold } from '../log/txn-fold.js';
import { type KvEntry, KvState } from './kv-state.js';
import type { FileSystem } from '../io/fs-types.js';
import { RealFs } from '../io/real-fs.js';
import { isFsError } from '../io/fs-types.js';
import { storePaths } from '../io/layout.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import { type Fault, listSegments, type SegmentFile, walkStore } from '../segment/walker.js';

/**
 * The WAL view of a store: frames grouped by transaction id, and the key/value state
 * that replaying the committed transactions in commit order gives.
 *
 * Counting rules (docs/FORMAT.md, "Replay"):
 * - a transaction is a BEGIN and the EVENT frames carrying its id up to its COMMIT or
 *   ABORT. Every committed one counts in txnsApplied (its KV operations may be none);
 * - discardedTxns counts every transaction that is not applied: aborted ones (also
 *   counted in abortedTxns) and incomplete ones (no COMMIT or ABORT before the end of
 *   the log, or a second BEGIN of the same id while it was open);
 * - orphanedEntries counts EVENT frames carrying a transaction id with no open
 *   transaction (no BEGIN, or after its COMMIT/ABORT), and KV operations written with
 *   transaction id 0;
 * - versions are the recorded ones; finalVersion is the largest version applied (0 if none).
 *
 * Memory: the live key set plus the operations of open transactions. Frames stream
 * through the walker's read buffer; a KV operation's key and value bytes are copied
 * into its transaction's buffer (records and buffers are pooled) and decoded only when
 * its COMMIT is read.
 *
 * The transaction rules themselves are the fold's (log/txn-fold.ts); this file is the
 * WAL view's policy (docs/FORMAT.md 4.1). Over 500 lines, knowingly: the scanner and
 * its two sinks (replay, dump) share the pooled transaction record and its op layout.
 */

/** The statistics a snapshot also records (format/snapshot.ts), plus what only a replay knows. */
export interface ReplayStats extends SnapshotStats {
  finalVersion: number;
  /** Keys in the final state. */
  liveKeys: number;
}

export type WalWarningCode =
  | 'incomplete_txn'
  | 'aborted_txn'
  | 'orphaned_entry'
  | 'begin_while_open'
  | 'marker_without_begin'
  | 'commit_count_mismatch'
  | 'torn_tail';

export interface WalWarning {
  code: WalWarningCode;
  /** Transaction id the warning is about (null for a torn tail). */
  txn: number | null;
  file: string;
  offset: number;
  message: string;
}

/** Where replay stopped because the log is damaged. */
export interface WalCorruption {
  code: 'corrupt' | 'bad_header' | 'bad_kv_event';
  file: string;
  offset: number;
  message: string;
}

export type { KvEntry };

export interface ReplayResult {
  stats: ReplayStats;
  warnings: WalWarning[];
  /** Warnings beyond `maxWarnings`, counted but not kept. */
  warningsOmitted: number;
  corruption: WalCorruption | null;
  state: KvState;
  segments: number;
}

export interface WalScanOptions {
  fs?: FileSystem;
  /** Keep at most this many warnings (the stats count everything). Default MAX_WAL_WARNINGS. */
  maxWarnings?: number;
  /** Bytes of the segment files walked so far, every few thousand frames (progress, Ctrl-C checks). */
  onProgress?: (bytesDone: number) => void;
}

export interface ReplayOptions extends WalScanOptions {
  /** Keep values (for the state file); without it only keys and versions are tracked. */
  keepValues?: boolean;
  /** Start from a snapshot's state and statistics, scanning from `resume` (engine/snapshot.ts). */
  start?: ReplayStart;
  /** Sees every frame first and says which ones `start` already accounts for (engine/snapshot.ts). */
  tap?: ReplayTap;
}

/** A replay that continues from a snapshot instead of the start of the log. */
export interface ReplayStart {
  state: KvState;
  stats: ReplayStats;
  /** The first frame to scan (a frame boundary). */
  resume: { segmentId: number; offset: number };
}

/**
 * Hooks for replay through snapshots. Frames the tap calls `settled` are scanned (the
 * transactions they open are tracked) but have no effect: no apply, no count, no warning.
 */
export interface ReplayTap {
  attach(stats: ReplayStats, state: KvState): void;
  onSegment(seg: SegmentFile, segIndex: number): void;
  /** Called for every valid frame before replay handles it. */
  onFrame(r: SegmentReader, segIndex: number): void;
  settled(segIndex: number, offset: number): boolean;
  /** The walk ended (before transactions still open are discarded). */
  onEnd(): void;
}

export type WalTxnStatus = 'committed' | 'aborted' | 'incomplete' | 'orphaned';

/** One row of the transaction-grouped view. */
export interface WalTxnRow {
  txn: number;
  status: WalTxnStatus;
  /** EVENT frames of the transaction (KV operations and any other items). */
  ops: number;
  puts: number;
  deletes: number;
  first: { segment: string; offset: number };
  last: { segment: string; offset: number };
}

export interface WalDumpResult {
  txns: WalTxnRow[];
  warnings: WalWarning[];
  warningsOmitted: number;
  corruption: WalCorruption | null;
  segments: number;
}

/** Default cap on kept warnings: the counts are exact, the list is for reading. */
export const MAX_WAL_WARNINGS = 100;
/** Initial size of a transaction's op-bytes buffer; it doubles as needed and returns to the pool. */
const TXN_BUFFER_BYTES = 256;
/** Pooled transaction records kept for reuse; beyond this they are left to the GC. */
const MAX_POOLED_TXNS = 1024;
/** Numbers per buffered operation in TxnRecord.ops: type, version, key bytes, value bytes, segment, offset. */
const OP_STRIDE = 6;
/** Operations a pooled record has room for before its op array grows. */
const TXN_INITIAL_OPS = 4;

/** An open transaction: the fold's record (txnId, BEGIN's segIndex and offset, items) plus what replay buffers. */
interface TxnRecord extends OpenTxn {
  lastSeg: number;
  lastOffset: number;
  puts: number;
  deletes: number;
  bytes: Buffer;
  used: number;
  /** OP_STRIDE numbers per buffered KV operation. */
  ops: Float64Array;
  opCount: number;
}

/** What the scanner reports; replay applies, dump lists. */
interface WalSink {
  /** Whether KV key/value bytes must be buffered for committed transactions. */
  readonly wantsOps: boolean;
  /** Whether values (not only keys) must be buffered. */
  readonly wantsValues: boolean;
  committed(t: TxnRecord, seg: number, offset: number): void;
  aborted(t: TxnRecord, seg: number, offset: number): void;
  incomplete(t: TxnRecord, why: 'end' | 'begun_again', seg: number, offset: number): void;
  orphan(txn: number, seg: number, offset: number): void;
}

/**
 * The log's transaction rules (log/txn-fold.ts) with this view's policy: the scanner is
 * the fold's `TxnFacts`; it warns about what is not applied and hands the sink the rest.
 */
class WalScanner implements TxnFacts<TxnRecord> {
  private readonly fold: TxnFold<TxnRecord> = new TxnFold<TxnRecord>(this);
  private readonly pool: TxnRecord[] = [];
  readonly paths: string[] = [];
  readonly names: string[] = [];
  warnings: WalWarning[] = [];
  warningsOmitted = 0;
  corruption: WalCorruption | null = null;

  /** Progress: bytes of the segments before this one, this one's size, frames seen. */
  private bytesBefore = 0;
  private segmentBytes = 0;
  private frames = 0;

  constructor(
    private readonly sink: WalSink,
    private readonly maxWarnings: number,
    readonly tap: ReplayTap | null = null,
    private readonly onProgress: ((bytesDone: number) => void) | null = null,
  ) {}

  /** Whether a snapshot already accounted for the frame at (seg, offset). */
  settled(seg: number, offset: number): boolean {
    return this.tap !== null && this.tap.settled(seg, offset);
  }

  warn(code: WalWarningCode, txn: number | null, seg: number, offset: number, message: string): void {
    if (this.warnings.length >= this.maxWarnings) {
      this.warningsOmitted++;
      return;
    }
    this.warnings.push({ code, txn, file: this.paths[seg] ?? '', offset, message });
  }

  onSegment(seg: SegmentFile, segIndex: number, r?: SegmentReader): void {
    this.bytesBefore += this.segmentBytes;
    this.segmentBytes = r?.fileSize ?? 0;
    this.paths[segIndex] = seg.path;
    this.names[segIndex] = seg.name;
    this.tap?.onSegment(seg, segIndex);
  }

  onFrame(r: SegmentReader, segIndex: number): void {
    if (this.corruption) return;
    if (this.onProgress !== null && (++this.frames & 0x3fff) === 0) this.onProgress(this.bytesBefore + r.pos);
    this.tap?.onFrame(r, segIndex);
    const buf = r.buf;
    const b = r.bodyOff;
    switch (r.type) {
      case FrameType.EVENT: {
        const txn = readU64(buf, b + EV.TXN);
        const category = readU16(buf, b + EV.KIND_CAT);
        let kvType = 0;
        if (category === KV_KIND_CATEGORY) {
          const type = readU16(buf, b + EV.KIND_TYPE);
          if (type === KvKind.PUT || type === KvKind.DELETE) {
            const bad = checkKvEvent(buf, b, type);
            if (bad) {
              this.corruption = { code: 'bad_kv_event', file: r.path, offset: r.frameOffset, message: bad };
              return;
            }
            kvType = type;
          }
        }
        if (txn === 0) {
          // standalone events are not transactions; a KV operation outside any is an orphan
          if (kvType !== 0) this.sink.orphan(0, segIndex, r.frameOffset);
          return;
        }
        const t = this.fold.event(txn, segIndex, r.frameOffset);
        if (t === null) return; // an orphan (the sink was told)
        t.lastSeg = segIndex;
        t.lastOffset = r.frameOffset;
        if (kvType === KvKind.PUT) t.puts++;
        else if (kvType === KvKind.DELETE) t.deletes++;
        if (kvType !== 0 && this.sink.wantsOps) bufferOp(t, buf, b, kvType, this.sink.wantsValues, segIndex, r.frameOffset);
        return;
      }
      case FrameType.BEGIN:
      case FrameType.COMMIT:
      case FrameType.ABORT:
        this.fold.marker(r.type, markerTxnId(buf, b), markerCount(buf, b), segIndex, r.frameOffset);
        return;
      default:
        return;
    }
  }

  // ------------------------------------------------------------ transaction facts (TxnFacts)

  create(txnId: number, declared: number, segIndex: number, offset: number): TxnRecord {
    return this.acquire(txnId, declared, segIndex, offset);
  }

  begunAgain(prev: TxnRecord, _declared: number, segIndex: number, offset: number): boolean {
    this.sink.incomplete(prev, 'begun_again', segIndex, offset);
    this.release(prev);
    return true;
  }

  orphan(txnId: number, segIndex: number, offset: number): boolean {
    this.sink.orphan(txnId, segIndex, offset);
    return false;
  }

  endWithoutBegin(type: number, txnId: number, segIndex: number, offset: number): boolean {
    const what = type === FrameType.COMMIT ? 'COMMIT' : 'ABORT';
    if (!this.settled(segIndex, offset)) this.warn('marker_without_begin', txnId, segIndex, offset, `${what} of transaction ${txnId} with no open BEGIN: ignored`);
    return false;
  }

  countMismatch(t: TxnRecord, commitCount: number, segIndex: number, offset: number): void {
    // only the COMMIT's count is checked here (a BEGIN's count alone differing is verify's batch_mismatch)
    if (commitCount !== t.items && !this.settled(segIndex, offset)) {
      this.warn('commit_count_mismatch', t.txnId, segIndex, offset, `COMMIT of transaction ${t.txnId} declares ${commitCount} items, ${t.items} were read`);
    }
  }

  committed(t: TxnRecord, _count: number, segIndex: number, offset: number): void {
    t.lastSeg = segIndex;
    t.lastOffset = offset;
    this.sink.committed(t, segIndex, offset);
    this.release(t);
  }

  aborted(t: TxnRecord, segIndex: number, offset: number): void {
    t.lastSeg = segIndex;
    t.lastOffset = offset;
    this.sink.aborted(t, segIndex, offset);
    this.release(t);
  }

  incomplete(t: TxnRecord): void {
    this.sink.incomplete(t, 'end', t.lastSeg, t.lastOffset);
  }

  onFault(f: Fault): void {
    if (this.corruption) return;
    if (f.kind === 'torn') {
      this.warn('torn_tail', null, f.segIndex, f.offset, `torn tail (${f.detail}): the log ends here; recovery cuts these bytes`);
      return;
    }
    this.corruption = { code: f.kind === 'bad_header' ? 'bad_header' : 'corrupt', file: f.path, offset: f.offset, message: f.detail };
  }

  /** The end of the log: what is still open never completed. */
  finish(): void {
    this.fold.finish();
  }

  private acquire(id: number, declared: number, seg: number, offset: number): TxnRecord {
    const t = this.pool.pop();
    if (t === undefined) {
      return {
        txnId: id,
        segIndex: seg,
        offset,
        declared,
        lastSeg: seg,
        lastOffset: offset,
        items: 0,
        puts: 0,
        deletes: 0,
        bytes: Buffer.allocUnsafe(TXN_BUFFER_BYTES),
        used: 0,
        ops: new Float64Array(TXN_INITIAL_OPS * OP_STRIDE),
        opCount: 0,
      };
    }
    t.txnId = id;
    t.segIndex = seg;
    t.offset = offset;
    t.declared = declared;
    t.lastSeg = seg;
    t.lastOffset = offset;
    t.items = 0;
    t.puts = 0;
    t.deletes = 0;
    t.used = 0;
    t.opCount = 0;
    return t;
  }

  private release(t: TxnRecord): void {
    // a huge transaction's buffers are left to the GC rather than kept for ever
    if (this.pool.length < MAX_POOLED_TXNS && t.bytes.length <= TXN_BUFFER_BYTES * 64 && t.ops.length <= TXN_INITIAL_OPS * OP_STRIDE * 64) this.pool.push(t);
  }
}

/** Copies a KV operation's key (and value) bytes into its transaction's buffer. */
function bufferOp(t: TxnRecord, buf: Uint8Array, b: number, type: number, values: boolean, seg: number, offset: number): void {
  const entityLen = readU16(buf, b + EV.ENTITY_LEN);
  const keyStart = b + EV.VAR + KV_ENTITY_PREFIX_BYTES;
  const keyBytes = entityLen - KV_ENTITY_PREFIX_BYTES;
  const payload = b + EV.VAR + entityLen + readU16(buf, b + EV.SCOPE_LEN);
  const version = readU64(buf, payload);
  const valueBytes = values && type === KvKind.PUT ? readU32(buf, b + EV.PAYLOAD_LEN) - KV_VERSION_BYTES : 0;
  const need = t.used + keyBytes + valueBytes;
  if (need > t.bytes.length) {
    const bigger = Buffer.allocUnsafe(Math.max(need, t.bytes.length * 2));
    t.bytes.copy(bigger, 0, 0, t.used);
    t.bytes = bigger;
  }
  copyBytes(buf, keyStart, keyBytes, t.bytes, t.used);
  t.used += keyBytes;
  if (valueBytes > 0) {
    copyBytes(buf, payload + KV_VERSION_BYTES, valueBytes, t.bytes, t.used);
    t.used += valueBytes;
  }
  let i = t.opCount * OP_STRIDE;
  if (i + OP_STRIDE > t.ops.length) {
    const bigger = new Float64Array(t.ops.length * 2);
    bigger.set(t.ops);
    t.ops = bigger;
  }
  const ops = t.ops;
  ops[i++] = type;
  ops[i++] = version;
  ops[i++] = keyBytes;
  ops[i++] = valueBytes;
  ops[i++] = seg;
  ops[i] = offset;
  t.opCount++;
}

/** Small copies in a loop: cheaper than a native call for a typical key. */
function copyBytes(src: Uint8Array, from: number, len: number, dst: Uint8Array, to: number): void {
  if (len > 64) {
    dst.set(src.subarray(from, from + len), to);
    return;
  }
  for (let i = 0; i < len; i++) dst[to + i] = src[from + i]!;
}

/** Statistics of a replay that has applied nothing yet. */
export function zeroReplayStats(): ReplayStats {
  return { txnsApplied: 0, writesApplied: 0, deletesApplied: 0, discardedTxns: 0, abortedTxns: 0, orphanedEntries: 0, finalVersion: 0, liveKeys: 0 };
}

/** Applies committed transactions to the KV state and counts everything. */
class ReplaySink implements WalSink {
  readonly wantsOps = true;
  stats: ReplayStats = zeroReplayStats();
  state = new KvState();
  scanner!: WalScanner;

  /** Decoded values of the transaction being applied (reused). */
  private readonly values: (string | null)[] = [];

  constructor(
    readonly wantsValues: boolean,
    start?: ReplayStart,
  ) {
    if (start) {
      this.stats = { ...start.stats };
      this.state = start.state;
    }
  }

  /**
   * Decodes and checks every value of `t` before any is applied, so a damaged value
   * stops replay (as corruption, with its location) without half-applying `t`.
   */
  private decodeValues(t: TxnRecord): boolean {
    const ops = t.ops;
    const values = this.values;
    values.length = 0;
    let at = 0;
    const end = t.opCount * OP_STRIDE;
    for (let i = 0; i < end; i += OP_STRIDE) {
      const keyBytes = ops[i + 2]! | 0; // small integers: keep the loops on int arithmetic
      const valueBytes = ops[i + 3]! | 0;
      at += keyBytes;
      if (ops[i] !== KvKind.PUT) {
        values.push(null);
        continue;
      }
      const text = t.bytes.toString('utf8', at, at + valueBytes);
      at += valueBytes;
      try {
        JSON.parse(text);
      } catch {
        const seg = ops[i + 4]!;
        this.scanner.corruption = { code: 'bad_kv_event', file: this.scanner.paths[seg] ?? '', offset: ops[i + 5]!, message: `value of a committed put is not valid JSON` };
        return false;
      }
      values.push(text);
    }
    return true;
  }

  committed(t: TxnRecord, seg: number, offset: number): void {
    if (this.scanner.settled(seg, offset)) return;
    const s = this.stats;
    const ops = t.ops;
    const bytes = t.bytes;
    if (this.wantsValues && !this.decodeValues(t)) return;
    s.txnsApplied++;
    let at = 0;
    const end = t.opCount * OP_STRIDE;
    for (let i = 0; i < end; i += OP_STRIDE) {
      const type = ops[i]!;
      const version = ops[i + 1]!;
      const keyBytes = ops[i + 2]! | 0; // small integers: keep the loops on int arithmetic
      const valueBytes = ops[i + 3]! | 0;
      if (version > s.finalVersion) s.finalVersion = version;
      if (type === KvKind.PUT) {
        s.writesApplied++;
        // the value is kept as the bytes recorded (decodeValues checked they parse as JSON)
        if (this.wantsValues) this.state.put(bytes, at, keyBytes, version, bytes, at + keyBytes, valueBytes);
        else this.state.put(bytes, at, keyBytes, version);
      } else {
        s.deletesApplied++;
        this.state.delete(bytes, at, keyBytes);
      }
      at += keyBytes + valueBytes;
    }
  }

  aborted(t: TxnRecord, seg: number, offset: number): void {
    if (this.scanner.settled(seg, offset)) return;
    this.stats.abortedTxns++;
    this.stats.discardedTxns++;
    this.scanner.warn('aborted_txn', t.txnId, seg, offset, `transaction ${t.txnId} aborted: ${describeOps(t)} discarded (BEGIN at ${this.where(t)})`);
  }

  incomplete(t: TxnRecord, why: 'end' | 'begun_again', seg: number, offset: number): void {
    if (why === 'begun_again' && this.scanner.settled(seg, offset)) return;
    this.stats.discardedTxns++;
    if (why === 'end') {
      this.scanner.warn('incomplete_txn', t.txnId, t.segIndex, t.offset, `transaction ${t.txnId} never committed or aborted: ${describeOps(t)} discarded`);
    } else {
      this.scanner.warn('begin_while_open', t.txnId, seg, offset, `transaction ${t.txnId} begun again while open: the earlier one (BEGIN at ${this.where(t)}, ${describeOps(t)}) is discarded as incomplete`);
    }
  }

  orphan(txn: number, seg: number, offset: number): void {
    if (this.scanner.settled(seg, offset)) return;
    this.stats.orphanedEntries++;
    this.scanner.warn(
      'orphaned_entry',
      txn,
      seg,
      offset,
      txn === 0 ? 'key/value operation outside any transaction: discarded' : `item of transaction ${txn} with no open BEGIN: discarded`,
    );
  }

  private where(t: TxnRecord): string {
    return `${this.scanner.names[t.segIndex] ?? '?'}:${t.offset}`;
  }
}

function describeOps(t: TxnRecord): string {
  const n = t.items;
  return `${n} item${n === 1 ? '' : 's'} (${t.puts} put${t.puts === 1 ? '' : 's'}, ${t.deletes} delete${t.deletes === 1 ? '' : 's'})`;
}

/** Lists transactions (and orphaned items, grouped by id) instead of applying them. */
class DumpSink implements WalSink {
  readonly wantsOps = false;
  readonly wantsValues = false;
  readonly rows: { row: WalTxnRow; seg: number }[] = [];
  private readonly orphans = new Map<number, { row: WalTxnRow; seg: number }>();
  scanner!: WalScanner;

  private add(t: TxnRecord, status: WalTxnStatus): void {
    const names = this.scanner.names;
    this.rows.push({
      seg: t.segIndex,
      row: {
        txn: t.txnId,
        status,
        ops: t.items,
        puts: t.puts,
        deletes: t.deletes,
        first: { segment: names[t.segIndex]!, offset: t.offset },
        last: { segment: names[t.lastSeg]!, offset: t.lastOffset },
      },
    });
  }
  committed(t: TxnRecord): void {
    this.add(t, 'committed');
  }
  aborted(t: TxnRecord): void {
    this.add(t, 'aborted');
  }
  incomplete(t: TxnRecord): void {
    this.add(t, 'incomplete');
  }
  orphan(txn: number, seg: number, offset: number): void {
    const name = this.scanner.names[seg]!;
    const o = this.orphans.get(txn);
    if (o === undefined) {
      const row: WalTxnRow = { txn, status: 'orphaned', ops: 1, puts: 0, deletes: 0, first: { segment: name, offset }, last: { segment: name, offset } };
      const entry = { row, seg };
      this.orphans.set(txn, entry);
      this.rows.push(entry);
      return;
    }
    o.row.ops++;
    o.row.last = { segment: name, offset };
  }
}

function segmentsOf(fs: FileSystem, dir: string): SegmentFile[] {
  const paths = storePaths(dir);
  let isDir: boolean;
  try {
    isDir = fs.stat(dir).isDirectory;
  } catch (err) {
    if (isFsError(err, 'ENOENT')) throw new SeglogError('not_found', 'no such store directory', { file: dir });
    throw ioError(err, dir, 'stat');
  }
  if (!isDir) throw new SeglogError('not_a_store', 'not a directory (give a store directory)', { file: dir });
  try {
    fs.stat(paths.meta);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) throw new SeglogError('not_a_store', 'not a seglog store (no seglog.json)', { file: dir });
    throw ioError(err, paths.meta, 'stat');
  }
  return listSegments(fs, dir);
}

function scan(dir: string, sink: WalSink & { scanner: WalScanner }, opts: ReplayOptions): { scanner: WalScanner; segments: number } {
  const fs = opts.fs ?? new RealFs();
  const segments = segmentsOf(fs, dir);
  const scanner = new WalScanner(sink, opts.maxWarnings ?? MAX_WAL_WARNINGS, opts.tap ?? null, opts.onProgress ?? null);
  sink.scanner = scanner;
  try {
    walkStore(fs, segments, scanner, { lastIsActive: true, shouldStop: () => scanner.corruption !== null, ...(opts.start ? { start: opts.start.resume } : {}) });
  } catch (err) {
    if (err instanceof SeglogError) throw err;
    const file = (err as { path?: unknown }).path;
    throw ioError(err, typeof file === 'string' ? file : dir, 'read the log');
  }
  opts.tap?.onEnd();
  scanner.finish();
  return { scanner, segments: segments.length };
}

/**
 * Replays the log of the store at `dir` read-only (no lock taken, nothing written).
 * Stops at the first corruption and reports it in `corruption`, with the stats and
 * state up to there; a torn tail of the active segment is the log's end (a warning).
 */
export function replayWal(dir: string, opts: ReplayOptions = {}): ReplayResult {
  const sink = new ReplaySink(opts.keepValues ?? false, opts.start);
  opts.tap?.attach(sink.stats, sink.state);
  const { scanner, segments } = scan(dir, sink, opts);
  sink.stats.liveKeys = sink.state.size;
  return { stats: sink.stats, warnings: scanner.warnings, warningsOmitted: scanner.warningsOmitted, corruption: scanner.corruption, state: sink.state, segments };
}

/** The transaction-grouped view of the log, in order of each transaction's first frame. */
export function dumpWal(dir: string, opts: WalScanOptions = {}): WalDumpResult {
  const sink = new DumpSink();
  const { scanner, segments } = scan(dir, sink, opts);
  const rows = sink.rows.sort((a, b) => a.seg - b.seg || a.row.first.offset - b.row.first.offset).map((r) => r.row);
  return { txns: rows, warnings: scanner.warnings, warningsOmitted: scanner.warningsOmitted, corruption: scanner.corruption, segments };
}

/**
 * The final state as one JSON document `{key: {"value": ..., "version": N}}`, keys in
 * code-unit order (stable for diffs). Values are the recorded JSON text, spliced in as
 * is: replay with `keepValues` checked that each parses before applying it.
 */
export function stateToJson(state: KvState): string {
  const entries = [...state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const parts: string[] = [];
  for (const [k, e] of entries) {
    if (e.value === null) throw new SeglogError('usage', 'replay ran without keepValues: no values to write');
    parts.push(`${JSON.stringify(k)}:{"value":${e.value},"version":${e.version}}`);
  }
  return `{${parts.join(',')}}\n`;
}
