/**
 * Building a SIDX footer from frames (docs/FORMAT.md section 2.5): the builder, a build
 * from a segment file (sidx rebuild, sidx show, repair) and the seal that writes one after
 * the last frame of a segment being sealed.
 *
 * A footer is a pure function of its segment's frames (and segment id): the builder
 * takes EVENT frames and other frames in file order, interns entity names in order of
 * first appearance, and `encode` frames the tables. Whether it is built in one pass
 * (rebuild), or seeded from the footer a segment had when the store was opened and
 * continued with the frames appended since (seal), the bytes are the same. The marker
 * rows and the names are sidx-tables.ts's, the same code the streaming verifier
 * (sidx-verifier.ts) lays its expected footer out with.
 */
import { copyBytes, readU64, TWO_32 } from '../../format/bytes.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { EV, ev } from '../../format/event.js';
import { FRAME_HEADER_BYTES, FrameStatus, FrameType, MIN_FRAME_LENGTH } from '../../format/frame.js';
import { kvVersionOf } from '../../format/kv.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { encodeFooter, encodeFooterParts, type FooterTables, SE, SE_BODY_COPY_BYTES, SIDX_ENTRY_BYTES, SIDX_MAX_ENTRIES, type SidxFooter } from '../../format/sidx.js';
import { type FileSystem, isCrash } from '../io/fs-types.js';
import { writeFully } from '../io/fs-util.js';
import { SegmentReader } from '../segment/segment-reader.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';
import { EntityNames, grow, MarkerRows } from './sidx-tables.js';

const INITIAL_ENTRY_ROOM = 1024;
/** The smallest EVENT frame: a bound on the events a segment's frames can hold. */
const MIN_EVENT_FRAME_BYTES = FRAME_HEADER_BYTES + MIN_FRAME_LENGTH[FrameType.EVENT]!;
/** A reservation's bound (a 4 GiB segment of small frames): past it the table grows as it fills. */
const MAX_RESERVED_ENTRY_BYTES = 256 * 1024 * 1024;

/** Accumulates one segment's footer tables, frame by frame, in file order. */
export class FooterBuilder {
  private entries: Uint8Array = new Uint8Array(INITIAL_ENTRY_ROOM * SIDX_ENTRY_BYTES);
  /** `entries` as a DataView: an entry is copied a 32-bit word at a time (3x the byte loop). */
  private entriesView: DataView<ArrayBufferLike> = new DataView(this.entries.buffer);
  /** Non-EVENT frames' rows, and entity names by string index (sidx-tables.ts, shared with the verifier). */
  private readonly markers = new MarkerRows();
  private readonly names = new EntityNames();
  entryCount = 0;
  maxKvVersion = 0;
  firstSeq = -1;
  lastSeq = -1;
  /** A DataView over the frames' buffer `frameViewOf`, remembered by identity (as verify's chain fold does). */
  private frameViewOf: Uint8Array | null = null;
  private frameView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  constructor(readonly segmentId: number) {}

  /** A builder holding exactly what `f` indexes, ready to take the frames after it. */
  static fromFooter(f: SidxFooter): FooterBuilder {
    const b = new FooterBuilder(f.segmentId);
    b.setEntries(copyBytes(f.entries));
    b.markers.adopt(copyBytes(f.markers), f.markerCount);
    b.entryCount = f.entryCount;
    for (const s of f.strings) b.names.append(s);
    b.maxKvVersion = f.maxKvVersion;
    if (f.entryCount > 0) {
      b.firstSeq = readU64(b.entries, SE.SEQ);
      b.lastSeq = readU64(b.entries, (f.entryCount - 1) * SIDX_ENTRY_BYTES + SE.SEQ);
    }
    return b;
  }

