import { copyBytes } from '../../format/bytes.js';
import { join } from 'node:path';
import { type CursorState, CURSOR_FILE_BYTES, CURSOR_NAME, decodeCursor, encodeCursor, type FramePosition } from '../../format/cursor.js';
import { decodeEvent, type DecodedEvent, ev } from '../../format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../../format/frame.js';
import { markerCount, markerTxnId } from '../../format/marker.js';
import { type OpenTxn, TxnFold } from './txn-fold.js';
import { SeglogError } from '../io/errors.js';
import { type FileSystem, isFsError } from '../io/fs-types.js';
import { ensureDir, readWhole, writeFileAtomic } from '../io/fs-util.js';
import { storePaths } from '../io/layout.js';
import { compileRegion, type Region } from './region.js';
import { walkStore } from '../segment/walker.js';
import { baseOpenTxnIds, liveSegments } from '../segment/prune-base.js';

/** A transaction the cursor holds until its COMMIT: its items, and where its BEGIN is (the resume point). */
type CursorTxn = OpenTxn & { begin: FramePosition; frames: Uint8Array[] };

const START: CursorState = {
  deliveredThrough: { segmentId: 0, offset: 0 },
  resumeFrom: { segmentId: 0, offset: 0 },
  delivered: 0,
  lastSeqPlusOne: 0,
};

export interface CursorRead {
  events: DecodedEvent[];
  /** Where the cursor stands after these events (what `commit` would persist). */
  next: CursorState;
  /** Whether more committed events exist after these. */
  more: boolean;
}

function before(a: FramePosition, b: FramePosition): boolean {
  return a.segmentId < b.segmentId || (a.segmentId === b.segmentId && a.offset < b.offset);
}

/**
 * A durable named reader over committed events, in commit order. `read` never moves
 * the durable position: reading twice without `commit` gives the same events (at least
 * once); `commit(next)` persists it atomically, so after a crash the reader resumes
 * after the last committed read and never sees those events again.
 * Batches are delivered whole: a read stops at the first batch boundary at or past `max`.
 */
export class Cursor {
  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    readonly name: string,
    readonly path: string,
  ) {}

  static open(fs: FileSystem, storeDir: string, name: string): Cursor {
    if (!CURSOR_NAME.test(name)) {
      throw new SeglogError('usage', `cursor name must match ${CURSOR_NAME.source}, got '${name}'`);
    }
    return new Cursor(fs, storeDir, name, join(storePaths(storeDir).cursors, `${name}.cur`));
  }

  /** The durable position (the start, when the cursor was never committed). */
  state(): CursorState {
    let bytes: Uint8Array;
    try {
      bytes = readWhole(this.fs, this.path, CURSOR_FILE_BYTES * 2);
    } catch (err) {
      if (isFsError(err, 'ENOENT')) return START;
      if (isFsError(err, 'EFBIG')) throw new SeglogError('corrupt', 'cursor file is too large', { file: this.path });
      throw err;
    }
    const c = decodeCursor(bytes);
    if (typeof c === 'string') throw new SeglogError('corrupt', c, { file: this.path, offset: 0 });
    return c;
  }

  read(max: number, region: Region = {}, from: CursorState = this.state()): CursorRead {
    const test = compileRegion(region);
    const events: DecodedEvent[] = [];
    // the log's transaction rules (log/txn-fold.ts); a cursor delivers a transaction at its COMMIT, whole
    const segments = liveSegments(this.fs, this.dir);
    // from the start of a pruned store: transactions begun before its cut are open (prune-base.ts)
    const began = new Map<number, CursorTxn>();
    if (from.resumeFrom.offset === 0 && segments.length > 0) {
      for (const txnId of baseOpenTxnIds(this.fs, this.dir)) began.set(txnId, { txnId, segIndex: 0, offset: 0, items: 0, declared: 0, begin: { segmentId: segments[0]!.id, offset: 0 }, frames: [] });
    }
    const fold = new TxnFold<CursorTxn>({
      create: (txnId, declared, segIndex, offset) => ({ txnId, segIndex, offset, items: 0, declared, begin: { segmentId: segments[segIndex]!.id, offset }, frames: [] }),
      begunAgain: () => true,
      orphan: () => false,
      endWithoutBegin: () => false,
      countMismatch: () => {},
      committed: (t, _count, segIndex, offset) => {
        const seg = segments[segIndex]!;
        const last = t.frames[t.frames.length - 1];
        deliver(t.frames, { segmentId: seg.id, offset }, commitEnd, last ? ev.seq(last, FRAME_PREFIX_BYTES) + 1 : next.lastSeqPlusOne);
      },
      aborted: () => {},
      incomplete: () => {},
    }, began);
    let commitEnd: FramePosition = { segmentId: 0, offset: 0 };
    let next = from;
    let more = false;
    let done = false;
    const deliver = (frames: Uint8Array[], at: FramePosition, end: FramePosition, seqPlusOne: number): void => {
      if (before(at, from.deliveredThrough)) return; // completed before the cursor: delivered already
      if (done) {
        more = true;
        return;
      }
      for (const f of frames) if (test(f, FRAME_PREFIX_BYTES)) events.push(decodeEvent(f, FRAME_PREFIX_BYTES));
      let resume = end;
      for (const t of fold.open.values()) if (before(t.begin, resume)) resume = t.begin;
      next = { deliveredThrough: end, resumeFrom: resume, delivered: from.delivered + (events.length - 0), lastSeqPlusOne: seqPlusOne };
      if (events.length >= max) done = true;
    };
    walkStore(
      this.fs,
      segments,
      {
        onFrame: (r, segIndex) => {
          const seg = segments[segIndex]!;
          const at: FramePosition = { segmentId: seg.id, offset: r.frameOffset };
          const end: FramePosition = { segmentId: seg.id, offset: r.pos };
          const buf = r.buf;
          const b = r.bodyOff;
          const frame = (): Uint8Array => copyBytes(buf, b - FRAME_PREFIX_BYTES, b + r.bodyBytes);
          switch (r.type) {
            case FrameType.EVENT: {
              const txn = ev.txnId(buf, b);
              const t = fold.event(txn, segIndex, r.frameOffset);
              if (t !== null) t.frames.push(frame());
              else if (txn === 0) deliver([frame()], at, end, ev.seq(buf, b) + 1);
              return;
            }
            case FrameType.BEGIN:
            case FrameType.COMMIT:
            case FrameType.ABORT:
              commitEnd = end;
              fold.marker(r.type, markerTxnId(buf, b), markerCount(buf, b), segIndex, r.frameOffset);
              return;
            default:
              return;
          }
        },
      },
      { start: from.resumeFrom.offset > 0 ? from.resumeFrom : undefined, shouldStop: () => more },
    );
    next = { ...next, delivered: from.delivered + events.length };
    return { events, next, more };
  }

  /** Persists a position atomically (temp file, fsync, rename, directory fsync). */
  commit(next: CursorState): void {
    ensureDir(this.fs, storePaths(this.dir).cursors);
    writeFileAtomic(this.fs, this.path, encodeCursor(next));
  }
}
