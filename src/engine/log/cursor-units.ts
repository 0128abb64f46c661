import { copyBytes } from '../../format/bytes.js';
import type { CursorState, FramePosition } from '../../format/cursor.js';
import { ev } from '../../format/event.js';
import { FRAME_PREFIX_BYTES, FrameType } from '../../format/frame.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { markerCount, markerTxnId } from '../../format/marker.js';
import type { FileSystem } from '../io/fs-types.js';
import { type Fault, type SegmentFile, walkStore } from '../segment/walker.js';
import { baseOpening, liveSegments } from '../segment/prune-base.js';
import { type OpenTxn, TxnFold } from './txn-fold.js';

/**
 * Delivery units seen from a cursor position: the same rules as `Cursor.read`
 * (cursor.ts) — a standalone event, or the items of a transaction when its COMMIT is
 * read, skipping units that completed before the position — but with the position after
 * every unit, so that callers can stop between units: `cursor commit --through`,
 * `cursor reset --to SEQ|TIME|end`, and followers (follow.ts) that resume where they
 * stopped. Reads frames through the walker; takes no lock; the tail a writer is still
 * writing (a torn or incomplete tail) is never delivered, only waited for.
 */

/** The start of the log: a cursor never committed. */
export const START_POSITION: CursorState = {
  deliveredThrough: { segmentId: 0, offset: 0 },
  resumeFrom: { segmentId: 0, offset: 0 },
  delivered: 0,
  lastSeqPlusOne: 0,
};

export function positionBefore(a: FramePosition, b: FramePosition): boolean {
  return a.segmentId < b.segmentId || (a.segmentId === b.segmentId && a.offset < b.offset);
}

/** What one unit was; fields are overwritten for the next unit (copy what you keep). */
export interface UnitInfo {
  /** Events in the unit (all of them, filter or not). */
  events: number;
  /** Events of the unit that passed the filter (the ones given to `onEvent`). */
  passed: number;
  /** Smallest and largest sequence of the unit's events; -1 when it has none (an empty transaction). */
  firstSeq: number;
  lastSeq: number;
  /** Largest wall time of its events (-1 when none). */
  maxWallMs: number;
  /** Where the unit's completing frame (the COMMIT, or the standalone EVENT) starts. */
  at: FramePosition;
}

export interface UnitVisitor {
  /** An event of the unit about to complete: `buf[body, body + bodyBytes)`, valid only during the call. */
  onEvent?(buf: Uint8Array, body: number, bodyBytes: number, segIndex: number, frameOffset: number): void;
  /**
   * After a unit's events: `next()` builds the position after it. Return true to stop
   * the walk here (nothing after this unit is delivered).
   */
  onUnit?(u: UnitInfo, next: () => CursorState): boolean | void;
  /**
   * Called before a unit's events, with the position before it; return true to stop
   * before it (it is not delivered, and the walk's position stays before it).
   */
  beforeUnit?(u: UnitInfo, before: () => CursorState): boolean | void;
  onFault?(f: Fault): void;
}

export interface UnitWalkOptions {
  /** Only these events reach `onEvent` (units still move the position). */
  filter?: (buf: Uint8Array, body: number) => boolean;
  segments?: SegmentFile[];
  readChunkBytes?: number;
  /** Count in `delivered` only the events that passed the filter (true, as cursor read does) or all. */
  countPassedOnly?: boolean;
}

export interface UnitWalkResult {
  /** The position after the last unit delivered (or `from`). */
  next: CursorState;
  /** A visitor asked to stop. */
  stopped: boolean;
  units: number;
}

/** A transaction being read: its BEGIN's position (a resume point), its items that passed the filter, and what a unit reports. */
interface UnitTxn extends OpenTxn {
  begin: FramePosition;
  frames: { bytes: Uint8Array; segIndex: number; offset: number }[];
  firstSeq: number;
  lastSeq: number;
  maxWallMs: number;
}

/** Upper bound on bytes of open transactions a unit walk buffers before it gives up. */
export const MAX_UNIT_PENDING_BYTES = 512 * 1024 * 1024;

