import { dirname, join } from 'node:path';
import { type CursorState, CURSOR_FILE_BYTES, CURSOR_NAME, decodeCursor, encodeCursor } from '../../format/cursor.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { Cursor } from '../../engine/log/cursor.js';
import { positionBefore, START_POSITION, type UnitInfo, walkUnits } from '../../engine/log/cursor-units.js';
import { SeglogError } from '../../engine/io/errors.js';
import { type FileSystem, isFsError } from '../../engine/io/fs-types.js';
import { ensureDir, readWhole, writeFileAtomic } from '../../engine/io/fs-util.js';
import { storePaths } from '../../engine/io/layout.js';
import { realLockEnv, StoreLock } from '../../engine/io/lock.js';
import { frameEndOf } from '../../engine/segment/segment-end.js';
import { locateSeq, locateSince } from '../../engine/index/time-locate.js';
import { liveSegments } from '../../engine/segment/prune-base.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { resolveTarget } from '../../engine/segment/target.js';

/**
 * Everything about a named cursor besides reading it (cursor.ts): the delivered
 * high-water mark, `commit --through`, `list`, `reset`, `delete`.
 *
 * Two delivery guarantees (docs/CLI.md, "seglog cursor"):
 * - at-most-once: `cursor read --commit` persists the position before the events are
 *   printed; a consumer killed after that never sees them again, even unprocessed.
 * - at-least-once: `cursor read` (no commit) prints, the consumer processes, then
 *   `cursor commit --through SEQ` persists. A consumer killed before the commit gets
 *   the same events again; one killed after it never skips any.
 *
 * The high-water file `cursors/<name>.hw` (the `.cur` layout, FORMAT.md section 7)
 * records the furthest position a non-committing read delivered to, so that a commit
 * can refuse a sequence that was never delivered (a typo, or another consumer's
 * number) rather than skip events no one saw.
 */

/** The cursor's own lock, `cursors/<name>.lock`: one reader or admin of that cursor at a time, never the store lock. */
export function lockCursor(fs: FileSystem, storeDir: string, name: string, warn: (m: string) => void): StoreLock {
  if (!CURSOR_NAME.test(name)) throw new SeglogError('usage', `cursor name must match ${CURSOR_NAME.source}, got '${name}'`);
  const dir = storePaths(storeDir).cursors;
  ensureDir(fs, dir);
  return StoreLock.acquire(fs, join(dir, `${name}.lock`), realLockEnv(), warn);
}

/** What a cursor admin command works on: a store directory (never a segment file), the cursor, and its lock (held). */
export interface LockedCursor {
  fs: RealFs;
  dir: string;
  cursor: Cursor;
  lock: StoreLock;
}

/** Resolves `storePath` to a store, opens cursor `name` and takes its lock (the caller releases it). */
export function openLockedCursor(storePath: string, name: string, warn: (m: string) => void): LockedCursor {
  const fs = new RealFs();
  const target = resolveTarget(fs, storePath);
  if (target.kind !== 'store') throw new SeglogError('usage', 'give a store directory, not a segment file', { file: storePath });
  const cursor = Cursor.open(fs, target.dir, name);
  return { fs, dir: target.dir, cursor, lock: lockCursor(fs, target.dir, name, warn) };
}

export function highWaterPath(cursor: Cursor): string {
  return cursor.path.replace(/\.cur$/, '.hw');
}

function readState(fs: FileSystem, path: string): CursorState | null {
  let bytes: Uint8Array;
  try {
    bytes = readWhole(fs, path, CURSOR_FILE_BYTES * 2);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return null;
    if (isFsError(err, 'EFBIG')) throw new SeglogError('corrupt', 'cursor file is too large', { file: path });
    throw err;
  }
  const c = decodeCursor(bytes);
  if (typeof c === 'string') throw new SeglogError('corrupt', c, { file: path, offset: 0 });
  return c;
}