  /**
   * Makes room for `entryCount` entries at once (a rebuild knows its segment's size):
   * no table regrown and copied as it fills. Pages never written are never touched.
   */
  reserve(entryCount: number, spent: FooterBuilder | null = null): void {
    const need = Math.min(entryCount * SIDX_ENTRY_BYTES, MAX_RESERVED_ENTRY_BYTES);
    if (this.entryCount === 0 && spent !== null && spent !== this && spent.entries.length >= need && spent.entries.length > this.entries.length) {
      // the spent builder's table, whose pages are already the process's: fresh pages cost
      // a fault each on first write (on this VM a fifth of a rebuild's scan, and its RSS)
      this.setEntries(spent.entries);
      spent.setEntries(new Uint8Array(0));
      spent.entryCount = 0;
      return;
    }
    if (need > this.entries.length) this.setEntries(grow(this.entries, need, need));
  }

  private setEntries(e: Uint8Array): void {
    this.entries = e;
    this.entriesView = new DataView(e.buffer, e.byteOffset, e.byteLength);
  }

  /** Adds the frame a SegmentReader just returned as Valid. */
  addFrame(r: SegmentReader): void {
    if (r.type === FrameType.EVENT) this.addEvent(r.buf, r.bodyOff, r.frameOffset);
    else this.addMarker(r.type, r.buf, r.bodyOff, r.bodyBytes, r.frameOffset);
  }

