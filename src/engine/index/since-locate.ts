import type { CursorState, FramePosition } from '../../format/cursor.js';
import { readU16, readU32, readU64 } from '../../format/bytes.js';
import { ev } from '../../format/event.js';
import { checkFrame, FrameStatus, FrameType, FRAME_PREFIX_BYTES } from '../../format/frame.js';
import { markerTxnId } from '../../format/marker.js';
import { SE, SIDX_ENTRY_BYTES, SIDX_HEAD_BYTES, SIDX_MARKER_BYTES, SIDX_TRAILER_BYTES, SM } from '../../format/sidx.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { probeFooter } from '../segment/segment-end.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';

/**
 * `--since T` without reading every footer (time-locate.ts `locateSince` reads all of
 * them: 80 bytes per event of the store). Wall time is monotonic per entity (FORMAT.md
 * 3, rule 4), so an event of entity e with wall time < T *covers* every earlier event of
 * e: they are older than T too. Reading footer entries backwards from the end of the
 * log, an entity is covered once one of its entries older than T is seen; a segment
 * whose entities (its footer's string table, a few bytes per entity) are all covered
 * holds nothing recent and its entries are not read; inside a segment, reading stops
 * once all its entities are covered. The first entry at or after T in file order is
 * then among those read, and the walk starts at its frame, backed off to the BEGIN of
 * every transaction that has an entry or a COMMIT/ABORT from there on (items older than
 * T of a transaction with none after it could only be filtered out).
 *
 * What it reads: string tables and marker tables of the segments (small), entries from
 * the end back to the point where every entity is covered (for a store with a few
 * thousand active entities, a few thousand entries), and the frames of a segment
 * without a footer (the active one). A footer's body checksum is not checked (that would
 * read all of it); its trailer's is, every offset is bounds-checked, and the frame the
 * walk starts at is read and must be the EVENT its entry describes. Anything that does
 * not add up returns null: the caller falls back to the full locate.
 */

/** Entries read per backward step. */
const ENTRY_CHUNK = 1024;

interface FooterTables {
  fd: number;
  fileSize: number;
  footerStart: number;
  entryCount: number;
  markerCount: number;
  entriesAt: number;
  markersAt: number;
  names: string[];
}

function openTables(fs: FileSystem, seg: SegmentFile): FooterTables | null {
  const fd = fs.open(seg.path, 'r');
  const size = fs.fstat(fd).sizeBytes;
  const probe = probeFooter(fs, fd, size);
  if (probe.status !== 'present') {
    fs.close(fd);
    return null;
  }
  const t = probe.trailer;
  const entriesAt = t.footerStart + SIDX_HEAD_BYTES;
  const markersAt = entriesAt + t.entryCount * SIDX_ENTRY_BYTES;
  const stringsAt = markersAt + t.markerCount * SIDX_MARKER_BYTES;
  const stringsEnd = size - SIDX_TRAILER_BYTES;
  const raw = new Uint8Array(Math.max(0, stringsEnd - stringsAt));
  readFully(fs, fd, raw, 0, raw.length, stringsAt);
  const names: string[] = [];
  let p = 0;
  for (let i = 0; i < t.stringCount; i++) {
    if (p + 2 > raw.length) break;
    const len = readU16(raw, p);
    if (p + 2 + len > raw.length) break;
    names.push(Buffer.from(raw.buffer, raw.byteOffset + p + 2, len).toString('utf8'));
    p += 2 + len;
  }
  if (names.length !== t.stringCount) {
    fs.close(fd);
    return null;
  }
  return { fd, fileSize: size, footerStart: t.footerStart, entryCount: t.entryCount, markerCount: t.markerCount, entriesAt, markersAt, names };
}

export interface SinceLocated {
  start: CursorState;
  /** Index of the segment holding the first event at or after T (segments.length: none). */
  segIndex: number;
  bytesRead: number;
}

