/**
 * `seglog prune`: removes sealed segments all of whose events come before a cut, after
 * writing the store's base (format/base.ts) so that what remains still verifies.
 *
 * The plan (read-only, under the lock):
 * - the candidate cut is the longest prefix of sealed segments (never the last one)
 *   whose events all lie before the cut (sequence, or wall time); the cut is a segment
 *   boundary;
 * - transactions open at the boundary (a batch spanning a rotation, interleaved ones)
 *   are listed in the base: readers that start at the first segment kept take them as
 *   begun, so their items after the cut stay visible once their COMMIT is read (the
 *   items before the cut are pruned with their segment); verify takes them as begun
 *   before the cut;
 * - the base is the open-time state at the boundary (cold-start.ts over the pruned
 *   segments, footers where they check out), continuing the previous base if any;
 * - refusals: damage in what is pruned (verify and repair first); a key/value log with
 *   no snapshot at or after the cut that fits the log (replay could no longer rebuild
 *   the state); a durable cursor whose resume position is before the cut (unless
 *   `force`, which names them).
 *
 * The execution, crash-safe in this order: (1) with an archive, every segment is
 * copied there and fsynced and the archive's manifest replaced atomically; (2) index.ckpt
 * is removed (durably): it describes the segments; (3) the base is written atomically:
 * from here on the pruned segments are pruned, and every reader skips files below the
 * base; (4) the segments are unlinked oldest first and the directory fsynced; (5)
 * snapshots that resume before the cut (now unusable) are removed. A crash anywhere
 * leaves either the old store, or the base with some pruned files still present, which
 * readers ignore and the next prune removes.
 */
import { join } from 'node:path';
import { BASE_FILE, encodeBase, type PruneBase } from '../format/base.js';
import { ev } from '../format/event.js';
import { FrameType } from '../format/frame.js';
import { CURSOR_NAME, decodeCursor } from '../format/cursor.js';
import { comparePositions } from '../format/snapshot.js';
import { archiveSegments, type ArchiveResult } from '../tools/archive.js';
import { coldStart } from '../engine/index/cold-start.js';
import { ioError, SeglogError } from '../engine/io/errors.js';
import { RealFs } from '../engine/io/real-fs.js';
import { type FileSystem, isFsError } from '../engine/io/fs-types.js';
import { exists, readWhole, writeFileAtomic } from '../engine/io/fs-util.js';
import { storePaths } from '../engine/io/layout.js';
import { type LockEnv, realLockEnv, StoreLock } from '../engine/io/lock.js';
import { basePath, loadBase, segmentsFromBase } from '../engine/segment/prune-base.js';
import type { RecoveryScan } from '../engine/recovery/recovery-scan.js';
import type { SegmentReader } from '../engine/segment/segment-reader.js';
import { checkSnapshotAgainstLog, listSnapshots, loadSnapshotSync, snapshotHasher } from '../engine/wal/snapshot.js';
import type { IHasher } from 'hash-wasm';
import { listSegments, type SegmentFile, walkStore } from '../engine/segment/walker.js';

export type PruneCut = { kind: 'seq'; seq: number } | { kind: 'time'; ms: number };

export interface PruneOptions {
  fs?: FileSystem;
  lockEnv?: LockEnv;
  onWarning?: (message: string) => void;
  /** Go ahead although durable cursors are behind the cut (they are named in the result). */
  force?: boolean;
  /** Move the segments into this directory (with a manifest) instead of deleting them. */
  archiveDir?: string;
  nowMs?: () => number;
  /** Called with the plan before anything changes; return false to stop (nothing is changed). */
  confirm?: (plan: PrunePlan) => Promise<boolean> | boolean;
  dryRun?: boolean;
}

export interface PrunedSegment {
  name: string;
  id: number;
  sizeBytes: number;
  /** -1 when the segment holds no event. */
  firstSeq: number;
  lastSeq: number;
}

