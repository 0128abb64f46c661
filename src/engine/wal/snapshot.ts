/**
 * Key/value snapshots (docs/FORMAT.md section 10): writing one at the log's current
 * commit position, and replaying through the newest one that still matches the log.
 * Over 500 lines, knowingly: writer, the replay tap and the scheduler share the position
 * rule below; the loader is in snapshot-load.ts, and the tap is the next split.
 *
 * The position rule. A snapshot taken at position P holds the state of every
 * transaction whose COMMIT lies before P. Transactions interleave, so some may have
 * begun before P and commit after it: replay therefore restarts its scan at R, the
 * BEGIN of the oldest transaction still open at P (as cursors do, FORMAT.md section 7),
 * and treats every frame before P as *settled*: it tracks the transactions those
 * frames open (so one that commits after P is applied whole, exactly once) but applies,
 * counts and warns about nothing there, since the snapshot already did.
 *
 * P is the end of the last frame that completes something (anything but a BEGIN or an
 * item of an open transaction): recovery never cuts the log before such a frame
 * (recovery-scan.ts, `completeEnd`), so a crash after the snapshot cannot take its
 * position away. Statistics are the ones replay had at P; the state at P is the state
 * at the end of the walk (no COMMIT comes after P).
 *
 * A snapshot is used only if its BLAKE3 checks out, the frames it names (the last one
 * before P and the one at R) are still in the log with the same length and CRC, and the
 * first event at or after P carries the sequence it recorded. Otherwise replay warns
 * and tries the one before, then a full replay.
 */
import { join } from 'node:path';
import { createBLAKE3, type IHasher } from 'hash-wasm';
import { readU32 } from '../../format/bytes.js';
import { ev } from '../../format/event.js';
import { FrameType } from '../../format/frame.js';
import { decodeGap, GapKind } from '../../format/gap.js';
import { markerTxnId } from '../../format/marker.js';
import {
  comparePositions,
  encodeSnapshotHeader,
  type FrameMark,
  type LogPosition,
  parseSnapshotFileName,
  SNAPSHOT_ENTRY_FIXED_BYTES,
  SNAPSHOT_HEADER_BYTES,
  snapshotFileName,
  type SnapshotHeader,
  type SnapshotStats,
  SNAPSHOTS_DIR,
  writeEntryFixed,
} from '../../format/snapshot.js';
import { ioError, SeglogError } from '../io/errors.js';
import { RealFs } from '../io/real-fs.js';
import { type FileSystem, isFsError } from '../io/fs-types.js';
import { ensureDir, exists, readFully, writeFully } from '../io/fs-util.js';
import { basePath } from '../segment/prune-base.js';
import { KvState, NO_VALUE } from './kv-state.js';
import { type LoadedSnapshot, loadSnapshotSync } from './snapshot-load.js';

export { type LoadedSnapshot, loadSnapshotSync };
import { segmentFileName } from '../io/layout.js';
import type { SegmentReader } from '../segment/segment-reader.js';
import type { SegmentFile } from '../segment/walker.js';
import { type ReplayOptions, type ReplayResult, type ReplayStats, type ReplayTap, replayWal } from './wal-replay.js';
import { basename, dirname } from 'node:path';
import { decodeTrailer, SIDX_TRAILER_BYTES } from '../../format/sidx.js';

/** Snapshots kept by `writeSnapshot` (older ones are removed after a new one is durable). */
export const DEFAULT_SNAPSHOTS_KEPT = 3;
/** Bytes of entries gathered before one write (and one hash update). */
const WRITE_CHUNK_BYTES = 4 * 1024 * 1024;
/** A frame's length and CRC fields. */
const FRAME_HEADER_READ_BYTES = 8;

export function snapshotsDir(dir: string): string {
  return join(dir, SNAPSHOTS_DIR);
}

export interface SnapshotFile {
  path: string;
  name: string;
  position: LogPosition;
}

/** Snapshot files of a store, newest (highest position) first. */
export function listSnapshots(fs: FileSystem, dir: string): SnapshotFile[] {
  const sdir = snapshotsDir(dir);
  let names: string[];
  try {
    names = fs.readdir(sdir);
  } catch (err) {
    if (isFsError(err, 'ENOENT') || isFsError(err, 'ENOTDIR')) return [];
    throw ioError(err, sdir, 'list snapshots');
  }
  const out: SnapshotFile[] = [];
  for (const name of names) {
    const position = parseSnapshotFileName(name);
    if (position) out.push({ path: join(sdir, name), name, position });
  }
  return out.sort((a, b) => comparePositions(b.position, a.position));
}