/** The fast `--since` locate, or null when a footer does not add up (use time-locate.ts `locateSince`). */
export function locateSinceByCover(fs: FileSystem, segments: SegmentFile[], sinceMs: number): SinceLocated | null {
  const covered = new Set<string>();
  /** Transaction ids of the entries read (all at or after the hit, or older than T: a superset is safe). */
  const itemRefs = new Set<number>();
  /** Every BEGIN, COMMIT and ABORT of the log, with where it is. */
  const marks: Mark[] = [];
  let hit: { segIndex: number; offset: number; seq: number } | null = null;
  let bytesRead = 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i]!;
    const tables = openTables(fs, seg);
    if (!tables) {
      // no valid footer (the active segment, a stripped one): scan its frames forward
      let first: { offset: number; seq: number } | null = null;
      walkSegment(fs, seg, i, i === segments.length - 1, {
        onFrame(r) {
          const buf = r.buf;
          const b = r.bodyOff;
          if (r.type === FrameType.EVENT) {
            const t = ev.txnId(buf, b);
            if (ev.wallMs(buf, b) >= sinceMs) {
              first ??= { offset: r.frameOffset, seq: ev.seq(buf, b) };
            } else covered.add(ev.entity(buf, b));
            if (t !== 0) itemRefs.add(t);
          } else if (r.type === FrameType.BEGIN || r.type === FrameType.COMMIT || r.type === FrameType.ABORT) {
            marks.push({ seg: i, off: r.frameOffset, type: r.type, id: markerTxnId(buf, b) });
          }
        },
        onSegmentEnd(_s, _i, _r, validEnd) {
          bytesRead += validEnd;
        },
      });
      const f = first as { offset: number; seq: number } | null;
      if (f) hit = { segIndex: i, offset: f.offset, seq: f.seq };
      continue;
    }
    try {
      bytesRead += tables.fileSize - (tables.markersAt + tables.markerCount * SIDX_MARKER_BYTES);
      const markers = new Uint8Array(tables.markerCount * SIDX_MARKER_BYTES);
      readFully(fs, tables.fd, markers, 0, markers.length, tables.markersAt);
      bytesRead += markers.length;
      for (let m = 0; m < tables.markerCount; m++) {
        const o = m * SIDX_MARKER_BYTES;
        const type = markers[o + SM.TYPE]!;
        const off = readU64(markers, o + SM.OFFSET);
        if (off < SEGMENT_HEADER_BYTES || off >= tables.footerStart) return null;
        if (type === FrameType.BEGIN || type === FrameType.COMMIT || type === FrameType.ABORT) marks.push({ seg: i, off, type, id: readU64(markers, o + SM.A) });
      }
      // a segment whose entities all have an older-than-T event later in the log holds nothing recent
      if (tables.names.every((n) => covered.has(n))) continue;
      const buf = new Uint8Array(ENTRY_CHUNK * SIDX_ENTRY_BYTES);
      let segHit: { offset: number; seq: number } | null = null;
      for (let hi = tables.entryCount; hi > 0; ) {
        const lo = Math.max(0, hi - ENTRY_CHUNK);
        const n = hi - lo;
        readFully(fs, tables.fd, buf, 0, n * SIDX_ENTRY_BYTES, tables.entriesAt + lo * SIDX_ENTRY_BYTES);
        bytesRead += n * SIDX_ENTRY_BYTES;
        for (let k = n - 1; k >= 0; k--) {
          const e = k * SIDX_ENTRY_BYTES;
          const name = tables.names[readU32(buf, e + SE.ENTITY)];
          if (name === undefined) return null;
          const offset = readU64(buf, e + SE.OFFSET);
          if (offset < SEGMENT_HEADER_BYTES || offset >= tables.footerStart) return null;
          if (readU64(buf, e + SE.WALL) >= sinceMs) segHit = { offset, seq: readU64(buf, e + SE.SEQ) };
          else covered.add(name);
          const t = readU64(buf, e + SE.TXN);
          if (t !== 0) itemRefs.add(t);
        }
        hi = lo;
        // every entity of this segment covered: its entries before here are older than T
        if (tables.names.every((nm) => covered.has(nm))) break;
      }
      const sh = segHit as { offset: number; seq: number } | null;
      if (sh) hit = { segIndex: i, offset: sh.offset, seq: sh.seq };
    } finally {
      fs.close(tables.fd);
    }
  }
  // where the walk starts: the first event at or after T, or (none) the last segment, whose units are all older
  const last = segments.length - 1;
  if (last < 0) return { start: { deliveredThrough: { segmentId: 0, offset: 0 }, resumeFrom: { segmentId: 0, offset: 0 }, delivered: 0, lastSeqPlusOne: 0 }, segIndex: 0, bytesRead };
  const h = hit as { segIndex: number; offset: number; seq: number } | null;
  if (h && !checkEventAt(fs, segments[h.segIndex]!, h.offset, h.seq)) return null;
  const hSeg = h ? h.segIndex : last;
  const hOff = h ? h.offset : SEGMENT_HEADER_BYTES;
  const isAfter = (m: Mark): boolean => m.seg > hSeg || (m.seg === hSeg && m.off >= hOff);
  // transactions the walk must see begin: those with an item or an end from the start on, and those never ended (open: they may commit later)
  const want = new Set<number>(itemRefs);
  const ended = new Set<number>();
  for (const m of marks) if (m.type !== FrameType.BEGIN) ended.add(m.id);
  for (const m of marks) {
    if (m.type !== FrameType.BEGIN && isAfter(m)) want.add(m.id);
    if (m.type === FrameType.BEGIN && !ended.has(m.id)) want.add(m.id);
  }
  const at: FramePosition = { segmentId: segments[hSeg]!.id, offset: hOff };
  let resume = at;
  for (const m of marks) {
    if (m.type !== FrameType.BEGIN || !want.has(m.id) || isAfter(m)) continue;
    const id = segments[m.seg]!.id;
    if (id < resume.segmentId || (id === resume.segmentId && m.off < resume.offset)) resume = { segmentId: id, offset: m.off };
  }
  return { start: { deliveredThrough: at, resumeFrom: resume, delivered: 0, lastSeqPlusOne: 0 }, segIndex: h ? h.segIndex : segments.length, bytesRead };
}

interface Mark {
  seg: number;
  off: number;
  type: number;
  id: number;
}


/** Whether a whole, valid EVENT frame with sequence `seq` starts at `offset`. */
function checkEventAt(fs: FileSystem, seg: SegmentFile, offset: number, seq: number): boolean {
  const fd = fs.open(seg.path, 'r');
  try {
    const size = fs.fstat(fd).sizeBytes;
    const head = new Uint8Array(FRAME_PREFIX_BYTES);
    if (readFully(fs, fd, head, 0, head.length, offset) !== head.length) return false;
    const total = FRAME_PREFIX_BYTES - 1 + readU32(head, 0);
    if (offset + total > size || total > 64 * 1024 * 1024) return false;
    const frame = new Uint8Array(total);
    readFully(fs, fd, frame, 0, total, offset);
    const slot = { type: 0, length: 0, sizeBytes: 0 };
    if (checkFrame(frame, 0, frame.length, slot) !== FrameStatus.Valid || slot.type !== FrameType.EVENT) return false;
    return ev.seq(frame, FRAME_PREFIX_BYTES) === seq;
  } finally {
    fs.close(fd);
  }
}