export interface PrunePlan {
  store: string;
  /** Segments to remove (or archive), in id order. */
  segments: PrunedSegment[];
  /** Files below the existing base left by an interrupted prune (removed first). */
  leftovers: string[];
  /** The first segment kept (null: nothing to prune). */
  firstKept: string | null;
  /** The base that will be written (null: nothing to prune). */
  base: PruneBase | null;
  bytes: number;
  /** Why the cut is before what was asked (a transaction committing after it, ...). */
  notes: string[];
  /** The snapshot at or after the cut replay will start from (null: the log has no key/value operations before the cut). */
  snapshot: string | null;
  /** Durable cursors behind the cut (only with `force`: otherwise prune refuses). */
  cursorsBehind: string[];
  /** Snapshots that resume before the cut: removed after the prune. */
  staleSnapshots: string[];
}

export interface PruneResult extends PrunePlan {
  done: boolean;
  dryRun: boolean;
  archive: ArchiveResult | null;
}

/** Parses `--before`: a decimal sequence number, or a date/time (ISO 8601) meaning wall time. */
export function parseCut(text: string): PruneCut {
  const t = text.trim();
  if (/^\d{1,16}$/.test(t)) return { kind: 'seq', seq: Number(t) };
  const ms = Date.parse(t);
  if (!Number.isFinite(ms) || !/\d{4}-\d{2}-\d{2}/.test(t)) throw new SeglogError('usage', `--before takes a sequence number or an ISO date/time, got '${text}'`);
  return { kind: 'time', ms };
}

export async function prune(dir: string, cut: PruneCut, opts: PruneOptions = {}): Promise<PruneResult> {
  const h = await snapshotHasher();
  const fs = opts.fs ?? new RealFs();
  const lock = lockStore(fs, dir, opts);
  try {
    const plan = planPruneSync(fs, dir, cut, h, opts);
    if (opts.dryRun || (plan.segments.length === 0 && plan.leftovers.length === 0)) return { ...plan, done: false, dryRun: opts.dryRun ?? false, archive: null };
    if (opts.confirm && !(await opts.confirm(plan))) return { ...plan, done: false, dryRun: false, archive: null };
    const archive = executePrune(fs, dir, plan, opts, h);
    return { ...plan, done: true, dryRun: false, archive };
  } finally {
    lock.release();
  }
}

/** What planning and executing read of the options (confirming is the caller's). */
type PruneStepOptions = Omit<PruneOptions, 'confirm'>;

export interface PruneSyncOptions extends PruneStepOptions {
  /** Called with the plan before anything changes; return false to stop (nothing is changed). */
  confirm?: (plan: PrunePlan) => boolean;
}

/**
 * `prune` for synchronous callers (the drill runs it between the simulated disk's
 * operations). `h` is a BLAKE3 of the caller's own: archiving hashes each file across
 * file system calls, so it must not be one a crash check running inside those calls
 * also uses (snapshotHasherSync()'s).
 */
export function pruneSync(dir: string, cut: PruneCut, h: IHasher, opts: PruneSyncOptions = {}): PruneResult {
  const fs = opts.fs ?? new RealFs();
  const lock = lockStore(fs, dir, opts);
  try {
    const plan = planPruneSync(fs, dir, cut, h, opts);
    if (opts.dryRun || (plan.segments.length === 0 && plan.leftovers.length === 0)) return { ...plan, done: false, dryRun: opts.dryRun ?? false, archive: null };
    if (opts.confirm && !opts.confirm(plan)) return { ...plan, done: false, dryRun: false, archive: null };
    const archive = executePrune(fs, dir, plan, opts, h);
    return { ...plan, done: true, dryRun: false, archive };
  } finally {
    lock.release();
  }
}

function lockStore(fs: FileSystem, dir: string, opts: PruneStepOptions): StoreLock {
  const paths = storePaths(dir);
  if (!exists(fs, paths.meta)) {
    if (!exists(fs, dir)) throw new SeglogError('not_found', 'no such store directory', { file: dir });
    throw new SeglogError('not_a_store', 'not a seglog store (no seglog.json)', { file: dir });
  }
  return StoreLock.acquire(fs, paths.lock, opts.lockEnv ?? realLockEnv(), opts.onWarning ?? ((): void => {}));
}

