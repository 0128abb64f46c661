import type { CursorState, FramePosition } from '../../format/cursor.js';
import { ev } from '../../format/event.js';
import { FrameType } from '../../format/frame.js';
import { markerTxnId } from '../../format/marker.js';
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { SeglogError } from '../io/errors.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { entryAt, markerAt, readFooter } from './sidx.js';
import { START_POSITION, walkUnits } from '../log/cursor-units.js';
import { locateSinceByCover } from './since-locate.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';

/**
 * Where to start reading for "events since time T" or "from sequence S" without reading
 * the store from its start.
 *
 * Wall time is monotonic per entity only (FORMAT.md section 3, rule 4: the writer takes
 * max(clock, the entity's previous wall time)), not across the store: a clock that steps
 * back gives a new entity an earlier time than an event before it, and a store written
 * by processes on hosts whose clocks disagree interleaves them. So the locate is
 * conservative: it starts at the FIRST segment whose largest wall time is at least T
 * (every event before it is older than T), and filters by wall time from there. A
 * segment's largest wall time comes from its SIDX footer's entries (80 bytes per event,
 * no frame read), or from a scan of its frames when it has no valid footer (the active
 * segment).
 *
 * A transaction can span segments: one that began before the start segment and has
 * items or its COMMIT in it, or in any later segment, would be missed (its COMMIT would
 * find no BEGIN). So the start backs off to the earliest BEGIN of the transactions that
 * the segments from the start on refer to without beginning them, found in the markers
 * of the segments before it.
 */

export interface SegmentSummary {
  /** Largest wall time of its EVENT frames, committed or not; -1 when it has none. */
  maxWallMs: number;
  /** Transaction ids its frames refer to (items, COMMIT, ABORT) without a BEGIN in it. */
  crossing: Set<number>;
  /** BEGIN offsets in it, by transaction id. */
  begins: Map<number, number>;
  source: 'footer' | 'scan';
  /** Bytes this summary cost to read. */
  bytesRead: number;
}

/** What a segment says about wall times and transactions, from its footer or its frames. */
export function summarizeSegment(fs: FileSystem, seg: SegmentFile, isActive: boolean): SegmentSummary {
  const f = readFooter(fs, seg.path);
  const begins = new Map<number, number>();
  const refs = new Set<number>();
  let maxWallMs = -1;
  if (f.status === 'valid') {
    const footer = f.footer;
    for (let i = 0; i < footer.entryCount; i++) {
      const w = entryAt.wallMs(footer, i);
      if (w > maxWallMs) maxWallMs = w;
      const t = entryAt.txnId(footer, i);
      if (t !== 0) refs.add(t);
    }
    for (let i = 0; i < footer.markerCount; i++) {
      const type = markerAt.type(footer, i);
      if (type === FrameType.BEGIN) begins.set(markerAt.a(footer, i), markerAt.offset(footer, i));
      else if (type === FrameType.COMMIT || type === FrameType.ABORT) refs.add(markerAt.a(footer, i));
    }
    for (const t of begins.keys()) refs.delete(t);
    return { maxWallMs, crossing: refs, begins, source: 'footer', bytesRead: footer.sizeBytes };
  }
  let bytesRead = 0;
  walkSegment(fs, seg, 0, isActive, {
    onFrame(r) {
      const buf = r.buf;
      const b = r.bodyOff;
      if (r.type === FrameType.EVENT) {
        const w = ev.wallMs(buf, b);
        if (w > maxWallMs) maxWallMs = w;
        const t = ev.txnId(buf, b);
        if (t !== 0) refs.add(t);
      } else if (r.type === FrameType.BEGIN) begins.set(markerTxnId(buf, b), r.frameOffset);
      else if (r.type === FrameType.COMMIT || r.type === FrameType.ABORT) refs.add(markerTxnId(buf, b));
    },
    onSegmentEnd(_s, _i, _r, validEnd) {
      bytesRead = validEnd;
    },
  });
  for (const t of begins.keys()) refs.delete(t);
  return { maxWallMs, crossing: refs, begins, source: 'scan', bytesRead };
}

