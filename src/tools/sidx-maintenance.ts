/**
 * `seglog sidx show|strip|rebuild`: inspect, remove and regenerate SIDX footers.
 *
 * Footers are derived data: removing one is never data loss (an open then scans the
 * segment), and `rebuild` writes back exactly the bytes a clean seal would have
 * written. Both writers take the store lock, never change a frame byte, and replace a
 * segment only through a complete, fsynced copy: temp file, fsync, rename over the
 * segment, fsync of the directory. A crash at any point leaves the old file or the new
 * one (plus, at worst, a stray `.tmp` that nothing reads).
 */
import { dirname } from 'node:path';
import { equalBytes } from '../format/bytes.js';
import { readEntry, readMarker, type SidxEntry, type SidxMarker } from '../format/sidx.js';
import { deleteCheckpoint } from '../engine/index/checkpoint.js';
import type { FileSystem } from '../engine/io/fs-types.js';
import { exists, readFully } from '../engine/io/fs-util.js';
import { storePaths } from '../engine/io/layout.js';
import { type LockEnv, realLockEnv, StoreLock } from '../engine/io/lock.js';
import { buildFooterFromFrames, type FooterBuilder, type FooterProblem, FooterVerifier, readFooterWithHeader } from '../engine/index/sidx.js';
import type { Target } from '../engine/segment/target.js';
import { type FooterProbe, probeFooter } from '../engine/segment/segment-end.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES } from '../format/segment-header.js';
import { listSegments, type SegmentFile, walkSegment } from '../engine/segment/walker.js';
import { type ParallelVerdicts, startParallelVerdicts } from '../engine/verify/verify-parallel.js';
import { SegmentReplacements } from './segment-replacements.js';

// ----------------------------------------------------------------------------- show

export interface FooterReport {
  segment: string;
  path: string;
  fileSizeBytes: number;
  /** A footer (valid or not) ends the file. */
  present: boolean;
  /** Present, checksums pass, and it is exactly the footer the frames call for. */
  valid: boolean;
  checksumOk: boolean;
  /** Null when the frames could not be compared (damaged frames or header). */
  matchesFrames: boolean | null;
  /** Where the frames end (the footer's start when one is present). */
  frameEnd: number;
  footerBytes: number;
  entries: number;
  markers: number;
  strings: number;
  message: string | null;
  entryList?: (Omit<SidxEntry, 'eventHash'> & { eventHash: string })[];
  markerList?: SidxMarker[];
}

/** Everything `sidx show` says about one segment's footer. */
export function showFooter(fs: FileSystem, seg: SegmentFile, opts: { list?: boolean } = {}): FooterReport {
  const r = readFooterWithHeader(fs, seg.path);
  const built = buildFooterFromFrames(fs, seg);
  const out: FooterReport = {
    segment: seg.name,
    path: seg.path,
    fileSizeBytes: r.fileSize,
    present: r.status !== 'absent' || built.damagedFooterAt !== null,
    valid: false,
    checksumOk: r.status === 'valid',
    matchesFrames: null,
    frameEnd: built.frameEnd,
    footerBytes: r.fileSize - built.frameEnd,
    entries: 0,
    markers: 0,
    strings: 0,
    message: null,
  };
  if (r.status === 'damaged') out.message = `at byte ${r.offset}: ${r.message}`;
  else if (r.status === 'absent' && built.damagedFooterAt !== null) out.message = `at byte ${built.damagedFooterAt}: a footer whose trailer is damaged`;
  if (r.status !== 'valid') return out;
  const f = r.footer;
  out.entries = f.entryCount;
  out.markers = f.markerCount;
  out.strings = f.strings.length;
  if (built.fault === null && built.headerOk) {
    const expected = built.builder.encode(built.frameEnd);
    const actual = readRange(fs, seg.path, built.frameEnd, r.fileSize);
    out.matchesFrames = expected.length === actual.length && equalBytes(expected, 0, actual, 0, expected.length);
    if (!out.matchesFrames) out.message = describeMismatch(expected, actual, built.frameEnd);
  } else {
    out.message = built.headerOk ? `frames are damaged at byte ${built.fault!.offset} (${built.fault!.message}): the footer cannot be compared` : 'segment header is damaged';
  }
  out.valid = out.matchesFrames === true;
  if (opts.list) {
    const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
    out.entryList = [];
    for (let i = 0; i < f.entryCount; i++) {
      const e = readEntry(f, i, text);
      out.entryList.push({ ...e, eventHash: Buffer.from(e.eventHash).toString('hex') });
    }
    out.markerList = [];
    for (let i = 0; i < f.markerCount; i++) out.markerList.push(readMarker(f, i));
  }
  return out;
}