/** The furthest position delivered so far: the high-water file or the committed position, whichever is further. */
export function deliveredHighWater(fs: FileSystem, cursor: Cursor, committed: CursorState = cursor.state()): CursorState {
  const hw = readState(fs, highWaterPath(cursor));
  return hw && positionBefore(committed.deliveredThrough, hw.deliveredThrough) ? hw : committed;
}

/** Records that a read delivered up to `next` (kept only if it is further than before). Hold the cursor lock. */
export function recordDelivered(fs: FileSystem, cursor: Cursor, next: CursorState): void {
  const hw = readState(fs, highWaterPath(cursor));
  if (hw && !positionBefore(hw.deliveredThrough, next.deliveredThrough)) return;
  ensureDir(fs, dirname(cursor.path));
  writeFileAtomic(fs, highWaterPath(cursor), encodeCursor(next));
}

export interface CommitThroughResult {
  /** The position now committed. */
  position: CursorState;
  /** Units (batches or standalone events) and events the commit moved past. */
  units: number;
  events: number;
  /** Sequence of the last event committed (-1: none ever). */
  committedThrough: number;
  /** Sequence of the last event delivered (what `--through` may name at most). */
  deliveredThrough: number;
}

/**
 * Commits the whole units delivered after the committed position, in delivery order,
 * up to the first one that holds an event past `seq` or was not delivered yet. With
 * batches written contiguously (every `append`), that is: the batches that end at or
 * before `seq`; a `seq` inside a batch commits the batches before it only, so the
 * consumer gets that batch again (at-least-once never skips). Refuses a `seq` before
 * the committed position or past the delivered high-water. Hold the cursor lock.
 */
export function commitThrough(fs: FileSystem, storeDir: string, cursor: Cursor, seq: number): CommitThroughResult {
  const committed = cursor.state();
  const hw = deliveredHighWater(fs, cursor, committed);
  const committedLast = committed.lastSeqPlusOne - 1;
  const deliveredLast = hw.lastSeqPlusOne - 1;
  if (seq < committedLast) {
    throw new SeglogError('usage', `--through ${seq} goes backwards: cursor '${cursor.name}' is committed through sequence ${committedLast} (use \`cursor reset\` to move it back)`, { file: cursor.path });
  }
  if (seq > deliveredLast) {
    throw new SeglogError(
      'usage',
      deliveredLast < 0
        ? `--through ${seq}: cursor '${cursor.name}' has delivered nothing yet (read it first)`
        : `--through ${seq} is past what cursor '${cursor.name}' delivered (through sequence ${deliveredLast})`,
      { file: cursor.path },
    );
  }
  let events = 0;
  const res = walkUnits(
    fs,
    storeDir,
    committed,
    {
      beforeUnit: (u) => !positionBefore(u.at, hw.deliveredThrough) || u.lastSeq > seq,
      onUnit: (u) => {
        events += u.events;
      },
    },
    { countPassedOnly: false },
  );
  if (res.units > 0) cursor.commit(res.next);
  return { position: res.next, units: res.units, events, committedThrough: res.next.lastSeqPlusOne - 1, deliveredThrough: deliveredLast };
}

export type ResetTarget = { to: 'start' } | { to: 'end' } | { to: 'seq'; seq: number } | { to: 'time'; ms: number };

/**
 * Moves a cursor: the next read delivers from the start, from after the last committed
 * unit (`end`), from the unit holding sequence `seq` (whole), or from the first unit
 * with an event at or after `ms` (wall time). The high-water file is removed: nothing
 * after the new position counts as delivered. Hold the cursor lock.
 */