/**
 * Segment bytes a replay of `dir` reads: from the newest snapshot's position (or the
 * given snapshot file's, by its name), or all of them. For choosing a worker thread and
 * for progress; a snapshot that turns out not to fit makes the replay read more. 0 when
 * it cannot tell.
 */
export function replayInputBytes(fs: FileSystem, dir: string, segments: readonly SegmentFile[], opts: { noSnapshot?: boolean; snapshotFile?: string } = {}): number {
  try {
    const from = opts.noSnapshot ? null : opts.snapshotFile !== undefined ? parseSnapshotFileName(basename(opts.snapshotFile)) : (listSnapshots(fs, dir)[0]?.position ?? null);
    let total = 0;
    for (const s of segments) {
      if (from && s.id < from.segmentId) continue;
      const size = fs.stat(s.path).sizeBytes;
      // a sealed segment's footer is not read by a replay: its frames end where the footer starts
      total += from && s.id === from.segmentId ? Math.max(0, framesEndOf(fs, s.path, size) - from.offset) : size;
    }
    return total;
  } catch {
    return 0;
  }
}

/** Where the frames of a segment end: its footer's start when its SIDX trailer checks out, else its size. */
function framesEndOf(fs: FileSystem, path: string, size: number): number {
  if (size < SIDX_TRAILER_BYTES) return size;
  const t = new Uint8Array(SIDX_TRAILER_BYTES);
  const fd = fs.open(path, 'r');
  try {
    if (readFully(fs, fd, t, 0, t.length, size - SIDX_TRAILER_BYTES) < t.length) return size;
  } finally {
    fs.close(fd);
  }
  const r = decodeTrailer(t, size);
  return r.ok ? r.trailer.footerStart : size;
}

let hasherPromise: Promise<IHasher> | undefined;
let hasherReady: IHasher | null = null;
// made when the module loads (top-level await), so synchronous writers and the drill's
// checks can use it without an await of their own
await snapshotHasher();
/**
 * Writing keeps its hash state across file system calls; a drill checks crash states
 * from inside those calls (crash-explorer's PointFs), and that check loads snapshots. So
 * the writer has a hasher of its own, never the one loads use.
 */
const writeHasher = await createBLAKE3();
/**
 * One incremental BLAKE3 per thread (hash-wasm compiles its module asynchronously, so it
 * is made once and then used synchronously: the *Sync functions take it).
 */
export async function snapshotHasher(): Promise<IHasher> {
  hasherPromise ??= createBLAKE3().then((h) => (hasherReady = h));
  return hasherPromise;
}

/** The hasher `snapshotHasher()` made; for synchronous callers that awaited it once before. */
export function snapshotHasherSync(): IHasher {
  if (hasherReady === null) throw new Error('snapshotHasherSync: await snapshotHasher() once first');
  return hasherReady;
}

/**
 * Reads and checks a snapshot: header, BLAKE3 of the whole, entries that add up
 * exactly. Throws SeglogError 'corrupt' naming the file when it is not usable.
 */
export async function loadSnapshot(fs: FileSystem, path: string, keepValues: boolean, headerOnly = false): Promise<LoadedSnapshot> {
  return loadSnapshotSync(fs, path, keepValues, await snapshotHasher(), headerOnly);
}

/** Whether the log still holds the frame `m` names (same length and CRC fields). Null when it does. */
function checkMark(fs: FileSystem, dir: string, m: FrameMark, what: string): string | null {
  const path = join(dir, segmentFileName(m.segmentId));
  const b = new Uint8Array(FRAME_HEADER_READ_BYTES);
  let n: number;
  try {
    const fd = fs.open(path, 'r');
    try {
      n = readFully(fs, fd, b, 0, b.length, m.offset);
    } finally {
      fs.close(fd);
    }
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return `${what} is in ${segmentFileName(m.segmentId)}, which is not in the store`;
    throw ioError(err, path, 'read');
  }
  if (n < b.length || readU32(b, 0) !== m.length || readU32(b, 4) !== m.crc) {
    return `the log no longer holds the frame at ${segmentFileName(m.segmentId)}:${m.offset} (${what}): the log changed after the snapshot`;
  }
  return null;
}