function describeMismatch(expected: Uint8Array, actual: Uint8Array, base: number): string {
  const n = Math.min(expected.length, actual.length);
  let i = 0;
  while (i < n && expected[i] === actual[i]) i++;
  return `footer differs from the one its frames call for, first at byte ${base + i} (footer of ${actual.length} bytes, expected ${expected.length})`;
}

/** Whether the file holds exactly the bytes of `pieces`, one after the other, from `start` (read a piece at a time). */
function sameBytesAs(fs: FileSystem, path: string, start: number, pieces: Uint8Array[]): boolean {
  let at = start;
  for (const x of pieces) {
    const have = readRange(fs, path, at, at + x.length);
    if (have.length !== x.length || !equalBytes(have, 0, x, 0, x.length)) return false;
    at += x.length;
  }
  return true;
}

/** Whether any segment but the last ends with a footer whose trailer checks out (the trailer alone is read). */
function sealedFooterPresent(fs: FileSystem, segments: SegmentFile[]): boolean {
  for (let k = 0; k < segments.length - 1; k++) {
    try {
      const fd = fs.open(segments[k]!.path, 'r');
      try {
        if (probeFooter(fs, fd, fs.fstat(fd).sizeBytes).status === 'present') return true;
      } finally {
        fs.close(fd);
      }
    } catch {
      return true; // let the workers and the walk meet the error as before
    }
  }
  return false;
}

function readRange(fs: FileSystem, path: string, start: number, end: number): Uint8Array {
  const fd = fs.open(path, 'r');
  try {
    const out = new Uint8Array(Math.max(0, end - start));
    readFully(fs, fd, out, 0, out.length, start);
    return out;
  } finally {
    fs.close(fd);
  }
}

// ------------------------------------------------------------------- strip, rebuild

export type SidxAction = 'stripped' | 'rebuilt' | 'unchanged' | 'skipped';

export interface SidxSegmentResult {
  segment: string;
  path: string;
  /** What was done (or, with dryRun, what would be done). */
  action: SidxAction;
  sizeBeforeBytes: number;
  sizeAfterBytes: number;
  frameEnd: number;
  /** Entries of the footer written (rebuild). */
  entries: number;
  reason: string | null;
}

export interface SidxMaintenanceResult {
  dryRun: boolean;
  segments: SidxSegmentResult[];
  /** index.ckpt removed because a segment changed under it. */
  checkpointRemoved: boolean;
}

export interface SidxMaintenanceOptions {
  dryRun?: boolean;
  lockEnv?: LockEnv;
  onWarning?: (message: string) => void;
  /** Called after each segment (progress). */
  onSegment?: (r: SidxSegmentResult) => void;
  /**
   * Worker threads check stored footers ahead (default: on three or more cores,
   * verify-parallel.ts sidxWorkersByDefault; `SEGLOG_SIDX_WORKERS=N` sets the count, 0 none).
   */
  parallel?: boolean;
  /**
   * Called within a segment's work (every few thousand frames of a scan, every chunk of
   * a copy); may throw to stop (Ctrl-C): the temp files are abandoned, nothing changes.
   */
  cancelPoint?: () => void;
  /** Temp files kept open for their fsync at the commit; beyond, the oldest is fsynced at once (default 16, segment-replacements.ts; tests use 1). */
  maxOpenTemps?: number;
}

/** The store directory a target belongs to, if any (a lone segment may sit in one). */
function storeDirOf(fs: FileSystem, target: Target): string | null {
  if (target.kind === 'store') return target.dir;
  const dir = dirname(target.file);
  return exists(fs, storePaths(dir).meta) ? dir : null;
}

/**
 * Runs `fn` holding the store lock (not for a dry run, or a segment file outside a store),
 * on the target's segments as listed under the lock: a writer that held the lock just
 * before may have sealed the last segment and created the next one since the target was
 * resolved, and the rebuild treats the last segment as the active one.
 */
function withStoreLock<T>(fs: FileSystem, target: Target, opts: SidxMaintenanceOptions, fn: (target: Target) => T): T {
  const dir = storeDirOf(fs, target);
  const lock = dir !== null && !opts.dryRun ? StoreLock.acquire(fs, storePaths(dir).lock, opts.lockEnv ?? realLockEnv(), opts.onWarning ?? (() => {})) : null;
  try {
    return fn(lock !== null && target.kind === 'store' ? { ...target, segments: listSegments(fs, target.dir) } : target);
  } finally {
    lock?.release();
  }
}

/**
 * Removes every segment's footer, leaving each file exactly as an unclean shutdown
 * before its seal would have: the header and the frames. A footer whose trailer is
 * damaged is found by its head and removed too. The checkpoint goes as well (it
 * describes the files with their footers).
 */
