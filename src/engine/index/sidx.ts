/**
 * SIDX footers in the engine: building one from frames, reading one back, writing one
 * when a segment is sealed. Maintenance (strip, rebuild) is in sidx-maintenance.ts.
 *
 * A footer is a pure function of its segment's frames (and segment id): the builder
 * takes EVENT frames and other frames in file order, interns entity names in order of
 * first appearance, and `encode` frames the tables. Whether it is built in one pass
 * (rebuild), or seeded from the footer a segment had when the store was opened and
 * continued with the frames appended since (seal), the bytes are the same.
 *
 * Over 500 lines, knowingly: builder, reader, sealer and the streaming verifier share
 * the footer's layout helpers; the split into index/sidx-builder, sidx-reader,
 * sidx-sealer and sidx-verifier is left for later (issue 13's report).
 */
import { copyBytes, equalBytes, readU16, readU32, readU64, TWO_32, writeU32, writeU64 } from '../../format/bytes.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { CrcArena, crc32c } from '../../format/hash/crc32c.js';
import { EV, ev } from '../../format/event.js';
import { FRAME_HEADER_BYTES, FrameStatus, FrameType, MIN_FRAME_LENGTH } from '../../format/frame.js';
import { kvVersionOf } from '../../format/kv.js';
import { decodeSegmentHeader, type HeaderResult, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import {
  decodeFooter,
  encodeFooter,
  encodeFooterParts,
  SE,
  SE_BODY_COPY_BYTES,
  SIDX_ENTRY_BYTES,
  SIDX_HEAD_BYTES,
  SIDX_MARKER_BYTES,
  SIDX_MAX_ENTRIES,
  SIDX_TRAILER_BYTES,
  SM,
  type FooterTables,
  type SidxFooter,
  writeFooterHead,
  writeMarkerRow,
  writeStringsAndTrailer,
} from '../../format/sidx.js';
import { type FileSystem, isCrash } from '../io/fs-types.js';
import { readFully, writeFully } from '../io/fs-util.js';
import { BytesMap } from '../log/bytes-map.js';
import { probeFooter, type FooterProbe } from '../segment/segment-end.js';
import { ARENA_MIN_FILE_BYTES, SegmentReader } from '../segment/segment-reader.js';
import { type SegmentFile, walkSegment } from '../segment/walker.js';

const INITIAL_ENTRY_ROOM = 1024;
const INITIAL_MARKER_ROOM = 256;
/** The smallest EVENT frame: a bound on the events a segment's frames can hold. */
const MIN_EVENT_FRAME_BYTES = FRAME_HEADER_BYTES + MIN_FRAME_LENGTH[FrameType.EVENT]!;
/** A reservation's bound (a 4 GiB segment of small frames): past it the table grows as it fills. */
const MAX_RESERVED_ENTRY_BYTES = 256 * 1024 * 1024;
/** Largest footer a reader loads whole: a 4 GiB segment of minimal frames stays below it. */
export const MAX_FOOTER_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** Accumulates one segment's footer tables, frame by frame, in file order. */
export class FooterBuilder {
  private entries: Uint8Array = new Uint8Array(INITIAL_ENTRY_ROOM * SIDX_ENTRY_BYTES);
  /** `entries` as a DataView: an entry is copied a 32-bit word at a time (3x the byte loop). */
  private entriesView: DataView<ArrayBufferLike> = new DataView(this.entries.buffer);
  private markers: Uint8Array = new Uint8Array(INITIAL_MARKER_ROOM * SIDX_MARKER_BYTES);
  entryCount = 0;
  markerCount = 0;
  /** Entity names (UTF-8 bytes) by string index, in order of first appearance. */
  private readonly names = new BytesMap<null>();
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
    b.markers = copyBytes(f.markers);
    b.entryCount = f.entryCount;
    b.markerCount = f.markerCount;
    for (const s of f.strings) b.names.add(s, 0, s.length, null);
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

  /** An EVENT whose checked body starts at buf[b]. */
  addEvent(buf: Uint8Array, b: number, frameOffset: number): void {
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
    out.setUint32(e + SE.ENTITY, this.intern(buf, b + EV.VAR, nameLen), true);
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
  }

  /** Any other frame: its type and the first 12 bytes of its body (txn id and count for markers). */
  addMarker(type: number, buf: Uint8Array, b: number, bodyBytes: number, frameOffset: number): void {
    if (this.markerCount >= SIDX_MAX_ENTRIES) throw new RangeError('too many markers for one footer');
    const need = (this.markerCount + 1) * SIDX_MARKER_BYTES;
    if (need > this.markers.length) this.markers = grow(this.markers, need);
    writeMarkerRow(this.markers, this.markerCount * SIDX_MARKER_BYTES, type, buf, b, bodyBytes, frameOffset);
    this.markerCount++;
  }

  /** String index of an entity name (in place: no string or copy per event). */
  private intern(buf: Uint8Array, start: number, len: number): number {
    const i = this.names.indexOf(buf, start, len);
    return i >= 0 ? i : this.names.add(buf, start, len, null);
  }

  /** The tables as they stand (views, valid until the next add). */
  tables(): { entries: Uint8Array; entryCount: number; markers: Uint8Array; markerCount: number } {
    return { entries: this.entries, entryCount: this.entryCount, markers: this.markers, markerCount: this.markerCount };
  }

  /** The footer for frames ending at `footerStart`. */
  encode(footerStart: number): Uint8Array {
    return encodeFooter(this.footerTables(footerStart));
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
      markers: this.markers,
      markerCount: this.markerCount,
      strings: this.names.keys,
    };
  }
}