/** Cheap checks of a snapshot against the log, before it is used: null when it fits. */
export function checkSnapshotAgainstLog(fs: FileSystem, dir: string, h: SnapshotHeader): string | null {
  if (h.lastFrame) {
    const why = checkMark(fs, dir, h.lastFrame, 'its last frame');
    if (why) return why;
    const end = { segmentId: h.lastFrame.segmentId, offset: h.lastFrame.offset + FRAME_HEADER_READ_BYTES + h.lastFrame.length };
    if (comparePositions(end, h.position) !== 0) return 'its position is not the end of its last frame';
  }
  if (h.resume) return checkMark(fs, dir, h.resume, 'the BEGIN replay resumes at');
  return null;
}

interface Capture {
  position: LogPosition;
  lastFrame: FrameMark | null;
  resume: FrameMark | null;
  nextSeq: number;
  nextTxnId: number;
  stats: ReplayStats;
}

/**
 * Follows a replay (engine/wal/wal-replay.ts ReplayTap): settles the frames a start
 * snapshot covers, checks that the log continues where the snapshot says, and captures
 * the position, statistics and counters a new snapshot taken at the end would have.
 */
class SnapshotTap implements ReplayTap {
  private ids: number[] = [];
  private stats!: ReplayStats;
  /** Transactions open now (recovery's rule: BEGIN opens, COMMIT/ABORT close), in BEGIN order. */
  private readonly open = new Map<number, FrameMark>();
  private nextSeq: number;
  private nextTxnId: number;
  /** The last frame, when it completed something: captured at the next frame or the end. */
  private pending: FrameMark | null = null;
  capture: Capture;
  /** Why the log does not continue as the start snapshot says (null: it does). */
  mismatch: string | null = null;
  private firstEventChecked: boolean;

  constructor(private readonly from: SnapshotHeader | null) {
    this.nextSeq = from?.nextSeq ?? 0;
    this.nextTxnId = from?.nextTxnId ?? 1;
    this.firstEventChecked = from === null;
    this.capture = {
      position: from?.position ?? { segmentId: 0, offset: 0 },
      lastFrame: from?.lastFrame ?? null,
      resume: from?.resume ?? null,
      nextSeq: this.nextSeq,
      nextTxnId: this.nextTxnId,
      stats: null as unknown as ReplayStats,
    };
  }

  attach(stats: ReplayStats): void {
    this.stats = stats;
    this.capture.stats = { ...stats };
  }

  onSegment(seg: SegmentFile, segIndex: number): void {
    this.ids[segIndex] = seg.id;
  }

  settled(segIndex: number, offset: number): boolean {
    const f = this.from;
    if (f === null) return false;
    const id = this.ids[segIndex]!;
    return id < f.position.segmentId || (id === f.position.segmentId && offset < f.position.offset);
  }

  onFrame(r: SegmentReader, segIndex: number): void {
    if (this.pending !== null) this.take();
    const buf = r.buf;
    const b = r.bodyOff;
    const mark: FrameMark = { segmentId: this.ids[segIndex]!, offset: r.frameOffset, length: readU32(buf, b - 9), crc: readU32(buf, b - 5) };
    const settled = this.settled(segIndex, r.frameOffset);
    let completes = true;
    switch (r.type) {
      case FrameType.EVENT: {
        const seq = ev.seq(buf, b);
        if (!settled && !this.firstEventChecked) {
          this.firstEventChecked = true;
          if (seq !== this.nextSeq) this.mismatch = `the first event after its position has sequence ${seq}, the snapshot expects ${this.nextSeq}`;
        }
        if (seq + 1 > this.nextSeq) this.nextSeq = seq + 1;
        const txn = ev.txnId(buf, b);
        if (txn !== 0) {
          if (this.open.has(txn)) completes = false;
          if (txn >= this.nextTxnId) this.nextTxnId = txn + 1;
        }
        break;
      }
      case FrameType.BEGIN: {
        const txn = markerTxnId(buf, b);
        this.open.delete(txn); // re-inserted: the map stays in BEGIN order
        this.open.set(txn, mark);
        if (txn >= this.nextTxnId) this.nextTxnId = txn + 1;
        completes = false;
        break;
      }
      case FrameType.COMMIT:
      case FrameType.ABORT:
        this.open.delete(markerTxnId(buf, b));
        break;
      case FrameType.GAP: {
        const g = decodeGap(buf, b, r.bodyBytes);
        if (g && g.kind === GapKind.SEQUENCE && g.fromSeq + g.count > this.nextSeq) this.nextSeq = g.fromSeq + g.count;
        break;
      }
      default:
        break;
    }
    if (completes && !settled) this.pending = mark;
  }