  /**
   * An EVENT whose checked body starts at buf[b]. `nameIndex`: its entity's string index
   * in this footer when the caller knows it (an index this method returned for the same
   * entity: bulk.ts's FooterNames), else -1. Returns the string index used.
   */
  addEvent(buf: Uint8Array, b: number, frameOffset: number, nameIndex = -1): number {
    if (this.entryCount >= SIDX_MAX_ENTRIES) throw new RangeError('too many events for one footer');
    const e = this.entryCount * SIDX_ENTRY_BYTES;
    if (e + SIDX_ENTRY_BYTES > this.entries.length) this.setEntries(grow(this.entries, e + SIDX_ENTRY_BYTES));
    if (buf !== this.frameViewOf) {
      this.frameViewOf = buf;
      this.frameView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const f = this.frameView;
    const out = this.entriesView;
    // sequence, clock, wall ms, txn id and kind: the body's own little-endian bytes
    const body = b + EV.SEQ;
    for (let i = 0; i < SE_BODY_COPY_BYTES; i += 4) out.setInt32(e + i, f.getInt32(body + i, true), true);
    const nameLen = f.getUint16(b + EV.ENTITY_LEN, true);
    const si = nameIndex >= 0 ? nameIndex : this.names.intern(buf, b + EV.VAR, nameLen);
    out.setUint32(e + SE.ENTITY, si, true);
    out.setUint32(e + SE.OFFSET, frameOffset % TWO_32, true);
    out.setUint32(e + SE.OFFSET + 4, Math.floor(frameOffset / TWO_32), true);
    const hs = b + EV.VAR + nameLen + f.getUint16(b + EV.SCOPE_LEN, true) + f.getUint32(b + EV.PAYLOAD_LEN, true);
    for (let i = 0; i < HASH_BYTES; i += 4) out.setInt32(e + SE.HASH + i, f.getInt32(hs + i, true), true);
    // the same rule as the recovery scan (kvVersionOf), so a footer-based cold start agrees with it
    const v = kvVersionOf(buf, b);
    if (v > this.maxKvVersion) this.maxKvVersion = v;
    const seq = ev.seq(buf, b);
    if (this.firstSeq < 0) this.firstSeq = seq;
    this.lastSeq = seq;
    this.entryCount++;
    return si;
  }

  /** Any other frame: its type and the first 12 bytes of its body (txn id and count for markers). */
  addMarker(type: number, buf: Uint8Array, b: number, bodyBytes: number, frameOffset: number): void {
    this.markers.add(type, buf, b, bodyBytes, frameOffset);
  }

  get markerCount(): number {
    return this.markers.count;
  }

  /** The tables as they stand (views, valid until the next add). */
  tables(): { entries: Uint8Array; entryCount: number; markers: Uint8Array; markerCount: number } {
    return { entries: this.entries, entryCount: this.entryCount, markers: this.markers.rows, markerCount: this.markers.count };
  }

  /**
   * A builder for segment `segmentId` that takes over this one's entry table (`reserve`'s
   * spent builder) and encoded-footer buffer, so a writer sealing segment after segment
   * does not leave tens of MB per segment to the collector (issue 18: append's peak RSS).
   * Every byte of an entry and of a footer is written when it is added, so nothing of this
   * builder's segment can show through.
   */
  recycle(segmentId: number): FooterBuilder {
    const b = new FooterBuilder(segmentId);
    b.reserve(0, this);
    b.encoded = this.encoded;
    this.encoded = undefined;
    return b;
  }

  /** The buffer the last `encode` laid the footer out in (reused by the next one). */
  private encoded: Uint8Array | undefined = undefined;

  /** The footer for frames ending at `footerStart` (a view valid until the next `encode` of this builder or of one it was recycled into). */
  encode(footerStart: number): Uint8Array {
    const out = encodeFooter(this.footerTables(footerStart), this.encoded);
    if (out.buffer !== this.encoded?.buffer) this.encoded = out;
    return out;
  }

  /**
   * The same footer as `encode`, as consecutive pieces that are not copied into one
   * array: the entry table (80 bytes per event, most of the footer) is a view of the
   * builder's own. For writers that stream the footer to a file (sidx rebuild).
   */
  encodeParts(footerStart: number): Uint8Array[] {
    return encodeFooterParts(this.footerTables(footerStart));
  }

  private footerTables(footerStart: number): FooterTables {
    return {
      segmentId: this.segmentId,
      maxKvVersion: this.maxKvVersion,
      footerStart,
      entries: this.entries,
      entryCount: this.entryCount,
      markers: this.markers.rows,
      markerCount: this.markers.count,
      strings: this.names.keys,
    };
  }
}

/** The result of building a footer from a segment's frames. */
export interface BuiltFooter {
  /** Where the frames end (the footer goes here). */
  frameEnd: number;
  builder: FooterBuilder;
  /** The first frame fault met, if any: a segment with damaged frames gets no footer. */
  fault: { offset: number; message: string } | null;
  /** A footer head found where frames stop (a footer whose trailer is damaged). */
  damagedFooterAt: number | null;
  headerOk: boolean;
  fileSize: number;
}

/**
 * Walks a segment's frames and builds the footer they call for. Frames end at a
 * footer's start when its trailer checks out, at a damaged footer's head, or at the
 * end of the file. `cancelPoint` is called every CANCEL_CHECK_EVERY_FRAMES frames and may throw to stop
 * (Ctrl-C). `spent`: a builder the caller is done with (its footer written), whose entry
 * table this build reuses, and empties.
 */
export function buildFooterFromFrames(fs: FileSystem, seg: SegmentFile, cancelPoint?: () => void, spent: FooterBuilder | null = null): BuiltFooter {
  let builder = new FooterBuilder(seg.id < 0 ? 0 : seg.id);
  const out: BuiltFooter = { frameEnd: 0, builder, fault: null, damagedFooterAt: null, headerOk: true, fileSize: 0 };
  walkSegment(fs, seg, 0, false, {
    onSegment(_s, _i, r) {
      out.fileSize = r.fileSize;
      out.frameEnd = r.frameEnd;
      out.headerOk = r.header.ok;
      // the footer names the segment its header names (a lone file may have any name)
      if (r.header.ok) builder = out.builder = new FooterBuilder(r.header.header.segmentId);
      // room for as many entries as the frames could hold: never regrown and copied (6 times
      // for a 64 MiB segment); what stays unwritten is never touched, so it costs no memory
      builder.reserve(Math.floor(Math.max(0, r.frameEnd - SEGMENT_HEADER_BYTES) / MIN_EVENT_FRAME_BYTES), spent);
    },
    onFrame(r) {
      builder.addFrame(r);
    },
    onFault(f) {
      out.fault ??= { offset: f.offset, message: f.detail };
    },
    onDamagedFooter(d) {
      out.damagedFooterAt = d.offset;
      out.frameEnd = d.offset;
    },
  }, cancelPoint === undefined ? {} : {
    cancelled: () => {
      cancelPoint();
      return false;
    },
  });
  return out;
}

/** What sealing wrote, for the checkpoint written at close. */
export interface SealedSegment {
  id: number;
  frameEnd: number;
  fileSizeBytes: number;
  eventFrames: number;
  firstSeq: number;
  lastSeq: number;
  footer: boolean;
}

/** A footer read when the store was opened, to continue from instead of re-reading the segment. */
export interface FooterSeed {
  segmentId: number;
  frameEnd: number;
  builder: FooterBuilder;
}

/**
 * Writes the footer of a segment being sealed (the writer has fsynced its frames):
 * builds it from the seed (if it is this segment's) plus the frames after it, writes
 * it after the last frame and fsyncs. A footer is an index, never data: if the frames
 * cannot be read back or the write fails, the partial footer is truncated away, a
 * warning is given and the segment stays without one.
 */
export function sealFooter(
  fs: FileSystem,
  seg: { id: number; path: string; fd: number; sizeBytes: number },
  seed: FooterSeed | null,
  warn: (m: string) => void,
): { sealed: SealedSegment; builder: FooterBuilder | null } {
  const useSeed = seed !== null && seed.segmentId === seg.id && seed.frameEnd <= seg.sizeBytes;
  const builder = useSeed ? seed.builder : new FooterBuilder(seg.id);
  const plain: SealedSegment = { id: seg.id, frameEnd: seg.sizeBytes, fileSizeBytes: seg.sizeBytes, eventFrames: 0, firstSeq: -1, lastSeq: -1, footer: false };
  let r: SegmentReader | null = null;
  try {
    r = SegmentReader.open(fs, seg.path, { frameEnd: () => seg.sizeBytes });
    r.pos = useSeed ? seed.frameEnd : SEGMENT_HEADER_BYTES;
    for (;;) {
      const st = r.next();
      if (st === FrameStatus.Valid) {
        builder.addFrame(r);
        continue;
      }
      if (st === FrameStatus.End) break;
      warn(`${seg.path}: at byte ${r.pos}: frames do not read back when sealing (${st}); the segment is left without a SIDX footer`);
      return { sealed: plain, builder: null };
    }
  } catch (err) {
    if (isCrash(err)) throw err;
    warn(`${seg.path}: cannot read frames back to build the SIDX footer (${(err as Error).message}); left without one`);
    return { sealed: plain, builder: null };
  } finally {
    r?.close();
  }
  // the footer in its pieces (encodeParts: the entry table, most of it, is not copied into one array)
  const parts = builder.encodeParts(seg.sizeBytes);
  let footerBytes = 0;
  try {
    for (const part of parts) {
      writeFully(fs, seg.fd, part, 0, part.length, seg.sizeBytes + footerBytes);
      footerBytes += part.length;
    }
    fs.fsync(seg.fd);
  } catch (err) {
    if (isCrash(err)) throw err;
    // a partial footer must not stay: put the file back as it was (frames only)
    fs.truncate(seg.fd, seg.sizeBytes);
    fs.fsync(seg.fd);
    warn(`${seg.path}: writing the SIDX footer failed (${(err as { code?: string }).code ?? (err as Error).message}); left without one`);
    return { sealed: plain, builder: null };
  }
  return {
    sealed: {
      id: seg.id,
      frameEnd: seg.sizeBytes,
      fileSizeBytes: seg.sizeBytes + footerBytes,
      eventFrames: builder.entryCount,
      firstSeq: builder.firstSeq,
      lastSeq: builder.lastSeq,
      footer: true,
    },
    builder,
  };
}