/** What a prune would do; changes nothing. Throws when it must refuse. */
export async function planPrune(fs: FileSystem, dir: string, cut: PruneCut, opts: PruneStepOptions = {}): Promise<PrunePlan> {
  return planPruneSync(fs, dir, cut, await snapshotHasher(), opts);
}

/** planPrune with a hasher made beforehand (it checks the snapshots' BLAKE3). */
export function planPruneSync(fs: FileSystem, dir: string, cut: PruneCut, h: IHasher, opts: PruneStepOptions = {}): PrunePlan {
  const oldBase = loadBase(fs, dir);
  const all = listSegments(fs, dir);
  const live = segmentsFromBase(all, oldBase);
  const leftovers = all.filter((s) => !live.includes(s)).map((s) => s.path);
  const notes: string[] = [];
  // per-segment summaries from the cheapest source (checkpoint, footers, scans)
  const whole = coldStart(fs, dir, all, { useCheckpoint: true, useFooters: true });
  refuseDamage(whole.scan, 'the store');
  const count = qualifyingPrefix(fs, live, whole.scan, cut);
  const scan = count > 0 ? coldStart(fs, dir, live.slice(0, count), { useCheckpoint: false, useFooters: true }).scan : null;
  if (scan) refuseDamage(scan, 'the segments to prune');
  const empty: PrunePlan = { store: dir, segments: [], leftovers, firstKept: null, base: null, bytes: 0, notes, snapshot: null, cursorsBehind: [], staleSnapshots: [] };
  if (count === 0 || scan === null) return empty;
  const firstKept = live[count]!;
  const base: PruneBase = {
    firstSegmentId: firstKept.id,
    nextSeq: scan.nextSeq,
    nextTxnId: scan.nextTxnId,
    maxKvVersion: scan.maxKvVersion,
    committedEvents: scan.committedEvents,
    committedBatches: scan.committedBatches,
    prunedAtMs: (opts.nowMs ?? Date.now)(),
    openTxns: [...scan.openTxns.values()].map((t) => ({ txnId: t.txnId, items: t.items })),
    heads: new Map([...scan.heads].map(([k, h]) => [k, { clock: h.clock, wallMs: h.wallMs, hash: h.hash }])),
  };
  const segments: PrunedSegment[] = scan.segments.map((s) => ({ name: s.name, id: s.id, sizeBytes: s.fileSizeBytes, firstSeq: s.firstSeq, lastSeq: s.lastSeq }));
  const at = { segmentId: firstKept.id, offset: 0 };
  // key/value operations before the cut: replay needs a snapshot at or after it
  let snapshot: string | null = null;
  const staleSnapshots: string[] = [];
  for (const s of listSnapshots(fs, dir)) {
    let resume;
    try {
      const hdr = loadSnapshotSync(fs, s.path, false, h, true).header;
      if (checkSnapshotAgainstLog(fs, dir, hdr) !== null) continue;
      resume = hdr.resume ?? hdr.position;
    } catch (err) {
      if (err instanceof SeglogError && err.code === 'corrupt') continue;
      throw err;
    }
    if (comparePositions(resume, at) >= 0) snapshot ??= s.path;
    else staleSnapshots.push(s.path);
  }
  if (scan.maxKvVersion > 0 && snapshot === null) {
    throw new SeglogError(
      'usage',
      `the log has key/value operations before the cut and no snapshot at or after it (before ${firstKept.name}): run \`seglog wal snapshot ${dir}\` first`,
      { file: dir },
    );
  }
  const cursorsBehind = cursorsBefore(fs, dir, firstKept.id);
  if (cursorsBehind.length > 0 && !opts.force) {
    throw new SeglogError('usage', `durable cursors are behind the cut (${cursorsBehind.join(', ')}): let them catch up, or give --force to leave them behind`, { file: storePaths(dir).cursors });
  }
  return {
    store: dir,
    segments,
    leftovers,
    firstKept: firstKept.name,
    base,
    bytes: segments.reduce((n, s) => n + s.sizeBytes, 0),
    notes,
    snapshot,
    cursorsBehind,
    staleSnapshots,
  };
}