  /** The frame in `pending` completed something and replay has applied it: capture the state after it. */
  private take(): void {
    const m = this.pending!;
    this.pending = null;
    let resume: FrameMark | null = null;
    for (const first of this.open.values()) {
      resume = first;
      break;
    }
    this.capture = {
      position: { segmentId: m.segmentId, offset: m.offset + FRAME_HEADER_READ_BYTES + m.length },
      lastFrame: m,
      resume,
      nextSeq: this.nextSeq,
      nextTxnId: this.nextTxnId,
      stats: { ...this.stats },
    };
  }

  onEnd(): void {
    if (this.pending !== null) this.take();
  }
}

export interface SnapshotReplayOptions extends Omit<ReplayOptions, 'start' | 'tap'> {
  /** Never use a snapshot: replay the whole log. */
  noSnapshot?: boolean;
  /** Use this snapshot file only (an error if it does not fit the log). */
  snapshotFile?: string;
}

export interface SnapshotReplayResult extends ReplayResult {
  /** The snapshot replay started from (null: a full replay). */
  snapshot: { file: string; position: LogPosition } | null;
  /** Snapshots skipped, one line each naming the file and why. */
  snapshotWarnings: string[];
}

interface TappedReplay {
  result: ReplayResult;
  tap: SnapshotTap;
}

function replayFrom(dir: string, opts: ReplayOptions, loaded: LoadedSnapshot | null): TappedReplay {
  const tap = new SnapshotTap(loaded?.header ?? null);
  const start = loaded
    ? {
        state: loaded.state,
        stats: { ...loaded.header.stats, finalVersion: loaded.header.finalVersion, liveKeys: loaded.state.size },
        resume: loaded.header.resume ?? loaded.header.position,
      }
    : undefined;
  const result = replayWal(dir, { ...opts, tap, ...(start ? { start } : {}) });
  return { result, tap };
}

/**
 * Replay through snapshots: the newest one that checks out and fits the log, then the
 * transactions committed after its position. State and statistics equal a full
 * replay's; warnings cover only the frames after the snapshot's position.
 */
export async function replayWithSnapshots(dir: string, opts: SnapshotReplayOptions = {}): Promise<SnapshotReplayResult> {
  return replayTapped(dir, opts, await snapshotHasher()).out;
}

/** replayWithSnapshots with a hasher made beforehand (`snapshotHasher()`). */
export function replayWithSnapshotsSync(dir: string, h: IHasher, opts: SnapshotReplayOptions = {}): SnapshotReplayResult {
  return replayTapped(dir, opts, h).out;
}

function replayTapped(dir: string, opts: SnapshotReplayOptions, h: IHasher): { out: SnapshotReplayResult; tap: SnapshotTap } {
  const fs = opts.fs ?? new RealFs();
  const base: ReplayOptions = { ...opts, fs };
  const keepValues = opts.keepValues ?? false;
  const warnings: string[] = [];
  const candidates: string[] = opts.noSnapshot ? [] : opts.snapshotFile !== undefined ? [opts.snapshotFile] : listSnapshots(fs, dir).map((s) => s.path);
  for (const file of candidates) {
    let why: string;
    try {
      const loaded = loadSnapshotSync(fs, file, keepValues, h);
      const misfit = checkSnapshotAgainstLog(fs, dir, loaded.header);
      if (misfit === null) {
        const { result, tap } = replayFrom(dir, base, loaded);
        if (tap.mismatch === null) {
          return { out: { ...result, snapshot: { file, position: loaded.header.position }, snapshotWarnings: warnings }, tap };
        }
        why = tap.mismatch;
      } else {
        why = misfit;
      }
    } catch (err) {
      if (!(err instanceof SeglogError) || (err.code !== 'corrupt' && err.code !== 'not_found')) throw err;
      why = err.message;
    }
    if (opts.snapshotFile !== undefined) throw new SeglogError('corrupt', `snapshot cannot be used: ${why}`, { file });
    warnings.push(`${file}: ${why}; not used`);
  }
  const { result, tap } = replayFrom(dir, base, null);
  if (exists(fs, basePath(dir))) warnings.push(`${basePath(dir)}: the store was pruned and no snapshot was used: this replay misses every transaction before the cut`);
  return { out: { ...result, snapshot: null, snapshotWarnings: warnings }, tap };
}