function grow(b: Uint8Array, need: number, exact?: number): Uint8Array {
  const out = new Uint8Array(exact ?? Math.max(need, b.length * 2));
  out.set(b);
  return out;
}

/** What the end of a segment file holds, footer decoded when its checksums pass. */
export type FooterRead =
  | { status: 'absent'; probe: FooterProbe }
  /** the trailer or the body fails its checks */
  | { status: 'damaged'; probe: FooterProbe; message: string; offset: number }
  | { status: 'valid'; probe: FooterProbe; footer: SidxFooter };

/** Probes and, when a trailer checks out, reads and decodes the whole footer. */
export function readFooterAt(fs: FileSystem, fd: number, sizeBytes: number): FooterRead {
  const probe = probeFooter(fs, fd, sizeBytes);
  if (probe.status === 'absent') return { status: 'absent', probe };
  if (probe.status === 'damaged') return { status: 'damaged', probe, message: probe.message, offset: sizeBytes - SIDX_TRAILER_BYTES };
  const start = probe.trailer.footerStart;
  if (sizeBytes - start > MAX_FOOTER_BYTES) return { status: 'damaged', probe, message: `footer of ${sizeBytes - start} bytes is over the limit`, offset: start };
  const bytes = new Uint8Array(sizeBytes - start);
  readFully(fs, fd, bytes, 0, bytes.length, start);
  const r = decodeFooter(bytes, probe.trailer);
  if (!r.ok) return { status: 'damaged', probe, message: r.message, offset: start + r.offset };
  return { status: 'valid', probe, footer: r.footer };
}

/** The footer of a segment file (see readFooterAt). */
export function readFooter(fs: FileSystem, path: string): FooterRead {
  const fd = fs.open(path, 'r');
  try {
    return readFooterAt(fs, fd, fs.fstat(fd).sizeBytes);
  } finally {
    fs.close(fd);
  }
}