export interface Located {
  /** A cursor position to walk from: nothing that completes before it is wanted. */
  start: CursorState;
  /** Index of the first segment that may hold wanted events (segments.length: none). */
  segIndex: number;
  /** Bytes read to find it (footers, or frames of segments without one). */
  bytesRead: number;
}

/**
 * The position at the start of segment `segIndex`, backed off to the BEGIN of every
 * transaction that crosses into it. `summaries[i]`, when given, is reused.
 */
export function startOfSegment(fs: FileSystem, segments: SegmentFile[], segIndex: number, summaries: (SegmentSummary | undefined)[] = []): { start: CursorState; bytesRead: number } {
  if (segIndex <= 0 || segIndex >= segments.length) {
    if (segIndex >= segments.length && segments.length > 0) {
      // past the end: the end of the last segment is found by the walk itself; start at the last segment
      return startOfSegment(fs, segments, segments.length - 1, summaries);
    }
    return { start: START_POSITION, bytesRead: 0 };
  }
  let bytesRead = 0;
  const summary = (i: number): SegmentSummary => {
    let s = summaries[i];
    if (!s) {
      s = summarizeSegment(fs, segments[i]!, i === segments.length - 1);
      summaries[i] = s;
      bytesRead += s.bytesRead;
    }
    return s;
  };
  const at: FramePosition = { segmentId: segments[segIndex]!.id, offset: SEGMENT_HEADER_BYTES };
  let resume: FramePosition = at;
  // transactions open at the start of segIndex: referred to in it or in any later segment
  // without a BEGIN from segIndex on (one that commits three segments later counts too)
  const want = new Set<number>();
  for (let j = segments.length - 1; j >= segIndex; j--) {
    const s = summary(j);
    for (const t of s.begins.keys()) want.delete(t);
    for (const t of s.crossing) want.add(t);
  }
  for (let j = segIndex - 1; j >= 0 && want.size > 0; j--) {
    const s = summary(j);
    for (const [t, off] of s.begins) {
      if (!want.has(t)) continue;
      want.delete(t);
      const id = segments[j]!.id;
      if (id < resume.segmentId || (id === resume.segmentId && off < resume.offset)) resume = { segmentId: id, offset: off };
    }
  }
  // ids never begun before are orphans: never visible, nothing to back off for
  return { start: { deliveredThrough: at, resumeFrom: resume, delivered: 0, lastSeqPlusOne: 0 }, bytesRead };
}

/**
 * Where to start for `--since`: the covering locate (since-locate.ts: reads string and
 * marker tables and the newest entries only), or, when a footer there does not add up,
 * `locateSinceFull`.
 */
export function locateSince(fs: FileSystem, segments: SegmentFile[], sinceMs: number): Located {
  return locateSinceByCover(fs, segments, sinceMs) ?? locateSinceFull(fs, segments, sinceMs);
}

/** The first segment whose largest wall time is at least `sinceMs` (every footer's entries read), as a walk start. */
export function locateSinceFull(fs: FileSystem, segments: SegmentFile[], sinceMs: number): Located {
  const summaries: (SegmentSummary | undefined)[] = [];
  let bytesRead = 0;
  let first = segments.length;
  // every segment is summarised: wall time is not monotonic across the store, so a later
  // segment's time says nothing about an earlier one's
  for (let i = 0; i < segments.length; i++) {
    const s = summarizeSegment(fs, segments[i]!, i === segments.length - 1);
    summaries[i] = s;
    bytesRead += s.bytesRead;
    if (s.maxWallMs >= sinceMs && first === segments.length) first = i;
  }
  if (first === segments.length) {
    // nothing that recent yet: start at the end of the last segment's frames (a follower waits there)
    const r = startOfSegment(fs, segments, segments.length - 1, summaries);
    return { start: r.start, segIndex: first, bytesRead: bytesRead + r.bytesRead };
  }
  const r = startOfSegment(fs, segments, first, summaries);
  return { start: r.start, segIndex: first, bytesRead: bytesRead + r.bytesRead };
}

/**
 * The segment whose events include sequence `seq` (by the header first sequences, one
 * 32-byte read per segment), as a walk start. A unit holding `seq` completes in it or
 * later: sequences follow file order, so a unit completed in an earlier segment has
 * only smaller ones.
 */