export function resetCursor(fs: FileSystem, storeDir: string, cursor: Cursor, target: ResetTarget): CursorState {
  const segments = liveSegments(fs, storeDir);
  let pos: CursorState;
  if (target.to === 'start') {
    pos = START_POSITION;
  } else if (target.to === 'end') {
    const from = cursor.state();
    pos = walkUnits(fs, storeDir, from, {}, { segments }).next;
  } else {
    const located = target.to === 'seq' ? locateSeq(fs, segments, target.seq) : locateSince(fs, segments, target.ms);
    let firstUndelivered = -1;
    const stopBefore = (u: UnitInfo): boolean => {
      const stop = target.to === 'seq' ? u.lastSeq >= target.seq : u.maxWallMs >= target.ms;
      if (stop) firstUndelivered = u.firstSeq;
      return stop;
    };
    pos = walkUnits(fs, storeDir, located.start, { beforeUnit: stopBefore }, { segments }).next;
    // a located start knows no "last delivered sequence": every sequence before the next unit's is behind the cursor
    if (firstUndelivered > pos.lastSeqPlusOne) pos = { ...pos, lastSeqPlusOne: firstUndelivered };
  }
  // the sequence sanity check (FORMAT.md 7) needs the last delivered sequence: the walk knows it only after a unit
  const keepDelivered = { ...pos, delivered: 0 };
  ensureDir(fs, storePaths(storeDir).cursors);
  cursor.commit(keepDelivered);
  try {
    fs.unlink(highWaterPath(cursor));
  } catch (err) {
    if (!isFsError(err, 'ENOENT')) throw err;
  }
  return keepDelivered;
}

/** Removes a cursor's files (position and high-water). Hold the cursor lock; the lock file goes when it is released. */
export function deleteCursor(fs: FileSystem, cursor: Cursor): boolean {
  let found = false;
  for (const p of [cursor.path, highWaterPath(cursor)]) {
    try {
      fs.unlink(p);
      found = true;
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw err;
    }
  }
  return found;
}

export interface CursorListing {
  name: string;
  /** Committed position (start when never committed). */
  position: CursorState;
  /** Sequence of the last committed event (-1: none). */
  committedThrough: number;
  /** Furthest delivered by reads that did not commit (-1: none). */
  deliveredThrough: number;
  /** Sequence numbers after the committed position (items of aborted or unfinished transactions count too). */
  lagEvents: number;
  /** Frame bytes after the committed position. */
  lagBytes: number;
}

/** Every cursor of a store, by name, with its lag behind the log's end (`nextSeq`: the log's next sequence). */
export function listCursors(fs: FileSystem, storeDir: string, nextSeq: number): CursorListing[] {
  const dir = storePaths(storeDir).cursors;
  let names: string[];
  try {
    names = fs.readdir(dir);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return [];
    throw err;
  }
  const cursorNames = new Set<string>();
  for (const n of names) {
    const m = /^(.+)\.(cur|hw)$/.exec(n);
    if (m && CURSOR_NAME.test(m[1]!)) cursorNames.add(m[1]!);
  }
  const segments = liveSegments(fs, storeDir);
  const frameBytes = segments.map((s) => {
    const fd = fs.open(s.path, 'r');
    try {
      return { id: s.id, end: frameEndOf(fs, fd, fs.fstat(fd).sizeBytes) };
    } finally {
      fs.close(fd);
    }
  });
  const out: CursorListing[] = [];
  for (const name of [...cursorNames].sort()) {
    const cursor = Cursor.open(fs, storeDir, name);
    const position = cursor.state();
    const hw = deliveredHighWater(fs, cursor, position);
    let lagBytes = 0;
    const at = position.deliveredThrough;
    for (const s of frameBytes) {
      if (s.id > at.segmentId) lagBytes += Math.max(0, s.end - SEGMENT_HEADER_BYTES);
      else if (s.id === at.segmentId) lagBytes += Math.max(0, s.end - Math.max(at.offset, SEGMENT_HEADER_BYTES));
    }
    out.push({
      name,
      position,
      committedThrough: position.lastSeqPlusOne - 1,
      deliveredThrough: hw.lastSeqPlusOne - 1,
      lagEvents: Math.max(0, nextSeq - position.lastSeqPlusOne),
      lagBytes,
    });
  }
  return out;
}