export function stripFooters(fs: FileSystem, resolved: Target, opts: SidxMaintenanceOptions = {}): SidxMaintenanceResult {
  return withStoreLock(fs, resolved, opts, (target) => {
    const result: SidxMaintenanceResult = { dryRun: opts.dryRun ?? false, segments: [], checkpointRemoved: false };
    const pending = new SegmentReplacements(fs, opts.cancelPoint, opts.maxOpenTemps);
    try {
      for (const seg of target.segments) {
        const r = readFooterWithHeader(fs, seg.path);
        let frameEnd = r.fileSize;
        if (r.status === 'valid' || (r.status === 'damaged' && r.probe.status === 'present')) {
          frameEnd = r.probe.frameEnd;
        } else {
          // no trailer that checks out: a footer may still be there with its trailer damaged
          const built = buildFooterFromFrames(fs, seg, opts.cancelPoint);
          if (built.damagedFooterAt !== null) frameEnd = built.damagedFooterAt;
        }
        const res: SidxSegmentResult = {
          segment: seg.name,
          path: seg.path,
          action: frameEnd < r.fileSize ? 'stripped' : 'unchanged',
          sizeBeforeBytes: r.fileSize,
          sizeAfterBytes: frameEnd,
          frameEnd,
          entries: 0,
          reason: frameEnd < r.fileSize ? null : 'no footer',
        };
        if (res.action === 'stripped' && !result.dryRun) pending.write(seg.path, frameEnd, null);
        result.segments.push(res);
        opts.onSegment?.(res);
      }
    } catch (err) {
      pending.abandon();
      throw err;
    }
    const dir = storeDirOf(fs, target);
    // a stripped store has no checkpoint, as after an unclean shutdown; it goes before the
    // first rename (removeCheckpointBeforeCommit)
    if (dir !== null && !result.dryRun) result.checkpointRemoved = removeCheckpointBeforeCommit(fs, dir, pending);
    else if (dir !== null) result.checkpointRemoved = exists(fs, storePaths(dir).checkpoint);
    pending.commit();
    return result;
  });
}

/**
 * Regenerates every segment's footer from a frame scan. A footer already equal to the
 * one the frames call for is left alone; a segment whose frames or header are damaged
 * is skipped (it needs `seglog repair`, or a read-write open for a torn tail).
 */
export function rebuildFooters(fs: FileSystem, resolved: Target, opts: SidxMaintenanceOptions = {}): SidxMaintenanceResult {
  return withStoreLock(fs, resolved, opts, (target) => {
    const result: SidxMaintenanceResult = { dryRun: opts.dryRun ?? false, segments: [], checkpointRemoved: false };
    const pending = new SegmentReplacements(fs, opts.cancelPoint, opts.maxOpenTemps);
    let changed = false;
    // the last segment's builder, done with once its footer is written: the next build reuses its table
    let spent: FooterBuilder | null = null;
    // worker threads check sealed segments' stored footers ahead of this loop (footers only,
    // no hashes); not when no sealed segment has a footer to check (a stripped store): they
    // would walk every segment for nothing, on the core the rebuild needs
    const ahead =
      opts.parallel === false || !sealedFooterPresent(fs, target.segments)
        ? null
        : startParallelVerdicts(fs, target.segments, { loneFile: target.kind === 'segment', footersOnly: true, steal: { hasher: null } });
    try {
      const n = target.segments.length;
      for (let k = 0; k < n; k++) {
        const seg = target.segments[k]!;
        const exact = storedFooterIsExact(fs, seg, k, n, ahead, opts.cancelPoint);
        if (exact !== null) {
          // the common case of an intact store: nothing built, nothing written (a 1 MiB window, not the whole footer)
          const res: SidxSegmentResult = { segment: seg.name, path: seg.path, action: 'unchanged', sizeBeforeBytes: exact.fileSize, sizeAfterBytes: exact.fileSize, frameEnd: exact.frameEnd, entries: exact.entries, reason: 'footer already matches the frames' };
          result.segments.push(res);
          opts.onSegment?.(res);
          continue;
        }
        const built = buildFooterFromFrames(fs, seg, opts.cancelPoint, spent);
        spent = built.builder;
        const res: SidxSegmentResult = {
          segment: seg.name,
          path: seg.path,
          action: 'skipped',
          sizeBeforeBytes: built.fileSize,
          sizeAfterBytes: built.fileSize,
          frameEnd: built.frameEnd,
          entries: built.builder.entryCount,
          reason: null,
        };
        if (!built.headerOk) {
          res.reason = 'segment header is damaged (seglog repair)';
        } else if (built.fault !== null) {
          res.reason = `frames are damaged at byte ${built.fault.offset} (${built.fault.message}): open the store read-write to cut a torn tail, or run seglog repair`;
        } else {
          // in pieces, never one array: the entry table is the builder's own (~14 MB per 64 MiB segment)
          const footer = built.builder.encodeParts(built.frameEnd);
          const footerBytes = footer.reduce((a, x) => a + x.length, 0);
          res.sizeAfterBytes = built.frameEnd + footerBytes;
          if (built.fileSize - built.frameEnd === footerBytes && sameBytesAs(fs, seg.path, built.frameEnd, footer)) {
            res.action = 'unchanged';
            res.reason = 'footer already matches the frames';
          } else {
            res.action = 'rebuilt';
            changed = true;
            // through a copy, never in place: a crash leaves each segment old or new, never a torn
            // footer (writing it after the frames as a seal does was measured and rejected: docs/DECISIONS.md)
            if (!result.dryRun) pending.write(seg.path, built.frameEnd, footer);
          }
        }
        result.segments.push(res);
        opts.onSegment?.(res);
      }
    } catch (err) {
      pending.abandon();
      throw err;
    } finally {
      ahead?.close();
    }
    const dir = storeDirOf(fs, target);
    if (changed && dir !== null) {
      // the checkpoint fingerprints the old files: it would be stale after the renames
      if (!result.dryRun) result.checkpointRemoved = removeCheckpointBeforeCommit(fs, dir, pending);
      else result.checkpointRemoved = exists(fs, storePaths(dir).checkpoint);
    }
    pending.commit();
    return result;
  });
}