export interface WriteSnapshotOptions {
  fs?: FileSystem;
  /** Snapshots to keep, the new one included (older ones are removed once it is durable). Default DEFAULT_SNAPSHOTS_KEPT; 0 keeps all. */
  keep?: number;
  nowMs?: () => number;
  /** Start from the newest usable snapshot (default true): the cost is the log written since. */
  incremental?: boolean;
}

export interface WriteSnapshotResult {
  file: string;
  position: LogPosition;
  resume: LogPosition;
  nextSeq: number;
  nextTxnId: number;
  finalVersion: number;
  entries: number;
  bytes: number;
  /** The snapshot this one was built from (null: a full replay). */
  from: string | null;
  snapshotWarnings: string[];
  removed: string[];
}

/**
 * Writes the key/value state at the log's current commit position to
 * `snapshots/<position>.snap` (temp file, fsync, rename, directory fsync). Reads the
 * log read-only; the caller holds the store lock or is the writer. Refuses (corrupt)
 * when replay stops at damage.
 */
export async function writeSnapshot(dir: string, opts: WriteSnapshotOptions = {}): Promise<WriteSnapshotResult> {
  return writeSnapshotSync(dir, await snapshotHasher(), opts);
}

/** writeSnapshot with a hasher made beforehand (`snapshotHasher()`), for synchronous writers. */
export function writeSnapshotSync(dir: string, h: IHasher, opts: WriteSnapshotOptions = {}): WriteSnapshotResult {
  const fs = opts.fs ?? new RealFs();
  const { out, tap } = replayTapped(dir, { fs, keepValues: true, maxWarnings: 0, noSnapshot: opts.incremental === false }, h);
  if (out.corruption) {
    throw new SeglogError('corrupt', `replay stopped at damage (${out.corruption.message}); no snapshot written`, { file: out.corruption.file, offset: out.corruption.offset });
  }
  if (out.snapshot === null && exists(fs, basePath(dir))) {
    // a full replay of a pruned store misses what was pruned: its state would be wrong
    throw new SeglogError('corrupt', 'the store was pruned and no snapshot fits the log: the state cannot be rebuilt, no snapshot written', { file: basePath(dir) });
  }
  const c = tap.capture;
  const header: SnapshotHeader = {
    position: c.position,
    resume: c.resume,
    lastFrame: c.lastFrame,
    nextSeq: c.nextSeq,
    nextTxnId: c.nextTxnId,
    finalVersion: c.stats.finalVersion,
    entryCount: out.state.size,
    stats: pickStats(c.stats),
    createdMs: (opts.nowMs ?? Date.now)(),
  };
  const sdir = snapshotsDir(dir);
  try {
    ensureDir(fs, sdir);
  } catch (err) {
    throw ioError(err, sdir, 'create the snapshots directory');
  }
  const path = join(sdir, snapshotFileName(c.position));
  const bytes = writeSnapshotFile(fs, path, header, out.state, writeHasher);
  const removed: string[] = [];
  const keep = opts.keep ?? DEFAULT_SNAPSHOTS_KEPT;
  if (keep > 0) {
    for (const old of listSnapshots(fs, dir).slice(keep)) {
      try {
        fs.unlink(old.path);
        removed.push(old.path);
      } catch (err) {
        if (!isFsError(err, 'ENOENT')) throw ioError(err, old.path, 'remove an old snapshot');
      }
    }
    if (removed.length > 0) fs.fsyncDir(sdir);
  }
  return {
    file: path,
    position: c.position,
    resume: c.resume ?? c.position,
    nextSeq: c.nextSeq,
    nextTxnId: c.nextTxnId,
    finalVersion: header.finalVersion,
    entries: header.entryCount,
    bytes,
    from: out.snapshot?.file ?? null,
    snapshotWarnings: out.snapshotWarnings,
    removed,
  };
}