/** Walks the units that complete at or after `from.deliveredThrough`, in commit order. */
export function walkUnits(fs: FileSystem, dir: string, from: CursorState, visitor: UnitVisitor, opts: UnitWalkOptions = {}): UnitWalkResult {
  // a pruned store starts at its base (segment/prune-base.ts)
  // one read of the base's header per walk (a follower walks once per commit)
  const opening = baseOpening(fs, dir);
  const segments = opts.segments ?? liveSegments(fs, dir, opening);
  const filter = opts.filter;
  const countPassedOnly = opts.countPassedOnly ?? true;
  let pendingBytes = 0;
  // the position after the last delivered unit, kept as plain fields (no allocation per event)
  let dSeg = from.deliveredThrough.segmentId;
  let dOff = from.deliveredThrough.offset;
  let rSeg = from.resumeFrom.segmentId;
  let rOff = from.resumeFrom.offset;
  let delivered = from.delivered;
  let lastSeqPlusOne = from.lastSeqPlusOne;
  let stopped = false;
  let units = 0;
  const info: UnitInfo = { events: 0, passed: 0, firstSeq: -1, lastSeq: -1, maxWallMs: -1, at: { segmentId: 0, offset: 0 } };
  const state = (): CursorState => ({ deliveredThrough: { segmentId: dSeg, offset: dOff }, resumeFrom: { segmentId: rSeg, offset: rOff }, delivered, lastSeqPlusOne });
  const fromPos = from.deliveredThrough;
  const alreadyDelivered = (segId: number, off: number): boolean => segId < fromPos.segmentId || (segId === fromPos.segmentId && off < fromPos.offset);
  /** Moves the position past a unit that completed at [segId, frameOff, end). */
  const advance = (segId: number, end: number, seqPlusOne: number, counted: number): void => {
    dSeg = segId;
    dOff = end;
    rSeg = segId;
    rOff = end;
    for (const t of fold.open.values()) {
      if (t.begin.segmentId < rSeg || (t.begin.segmentId === rSeg && t.begin.offset < rOff)) {
        rSeg = t.begin.segmentId;
        rOff = t.begin.offset;
      }
    }
    delivered += counted;
    if (seqPlusOne > 0) lastSeqPlusOne = seqPlusOne;
    units++;
  };
  const release = (t: UnitTxn): void => {
    for (const f of t.frames) pendingBytes -= f.bytes.length;
  };
  /** A unit completes: deliver it unless it completed before `from`. */
  const complete = (t: UnitTxn, segIndex: number, frameOffset: number, end: number): void => {
    release(t);
    const segId = segments[segIndex]!.id;
    if (alreadyDelivered(segId, frameOffset)) return;
    info.events = t.items;
    info.passed = t.frames.length;
    info.firstSeq = t.firstSeq;
    info.lastSeq = t.lastSeq;
    info.maxWallMs = t.maxWallMs;
    info.at.segmentId = segId;
    info.at.offset = frameOffset;
    if (visitor.beforeUnit?.(info, state)) {
      stopped = true; // not delivered: the position stays before it (its BEGIN is still a resume point there)
      return;
    }
    if (visitor.onEvent) for (const f of t.frames) visitor.onEvent(f.bytes, FRAME_PREFIX_BYTES, f.bytes.length - FRAME_PREFIX_BYTES, f.segIndex, f.offset);
    advance(segId, end, t.lastSeq >= 0 ? t.lastSeq + 1 : 0, countPassedOnly ? info.passed : info.events);
    if (visitor.onUnit?.(info, state)) stopped = true;
  };
  /** The end of the COMMIT being folded (the fold's `committed` fact needs it). */
  let frameEnd = 0;
  // the log's transaction rules (log/txn-fold.ts); a unit is a transaction at its COMMIT, whole
  const newTxn = (txnId: number, segIndex: number, begin: FramePosition): UnitTxn => ({ txnId, segIndex, offset: begin.offset, items: 0, declared: 0, begin, frames: [], firstSeq: -1, lastSeq: -1, maxWallMs: -1 });
  const began = new Map<number, UnitTxn>();
  const base = segments.length > 0 ? opening : null;
  // the walk starts at the base when it starts before the first frame of the base's first segment
  const r = from.resumeFrom;
  const startsAtBase = base !== null && segments[0]!.id === base.firstSegmentId && (r.segmentId < base.firstSegmentId || (r.segmentId === base.firstSegmentId && r.offset <= SEGMENT_HEADER_BYTES));
  if (startsAtBase) {
    // from the start of a pruned store: transactions begun before its cut are open
    for (const txnId of base!.txnIds) began.set(txnId, newTxn(txnId, 0, { segmentId: segments[0]!.id, offset: 0 }));
  }
  const fold = new TxnFold<UnitTxn>(
    {
      create: (txnId, _declared, segIndex, offset) => newTxn(txnId, segIndex, { segmentId: segments[segIndex]!.id, offset }),
      begunAgain: (prev) => {
        release(prev);
        return true;
      },
      orphan: () => false, // never visible
      endWithoutBegin: () => false,
      countMismatch: () => {}, // delivered whole, as a read-write open counts it (docs/FORMAT.md 4.1)
      committed: (t, _count, segIndex, offset) => complete(t, segIndex, offset, frameEnd),
      aborted: release,
      incomplete: () => {},
    },
    began,
  );
  walkStore(
    fs,
    segments,
    {
      onFrame: (r, segIndex) => {
        if (stopped) return;
        const segId = segments[segIndex]!.id;
        const buf = r.buf;
        const b = r.bodyOff;
        switch (r.type) {
          case FrameType.EVENT: {
            const txn = ev.txnId(buf, b);
            if (txn !== 0) {
              const t = fold.event(txn, segIndex, r.frameOffset);
              if (t === null) return; // orphan: never visible
              const seq = ev.seq(buf, b);
              if (t.firstSeq < 0 || seq < t.firstSeq) t.firstSeq = seq;
              if (seq > t.lastSeq) t.lastSeq = seq;
              const wall = ev.wallMs(buf, b);
              if (wall > t.maxWallMs) t.maxWallMs = wall;
              if (filter && !filter(buf, b)) return;
              const bytes = copyBytes(buf, b - FRAME_PREFIX_BYTES, b + r.bodyBytes);
              pendingBytes += bytes.length;
              if (pendingBytes > MAX_UNIT_PENDING_BYTES) throw new Error(`open transactions hold over ${MAX_UNIT_PENDING_BYTES} bytes at ${r.path}:${r.frameOffset}`);
              t.frames.push({ bytes, segIndex, offset: r.frameOffset });
              return;
            }
            if (alreadyDelivered(segId, r.frameOffset)) return;
            const seq = ev.seq(buf, b);
            const passes = !filter || filter(buf, b);
            info.events = 1;
            info.passed = passes ? 1 : 0;
            info.firstSeq = seq;
            info.lastSeq = seq;
            info.maxWallMs = ev.wallMs(buf, b);
            info.at.segmentId = segId;
            info.at.offset = r.frameOffset;
            if (visitor.beforeUnit?.(info, state)) {
              stopped = true;
              return;
            }
            if (passes) visitor.onEvent?.(buf, b, r.bodyBytes, segIndex, r.frameOffset);
            advance(segId, r.pos, seq + 1, countPassedOnly ? info.passed : 1);
            if (visitor.onUnit?.(info, state)) stopped = true;
            return;
          }
          case FrameType.BEGIN:
          case FrameType.COMMIT:
          case FrameType.ABORT:
            frameEnd = r.pos;
            fold.marker(r.type, markerTxnId(buf, b), markerCount(buf, b), segIndex, r.frameOffset);
            return;
          default:
            return; // GAP records carry no event
        }
      },
      onFault: visitor.onFault,
    },
    {
      start: from.resumeFrom.offset > 0 ? from.resumeFrom : undefined,
      shouldStop: () => stopped,
      // stop mid-segment too: a pass that delivered its units does not read (and CRC-check) the rest of the segment
      cancelled: () => stopped,
      readChunkBytes: opts.readChunkBytes,
    },
  );
  return { next: state(), stopped, units };
}