/**
 * Whether segment k's stored footer (its trailer checks out) is byte for byte the footer
 * its intact frames call for, checked by the streaming FooterVerifier (engine/index/sidx.ts)
 * in a worker when one has it, else here. Null: no such footer, damaged frames, or a
 * difference (the caller builds the footer and decides).
 */
function storedFooterIsExact(
  fs: FileSystem,
  seg: SegmentFile,
  k: number,
  n: number,
  ahead: ParallelVerdicts | null,
  cancelPoint?: () => void,
): { fileSize: number; frameEnd: number; entries: number } | null {
  // the trailer and the header only: the comparison below covers every byte of the footer
  // (its checksums included), so decoding the whole footer first (~14 MB per 64 MiB segment,
  // and its CRC) would only repeat it
  const stored = probeWithHeader(fs, seg.path);
  if (stored.probe.status !== 'present' || !stored.headerOk) return null;
  // workers check sealed segments only (every one but the last)
  const p = k < n - 1 && ahead !== null && ahead.footersComing(k) ? ahead.precheck(k) : null;
  let problems: FooterProblem[] | null = null;
  let intact = true;
  if (p !== null && p.footerProblems !== null && p.fileSizeBytes === stored.probe.fileSize) {
    problems = p.footerProblems;
    intact = p.framesIntact;
  } else {
    const v = new FooterVerifier(fs, n, false);
    walkSegment(fs, seg, k, false, {
      onSegment: (_s, _i, r) => v.onSegment(r),
      onFrame: (r) => v.onFrame(r),
      onFault: () => {
        intact = false;
        v.onFault();
      },
      onDamagedFooter: (d) => v.onDamagedFooter(d.offset),
      onSegmentEnd: (s, i, r) => {
        problems = v.onSegmentEnd(s, i, r);
      },
    }, cancelPoint === undefined ? {} : {
      cancelled: () => {
        cancelPoint();
        return false;
      },
    });
  }
  if (!intact || problems === null || (problems as FooterProblem[]).length > 0) return null;
  return { fileSize: stored.probe.fileSize, frameEnd: stored.probe.trailer.footerStart, entries: stored.probe.trailer.entryCount };
}

/** A segment's footer trailer (probeFooter) and whether its header checks out: 32 + 64 bytes read. */
function probeWithHeader(fs: FileSystem, path: string): { probe: FooterProbe; headerOk: boolean } {
  const fd = fs.open(path, 'r');
  try {
    const size = fs.fstat(fd).sizeBytes;
    const head = new Uint8Array(Math.min(SEGMENT_HEADER_BYTES, size));
    readFully(fs, fd, head, 0, head.length, 0);
    return { probe: probeFooter(fs, fd, size), headerOk: decodeSegmentHeader(head).ok };
  } finally {
    fs.close(fd);
  }
}

/**
 * Removes index.ckpt before any segment is replaced. The checkpoint describes the old
 * files, and only a run that changes a segment removes it: removed after the renames, a
 * failure or crash between the two kept it for good, since the next run finds every
 * segment already done and changes nothing (found by test/engine/faults-maintenance.test.ts,
 * fault on the directory fsync after the renames). Removing an index first is always safe.
 */
function removeCheckpointBeforeCommit(fs: FileSystem, dir: string, pending: SegmentReplacements): boolean {
  try {
    return deleteCheckpoint(fs, dir);
  } catch (err) {
    pending.abandon();
    throw err;
  }
}