/** The footer of a segment file, with the file's size and header. */
export function readFooterWithHeader(fs: FileSystem, path: string): FooterRead & { fileSize: number; header: HeaderResult } {
  const fd = fs.open(path, 'r');
  try {
    const fileSize = fs.fstat(fd).sizeBytes;
    const head = new Uint8Array(Math.min(SEGMENT_HEADER_BYTES, fileSize));
    readFully(fs, fd, head, 0, head.length, 0);
    return { ...readFooterAt(fs, fd, fileSize), fileSize, header: decodeSegmentHeader(head) };
  } finally {
    fs.close(fd);
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
 * end of the file.
 */
/**
 * `cancelPoint` is called every CANCEL_CHECK_EVERY_FRAMES frames and may throw to stop
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
  const footer = builder.encode(seg.sizeBytes);
  try {
    writeFully(fs, seg.fd, footer, 0, footer.length, seg.sizeBytes);
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
      fileSizeBytes: seg.sizeBytes + footer.length,
      eventFrames: builder.entryCount,
      firstSeq: builder.firstSeq,
      lastSeq: builder.lastSeq,
      footer: true,
    },
    builder,
  };
}

/** Entry fields read in place (cold start, verify). */
export const entryAt = {
  seq: (f: SidxFooter, i: number): number => readU64(f.entries, i * SIDX_ENTRY_BYTES + SE.SEQ),
  offset: (f: SidxFooter, i: number): number => readU64(f.entries, i * SIDX_ENTRY_BYTES + SE.OFFSET),
  clock: (f: SidxFooter, i: number): number => readU64(f.entries, i * SIDX_ENTRY_BYTES + SE.CLOCK),
  wallMs: (f: SidxFooter, i: number): number => readU64(f.entries, i * SIDX_ENTRY_BYTES + SE.WALL),
  txnId: (f: SidxFooter, i: number): number => readU64(f.entries, i * SIDX_ENTRY_BYTES + SE.TXN),
  entity: (f: SidxFooter, i: number): number => readU32(f.entries, i * SIDX_ENTRY_BYTES + SE.ENTITY),
  kindCategory: (f: SidxFooter, i: number): number => readU16(f.entries, i * SIDX_ENTRY_BYTES + SE.KIND_CAT),
  hashOffset: (i: number): number => i * SIDX_ENTRY_BYTES + SE.HASH,
};

export const markerAt = {
  offset: (f: SidxFooter, i: number): number => readU64(f.markers, i * SIDX_MARKER_BYTES + SM.OFFSET),
  type: (f: SidxFooter, i: number): number => f.markers[i * SIDX_MARKER_BYTES + SM.TYPE]!,
  a: (f: SidxFooter, i: number): number => readU64(f.markers, i * SIDX_MARKER_BYTES + SM.A),
  b: (f: SidxFooter, i: number): number => readU32(f.markers, i * SIDX_MARKER_BYTES + SM.B),
};

/** What verify reports about footers (shaped like verify's Problem). */
export interface FooterProblem {
  code: 'sidx_missing' | 'sidx_mismatch';
  /** What is wrong, for callers that act on it (repair): no footer, a footer whose checksums fail, or one that disagrees with the frames. */
  kind: 'missing' | 'damaged' | 'mismatch';
  severity: 'warning' | 'error';
  segment: string;
  offset: number;
  message: string;
}

/**
 * What a footer check reports at the end of a segment's walk. `firstDifference` is
 * asked only for a footer whose trailer checks out, after frames that were all valid:
 * the first footer byte where the stored footer differs from the one the frames call
 * for (where the shorter one ends, when one is a prefix of the other), or -1 when they
 * are identical.
 */
export function footerProblems(
  fs: FileSystem,
  seg: SegmentFile,
  r: SegmentReader,
  damagedAt: number | null,
  faulty: boolean,
  sealed: boolean,
  firstDifference: () => number,
): FooterProblem[] {
  const name = seg.name;
  if (damagedAt !== null) {
    return [{ code: 'sidx_mismatch', kind: 'damaged', severity: 'error', segment: name, offset: damagedAt, message: 'SIDX footer is damaged (its trailer does not check out); opens ignore it (seglog sidx rebuild)' }];
  }
  if (r.frameEnd === r.fileSize) {
    const r2 = readFooterWithHeader(fs, seg.path);
    if (r2.status === 'damaged') {
      return [{ code: 'sidx_mismatch', kind: 'damaged', severity: 'error', segment: name, offset: r2.offset, message: `SIDX footer is damaged (${r2.message}); opens ignore it (seglog sidx rebuild)` }];
    }
    if (!sealed) return [];
    return [{ code: 'sidx_missing', kind: 'missing', severity: 'warning', segment: name, offset: r.fileSize, message: 'sealed segment has no SIDX footer; opens scan its frames instead (seglog sidx rebuild)' }];
  }
  if (faulty) return []; // damaged frames: the footer cannot be judged against them
  const i = firstDifference();
  if (i < 0) return [];
  const check = readFooterWithHeader(fs, seg.path);
  const why = check.status === 'damaged' ? `SIDX footer is damaged (${check.message})` : `SIDX footer disagrees with the frames (first difference at footer byte ${i})`;
  return [{ code: 'sidx_mismatch', kind: check.status === 'damaged' ? 'damaged' : 'mismatch', severity: 'error', segment: name, offset: check.status === 'damaged' ? check.offset : r.frameEnd + i, message: `${why}; opens ignore it (seglog sidx rebuild)` }];
}

/** Bytes of the stored footer's entry table FooterVerifier reads at a time. */
export const FOOTER_COMPARE_WINDOW_BYTES = 1024 * 1024;

/**
 * Checks each segment's footer against its frames during verify's walk: the footer a
 * segment has must be byte for byte the one its frames call for (footers are
 * deterministic, so this one comparison covers every entry, marker and string).
 * A sealed segment (any but the last of a store) without a footer is a warning.
 *
 * Streaming: the footer the frames call for is never built. Each EVENT frame's entry is
 * compared in place with the stored entry at the same position (read a window at a time,
 * checksummed as it goes by), so memory is one window, the markers and the entity names,
 * not the ~80 bytes per event of the whole footer. The head (its largest key/value
 * version needs every event), the markers, the strings and the trailer, which come
 * after the entries, are compared at the segment's end. It reports exactly what
 * the reference check in test/support/rebuilding-footer-verifier.ts reports, first
 * differing byte included.
 */
export class FooterVerifier {
  private faulty = false;
  private damagedAt: number | null = null;
  /** Whether this segment's stored footer (its trailer checked out) is being compared. */
  private comparing = false;
  private segmentId = 0;
  /** Where the frames end: the footer start the trailer records. */
  private frameEnd = 0;
  /** Size of the stored footer: frameEnd to the end of the file. */
  private storedBytes = 0;
  private readonly storedHead = new Uint8Array(SIDX_HEAD_BYTES);
  /** The stored footer's bytes [windowStart, windowStart + window.length), footer-relative. */
  private window: Uint8Array = new Uint8Array(0);
  private windowView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private windowStart = 0;
  /** The window's memory for large footers (CRC in place); made on first use, then reused. */
  private arena: CrcArena | null = null;
  /** A DataView over the frames' buffer `frameViewOf` (remembered: one per call would cost more than the compare). */
  private frameViewOf: Uint8Array | null = null;
  private frameView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** CRC-32C of the stored footer's bytes before crcEnd (all found equal to the expected ones). */
  private crc = 0;
  private crcEnd = 0;
  private entryCount = 0;
  private markers: Uint8Array = new Uint8Array(INITIAL_MARKER_ROOM * SIDX_MARKER_BYTES);
  private markerCount = 0;
  private names = new BytesMap<null>();
  private maxKvVersion = 0;
  /** First footer byte (after the head) where the stored entries differ; -1: none yet. */
  private firstDiff = -1;
  /** An expected entry, laid out only to locate a difference. */
  private readonly scratch = new Uint8Array(SIDX_ENTRY_BYTES);

  private readonly windowBytes: number;
  private readonly arenaMinBytes: number;

  /** `opts` are for tests: small windows and arenas exercise on small stores what large ones meet. */
  constructor(
    private readonly fs: FileSystem,
    private readonly segmentCount: number,
    private readonly loneFile: boolean,
    opts: { windowBytes?: number; arenaMinBytes?: number } = {},
  ) {
    this.windowBytes = Math.max(SIDX_ENTRY_BYTES, opts.windowBytes ?? FOOTER_COMPARE_WINDOW_BYTES);
    this.arenaMinBytes = opts.arenaMinBytes ?? ARENA_MIN_FILE_BYTES;
  }

  onSegment(r: SegmentReader): void {
    this.faulty = !r.header.ok;
    this.damagedAt = null;
    this.segmentId = r.header.ok ? r.header.header.segmentId : 0;
    this.frameEnd = r.frameEnd;
    this.storedBytes = r.fileSize - r.frameEnd;
    // no footer (or a trailer that does not check out): there is nothing to compare
    this.comparing = !this.faulty && r.frameEnd < r.fileSize;
    this.entryCount = 0;
    this.markerCount = 0;
    this.names = new BytesMap<null>();
    this.maxKvVersion = 0;
    this.firstDiff = -1;
    this.crc = 0;
    this.crcEnd = 0;
    this.window = new Uint8Array(0);
    this.windowStart = 0;
    if (!this.comparing) return;
    this.load(r, 0);
    this.storedHead.fill(0);
    this.storedHead.set(this.window.subarray(0, Math.min(SIDX_HEAD_BYTES, this.window.length)));
  }

  onFrame(r: SegmentReader): void {
    if (!this.comparing || this.faulty) return;
    const buf = r.buf;
    const b = r.bodyOff;
    if (r.type !== FrameType.EVENT) {
      // markers matter only while the stored footer still agrees (they come after the entries)
      if (this.firstDiff < 0) this.addMarker(r.type, buf, b, r.bodyBytes, r.frameOffset);
      return;
    }
    // the same rule as FooterBuilder: the head's version needs every event, even past a difference
    const v = kvVersionOf(buf, b);
    if (v > this.maxKvVersion) this.maxKvVersion = v;
    // entries after the first difference cannot move it
    if (this.firstDiff >= 0) return;
    const pos = SIDX_HEAD_BYTES + this.entryCount * SIDX_ENTRY_BYTES;
    this.entryCount++;
    const nameAt = b + EV.VAR;
    const nameLen = ev.entityLen(buf, b);
    if (pos + SIDX_ENTRY_BYTES > this.storedBytes) {
      // the stored footer ends inside (or before) this entry: the difference is in it or where it ends
      this.locate(r, pos, this.intern(buf, nameAt, nameLen), this.storedBytes - pos);
      return;
    }
    let a = pos - this.windowStart;
    if (a < 0 || a + SIDX_ENTRY_BYTES > this.window.length) a = this.load(r, pos);
    // hot loop: compared a 32-bit word at a time, in place (4x faster than byte by byte)
    const w = this.windowView;
    // by the buffer's identity: reading `buf.buffer` per frame costs more than the compares
    if (buf !== this.frameViewOf) {
      this.frameViewOf = buf;
      this.frameView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const f = this.frameView;
    const body = b + EV.SEQ;
    let same = true;
    for (let i = 0; i < SE_BODY_COPY_BYTES; i += 4) {
      if (w.getInt32(a + i, true) !== f.getInt32(body + i, true)) {
        same = false;
        break;
      }
    }
    // the entity's string index: names are unique, so when the stored index already names
    // these bytes it is the index interning gives, found without hashing the name
    const stored = w.getUint32(a + SE.ENTITY, true);
    const keys = this.names.keys;
    const known = stored < keys.length && keys[stored]!.length === nameLen && equalBytes(keys[stored]!, 0, buf, nameAt, nameLen);
    const entity = known ? stored : this.intern(buf, nameAt, nameLen);
    const off = r.frameOffset;
    same &&= entity === stored && w.getUint32(a + SE.OFFSET, true) === off % TWO_32 && w.getUint32(a + SE.OFFSET + 4, true) === Math.floor(off / TWO_32);
    if (same) {
      const hs = ev.hashStart(buf, b);
      for (let i = 0; i < HASH_BYTES; i += 4) {
        if (w.getInt32(a + SE.HASH + i, true) !== f.getInt32(hs + i, true)) {
          same = false;
          break;
        }
      }
    }
    if (!same) this.locate(r, pos, entity, SIDX_ENTRY_BYTES);
  }

  onFault(): void {
    this.faulty = true;
  }

  onDamagedFooter(offset: number): void {
    this.damagedAt = offset;
  }

  onSegmentEnd(seg: SegmentFile, segIndex: number, r: SegmentReader): FooterProblem[] {
    const sealed = !this.loneFile && segIndex < this.segmentCount - 1;
    const problems = footerProblems(this.fs, seg, r, this.damagedAt, this.faulty, sealed, () => this.firstDifference(r));
    this.window = new Uint8Array(0);
    return problems;
  }

  /**
   * Makes the window hold the stored footer from `pos` on; returns pos's index in it.
   * The bytes left behind were all compared equal: they join the running CRC first.
   */
  private load(r: SegmentReader, pos: number): number {
    if (this.window.length > 0) this.crc = this.crcOf(this.crcEnd - this.windowStart, pos - this.windowStart, this.crc);
    this.crcEnd = pos;
    const end = Math.min(this.storedBytes, pos + this.windowBytes);
    if (this.storedBytes >= this.arenaMinBytes) {
      // a large footer's CRC runs in the WebAssembly kernel (~3x the JS loop); read straight
      // into its memory, reused window after window (a fresh array per window faulted its pages in)
      this.arena ??= new CrcArena(this.windowBytes);
      const n = end - pos;
      const got = r.readRangeInto(this.arena.buf, r.frameEnd + pos, r.frameEnd + end);
      // a short read (the file cut meanwhile) leaves zeros, as readRange's fresh array did
      this.arena.buf.fill(0, got, n);
      this.window = this.arena.buf.subarray(0, n);
    } else {
      this.window = r.readRange(r.frameEnd + pos, r.frameEnd + end);
    }
    this.windowView = new DataView(this.window.buffer, this.window.byteOffset, this.window.length);
    this.windowStart = pos;
    return 0;
  }

  /** CRC-32C of window[start, end), continuing from `crc`. */
  private crcOf(start: number, end: number, crc: number): number {
    const a = this.arena;
    return a !== null && this.window.buffer === a.buf.buffer ? a.crc(start, end, crc) : crc32c(this.window, start, end, crc);
  }

  /**
   * The entry at footer position `pos` differs from the stored bytes, or the stored
   * footer has only `storedLen` (< an entry) bytes of it: records the first differing byte.
   */
  private locate(r: SegmentReader, pos: number, entity: number, storedLen: number): void {
    const e = this.scratch;
    const buf = r.buf;
    const b = r.bodyOff;
    // the entry exactly as FooterBuilder.addEvent lays it out
    for (let i = 0; i < SE_BODY_COPY_BYTES; i++) e[i] = buf[b + EV.SEQ + i]!;
    writeU32(e, SE.ENTITY, entity);
    writeU64(e, SE.OFFSET, r.frameOffset);
    const hs = ev.hashStart(buf, b);
    for (let i = 0; i < HASH_BYTES; i++) e[SE.HASH + i] = buf[hs + i]!;
    const n = Math.max(0, storedLen);
    let a = pos - this.windowStart;
    if (n > 0 && (a < 0 || a + n > this.window.length)) a = this.load(r, pos);
    let i = 0;
    while (i < n && this.window[a + i] === e[i]) i++;
    this.firstDiff = pos + i;
  }

  /** The first byte where the stored footer differs from the expected one, or -1. */
  private firstDifference(r: SegmentReader): number {
    const stored = this.storedBytes;
    const head = new Uint8Array(SIDX_HEAD_BYTES);
    writeFooterHead(head, this.segmentId, this.maxKvVersion);
    const h = firstDiffering(head, 0, this.storedHead, 0, Math.min(SIDX_HEAD_BYTES, stored));
    if (h >= 0) return h;
    if (stored < SIDX_HEAD_BYTES) return stored;
    if (this.firstDiff >= 0) return this.firstDiff;
    // every entry matched, so the stored bytes before the tail are the expected ones and
    // their CRC (taken as they went by) is the expected body's CRC so far
    const tailAt = SIDX_HEAD_BYTES + this.entryCount * SIDX_ENTRY_BYTES;
    const tail = this.encodeTail(this.crcOf(this.crcEnd - this.windowStart, tailAt - this.windowStart, this.crc));
    const storedTail = r.readRange(r.frameEnd + tailAt, r.fileSize);
    const n = Math.min(tail.length, storedTail.length);
    const d = firstDiffering(tail, 0, storedTail, 0, n);
    if (d >= 0) return tailAt + d;
    return tail.length === storedTail.length ? -1 : tailAt + n;
  }

  /**
   * markers | strings | trailer, laid out as encodeFooter (format/sidx.ts) lays them out;
   * `crcBefore` is the CRC-32C of the footer's bytes before them (head and entries).
   */
  private encodeTail(crcBefore: number): Uint8Array {
    const strings = this.names.keys;
    let stringBytes = 0;
    for (const s of strings) stringBytes += 2 + s.length;
    const mBytes = this.markerCount * SIDX_MARKER_BYTES;
    const out = new Uint8Array(mBytes + stringBytes + SIDX_TRAILER_BYTES);
    out.set(this.markers.subarray(0, mBytes), 0);
    writeStringsAndTrailer(out, mBytes, strings, this.frameEnd, this.entryCount, this.markerCount, crcBefore);
    return out;
  }

  private addMarker(type: number, buf: Uint8Array, b: number, bodyBytes: number, frameOffset: number): void {
    const need = (this.markerCount + 1) * SIDX_MARKER_BYTES;
    if (need > this.markers.length) this.markers = grow(this.markers, need);
    // the marker exactly as FooterBuilder.addMarker lays it out
    writeMarkerRow(this.markers, this.markerCount * SIDX_MARKER_BYTES, type, buf, b, bodyBytes, frameOffset);
    this.markerCount++;
  }

  private intern(buf: Uint8Array, start: number, len: number): number {
    const i = this.names.indexOf(buf, start, len);
    return i >= 0 ? i : this.names.add(buf, start, len, null);
  }
}

/** Index of the first i < len where a[aOff + i] !== b[bOff + i], or -1. */
function firstDiffering(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): number {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return i;
  return -1;
}