export function locateSeq(fs: FileSystem, segments: SegmentFile[], seq: number): Located {
  let idx = 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    const first = headerFirstSeq(fs, segments[i]!);
    // a damaged header says nothing: keep going back (reading more is always safe)
    if (first !== null && first <= seq) {
      idx = i;
      break;
    }
  }
  const r = startOfSegment(fs, segments, idx);
  return { start: r.start, segIndex: idx, bytesRead: r.bytesRead + SEGMENT_HEADER_BYTES * segments.length };
}

/** A segment header's first sequence, or null when the header does not check out. */
function headerFirstSeq(fs: FileSystem, seg: SegmentFile): number | null {
  const fd = fs.open(seg.path, 'r');
  try {
    const head = new Uint8Array(SEGMENT_HEADER_BYTES);
    const n = readFully(fs, fd, head, 0, head.length, 0);
    const h = decodeSegmentHeader(head.subarray(0, n));
    return h.ok ? h.header.firstSeq : null;
  } finally {
    fs.close(fd);
  }
}

const RELATIVE = /^(\d{1,12})(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** ISO 8601 date or date-time: `2026-12-04`, `2026-12-04T02:30`, `2026-12-04T02:30:00.5Z`, `...+01:00`. */
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A point in time from the command line: ISO 8601 (a date-time without a zone is UTC;
 * a date alone is its midnight UTC), a relative duration before now (`90s`, `10m`, `2h`,
 * `3d`, `1w`, `500ms`), `now`, or milliseconds since the epoch (13 digits and up).
 */
export function parseTimeSpec(text: string, nowMs: number, flag = '--since'): number {
  const s = text.trim();
  if (s === 'now') return nowMs;
  const rel = RELATIVE.exec(s);
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^\d{13,16}$/.test(s)) return Number(s);
  if (ISO.test(s)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(s) || !s.includes(':') ? s : `${s}Z`;
    const ms = Date.parse(zoned.includes('T') || !zoned.includes(' ') ? zoned : zoned.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new SeglogError('usage', `${flag} must be an ISO 8601 time (2026-12-04T02:30:00Z), a duration before now (10m, 2h, 3d) or epoch milliseconds, got '${text}'`);
}

/** `test` narrowed to events whose wall time lies in [sinceMs, untilMs] (either bound optional). */
export function withWallRange(test: (buf: Uint8Array, b: number) => boolean, sinceMs: number | undefined, untilMs: number | undefined): (buf: Uint8Array, b: number) => boolean {
  if (sinceMs === undefined && untilMs === undefined) return test;
  const lo = sinceMs ?? 0;
  const hi = untilMs ?? Number.MAX_SAFE_INTEGER;
  return (buf, b) => {
    const w = ev.wallMs(buf, b);
    return w >= lo && w <= hi && test(buf, b);
  };
}

export interface LocatedLast {
  /** Walk from here (units completing before its deliveredThrough are not wanted)... */
  start: CursorState;
  /** ...and skip this many passing events first: what is left is the last N. */
  skip: number;
  bytesRead: number;
}

/**
 * Where the last `n` committed events passing `filter` start, reading from the end:
 * segments are counted from the last one back (each segment's units once: the units
 * completing in it), until `n` are found or the first segment is reached.
 */
export function locateLast(fs: FileSystem, dir: string, segments: SegmentFile[], n: number, filter: (buf: Uint8Array, b: number) => boolean): LocatedLast {
  let total = 0;
  let bytesRead = 0;
  const summaries: (SegmentSummary | undefined)[] = [];
  for (let k = segments.length - 1; k >= 0; k--) {
    const { start, bytesRead: b } = startOfSegment(fs, segments, k, summaries);
    bytesRead += b;
    let here = 0;
    // only the units completing in segment k: those after it were counted already
    walkUnits(fs, dir, start, { onUnit: (u) => void (here += u.passed) }, { filter, segments: segments.slice(0, k + 1) });
    total += here;
    if (total >= n || k === 0) return { start, skip: Math.max(0, total - n), bytesRead };
  }
  return { start: START_POSITION, skip: 0, bytesRead };
}