function refuseDamage(scan: RecoveryScan, what: string): void {
  const f = scan.faults.find((x) => x.kind !== 'torn');
  if (f) throw new SeglogError('needs_repair', `${what} is damaged (${f.detail}): run \`seglog verify\` and \`seglog repair\` before pruning`, { file: f.path, offset: f.offset });
  const s = scan.semanticFaults[0];
  if (s) throw new SeglogError('needs_repair', `${what} breaks the log's rules (${s.message}): run \`seglog verify\` and \`seglog repair\` before pruning`, { file: s.path, offset: s.offset });
}

/** How many leading live segments lie wholly before the cut (the last segment is never pruned). */
function qualifyingPrefix(fs: FileSystem, live: SegmentFile[], scan: RecoveryScan, cut: PruneCut): number {
  const limit = live.length - 1;
  if (limit <= 0) return 0;
  if (cut.kind === 'seq') {
    let n = 0;
    while (n < limit) {
      const s = scan.segments[n]!;
      if (s.lastSeq >= 0 && s.lastSeq >= cut.seq) break;
      n++;
    }
    return n;
  }
  // wall time: the largest of each segment's events (per entity it never goes back, across entities it may)
  let n = 0;
  let tooLate = false;
  walkStore(
    fs,
    live.slice(0, limit),
    {
      onFrame(r: SegmentReader): void {
        if (r.type === FrameType.EVENT && ev.wallMs(r.buf, r.bodyOff) >= cut.ms) tooLate = true;
      },
      onSegmentEnd(): void {
        if (!tooLate) n++;
      },
    },
    { lastIsActive: false, shouldStop: () => tooLate },
  );
  return n;
}

/** Names of durable cursors whose resume position is in a segment before `firstKeptId`. */
function cursorsBefore(fs: FileSystem, dir: string, firstKeptId: number): string[] {
  const cdir = storePaths(dir).cursors;
  let names: string[];
  try {
    names = fs.readdir(cdir);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return [];
    throw ioError(err, cdir, 'list cursors');
  }
  const out: string[] = [];
  for (const file of names) {
    if (!file.endsWith('.cur')) continue;
    const name = file.slice(0, -'.cur'.length);
    if (!CURSOR_NAME.test(name)) continue;
    const path = join(cdir, file);
    const c = decodeCursor(readWhole(fs, path, 4096));
    if (typeof c === 'string') throw new SeglogError('corrupt', c, { file: path });
    if (c.resumeFrom.segmentId < firstKeptId) out.push(name);
  }
  return out;
}

function executePrune(fs: FileSystem, dir: string, plan: PrunePlan, opts: PruneStepOptions, hasher: IHasher): ArchiveResult | null {
  const byName = new Map(listSegments(fs, dir).map((s) => [s.name, s]));
  const files = plan.segments.map((s) => byName.get(s.name)!);
  // (1) the archive holds every byte before anything is removed
  const archive = opts.archiveDir !== undefined && files.length > 0 ? archiveSegments(fs, dir, opts.archiveDir, plan.segments, files, loadBase(fs, dir), hasher) : null;
  const paths = storePaths(dir);
  try {
    // (2) the checkpoint describes the segments: gone before they are
    if (exists(fs, paths.checkpoint)) {
      fs.unlink(paths.checkpoint);
      fs.fsyncDir(dir);
    }
    // (3) the base, durable before the first unlink
    if (plan.base !== null) writeFileAtomic(fs, basePath(dir), encodeBase(plan.base));
  } catch (err) {
    throw ioError(err, join(dir, BASE_FILE), 'write the base');
  }
  // (4) leftovers of an interrupted prune, then the pruned segments, oldest first
  for (const path of [...plan.leftovers, ...files.map((f) => f.path)]) {
    try {
      fs.unlink(path);
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw ioError(err, path, 'remove a pruned segment');
    }
  }
  fs.fsyncDir(dir);
  // (5) snapshots that can no longer be used
  for (const path of plan.staleSnapshots) {
    try {
      fs.unlink(path);
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw ioError(err, path, 'remove a stale snapshot');
    }
  }
  return archive;
}