function pickStats(s: ReplayStats): SnapshotStats {
  return {
    txnsApplied: s.txnsApplied,
    writesApplied: s.writesApplied,
    deletesApplied: s.deletesApplied,
    discardedTxns: s.discardedTxns,
    abortedTxns: s.abortedTxns,
    orphanedEntries: s.orphanedEntries,
  };
}

/** Streams header, entries and hash into `<path>.tmp`, then makes it `path` durably. Returns the size. */
function writeSnapshotFile(fs: FileSystem, path: string, header: SnapshotHeader, state: KvState, h: IHasher): number {
  h.init();
  const tmp = `${path}.tmp`;
  let fd: number;
  try {
    fd = fs.open(tmp, 'w');
  } catch (err) {
    throw ioError(err, tmp, 'create the snapshot');
  }
  let pos = 0;
  try {
    const put = (b: Uint8Array, len: number): void => {
      h.update(len === b.length ? b : b.subarray(0, len));
      writeFully(fs, fd, b, 0, len, pos);
      pos += len;
    };
    put(encodeSnapshotHeader(header), SNAPSHOT_HEADER_BYTES);
    let chunk = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
    let used = 0;
    // keys are copied from the state's own bytes (no string per key: 1M keys made 1M strings)
    state.forEachRaw((keys, keyOff, keyLen, values, valueOff, valueLen, version) => {
      if (valueLen === NO_VALUE) throw new SeglogError('usage', 'snapshot needs values: replay with keepValues');
      const need = SNAPSHOT_ENTRY_FIXED_BYTES + keyLen + valueLen;
      if (used + need > chunk.length) {
        put(chunk, used);
        used = 0;
        if (need > chunk.length) chunk = Buffer.allocUnsafe(need);
      }
      keys.copy(chunk, used + SNAPSHOT_ENTRY_FIXED_BYTES, keyOff, keyOff + keyLen);
      values.copy(chunk, used + SNAPSHOT_ENTRY_FIXED_BYTES + keyLen, valueOff, valueOff + valueLen);
      writeEntryFixed(chunk, used, keyLen, valueLen, version);
      used += need;
    });
    if (used > 0) put(chunk, used);
    const digest = h.digest('binary');
    writeFully(fs, fd, digest, 0, digest.length, pos);
    pos += digest.length;
    fs.fsync(fd);
  } catch (err) {
    if (err instanceof SeglogError) throw err;
    throw ioError(err, tmp, 'write the snapshot');
  } finally {
    fs.close(fd);
  }
  try {
    fs.rename(tmp, path);
    fs.fsyncDir(dirname(path));
  } catch (err) {
    throw ioError(err, path, 'install the snapshot');
  }
  return pos;
}

/**
 * For a writer: takes a snapshot after every `every` committed transactions. Call
 * `committed()` after each commit returns (the COMMIT is then in the log).
 */
export class SnapshotScheduler {
  private sinceLast = 0;
  readonly written: WriteSnapshotResult[] = [];
  private constructor(
    private readonly dir: string,
    private readonly every: number,
    private readonly hasher: IHasher,
    private readonly opts: WriteSnapshotOptions,
  ) {}

  static async create(dir: string, every: number, opts: WriteSnapshotOptions = {}): Promise<SnapshotScheduler> {
    if (!Number.isSafeInteger(every) || every < 1) throw new SeglogError('usage', `snapshot interval must be a positive integer, got ${every}`);
    return new SnapshotScheduler(dir, every, await snapshotHasher(), opts);
  }

  /** Whether the next `committed()` takes a snapshot (a writer that buffers frames flushes them first). */
  get due(): boolean {
    return this.sinceLast + 1 >= this.every;
  }

  /** Counts a committed transaction (its COMMIT written); snapshots when the interval is reached. */
  committed(): WriteSnapshotResult | null {
    this.sinceLast++;
    if (this.sinceLast < this.every) return null;
    this.sinceLast = 0;
    const r = writeSnapshotSync(this.dir, this.hasher, this.opts);
    this.written.push(r);
    return r;
  }
}
