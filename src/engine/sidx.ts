/**
 * SIDX footers in the engine: building one from frames, reading one back, writing one
 * when a segment is sealed. Maintenance (strip, rebuild) is in sidx-maintenance.ts.
 *
 * A footer is a pure function of its segment's frames (and segment id): the builder
 * takes EVENT frames and other frames in file order, interns entity names in order of
 * first appearance, and `encode` frames the tables. Whether it is built in one pass
 * (rebuild), or seeded from the footer a segment had when the store was opened and
 * continued with the frames appended since (seal), the bytes are the same.
 */
import { equalBytes, readU16, readU32, readU64, writeU32, writeU64 } from '../format/bytes.js';
import { EV, ev } from '../format/event.js';
import { FrameStatus, FrameType } from '../format/frame.js';
import { isKvKind, KV_VERSION_BYTES, kvVersionAt } from '../format/kv.js';
import { decodeSegmentHeader, type HeaderResult, SEGMENT_HEADER_BYTES } from '../format/segment-header.js';
import {
  decodeFooter,
  encodeFooter,
  SE,
  SE_BODY_COPY_BYTES,
  SIDX_ENTRY_BYTES,
  SIDX_MARKER_BYTES,
  SIDX_MAX_ENTRIES,
  SIDX_TRAILER_BYTES,
  SM,
  type SidxFooter,
} from '../format/sidx.js';
import type { FileSystem } from './fs/types.js';
import { readFully, writeFully } from './fs/util.js';
import { BytesMap } from './bytes-map.js';
import { probeFooter, type FooterProbe } from './segment-end.js';
import { SegmentReader } from './segment-reader.js';
import { type SegmentFile, walkSegment } from './walker.js';

const INITIAL_ENTRY_ROOM = 1024;
const INITIAL_MARKER_ROOM = 256;
/** Largest footer a reader loads whole: a 4 GiB segment of minimal frames stays below it. */
export const MAX_FOOTER_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** Accumulates one segment's footer tables, frame by frame, in file order. */
export class FooterBuilder {
  private entries: Uint8Array = new Uint8Array(INITIAL_ENTRY_ROOM * SIDX_ENTRY_BYTES);
  private markers: Uint8Array = new Uint8Array(INITIAL_MARKER_ROOM * SIDX_MARKER_BYTES);
  entryCount = 0;
  markerCount = 0;
  /** Entity names (UTF-8 bytes) by string index, in order of first appearance. */
  private readonly names = new BytesMap<null>();
  maxKvVersion = 0;
  firstSeq = -1;
  lastSeq = -1;

  constructor(readonly segmentId: number) {}

  /** A builder holding exactly what `f` indexes, ready to take the frames after it. */
  static fromFooter(f: SidxFooter): FooterBuilder {
    const b = new FooterBuilder(f.segmentId);
    b.entries = f.entries.slice();
    b.markers = f.markers.slice();
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

  /** Adds the frame a SegmentReader just returned as Valid. */
  addFrame(r: SegmentReader): void {
    if (r.type === FrameType.EVENT) this.addEvent(r.buf, r.bodyOff, r.frameOffset);
    else this.addMarker(r.type, r.buf, r.bodyOff, r.bodyBytes, r.frameOffset);
  }

  /** An EVENT whose checked body starts at buf[b]. */
  addEvent(buf: Uint8Array, b: number, frameOffset: number): void {
    if (this.entryCount >= SIDX_MAX_ENTRIES) throw new RangeError('too many events for one footer');
    const need = (this.entryCount + 1) * SIDX_ENTRY_BYTES;
    if (need > this.entries.length) this.entries = grow(this.entries, need);
    const e = this.entryCount * SIDX_ENTRY_BYTES;
    const out = this.entries;
    const seq = ev.seq(buf, b);
    // sequence, clock, wall ms, txn id and kind: the body's own little-endian bytes
    for (let i = 0; i < SE_BODY_COPY_BYTES; i++) out[e + i] = buf[b + EV.SEQ + i]!;
    writeU32(out, e + SE.ENTITY, this.intern(buf, b + EV.VAR, ev.entityLen(buf, b)));
    writeU64(out, e + SE.OFFSET, frameOffset);
    const hs = ev.hashStart(buf, b);
    for (let i = 0; i < 32; i++) out[e + SE.HASH + i] = buf[hs + i]!;
    const cat = ev.kindCategory(buf, b);
    const type = ev.kindType(buf, b);
    if (isKvKind(cat, type) && ev.payloadLen(buf, b) >= KV_VERSION_BYTES) {
      // the same rule as the recovery scan, so a footer-based cold start agrees with it
      const v = kvVersionAt(buf, ev.payloadStart(buf, b));
      if (v > this.maxKvVersion && v <= Number.MAX_SAFE_INTEGER) this.maxKvVersion = v;
    }
    if (this.firstSeq < 0) this.firstSeq = seq;
    this.lastSeq = seq;
    this.entryCount++;
  }

  /** Any other frame: its type and the first 12 bytes of its body (txn id and count for markers). */
  addMarker(type: number, buf: Uint8Array, b: number, bodyBytes: number, frameOffset: number): void {
    if (this.markerCount >= SIDX_MAX_ENTRIES) throw new RangeError('too many markers for one footer');
    const need = (this.markerCount + 1) * SIDX_MARKER_BYTES;
    if (need > this.markers.length) this.markers = grow(this.markers, need);
    const m = this.markerCount * SIDX_MARKER_BYTES;
    const out = this.markers;
    writeU64(out, m + SM.OFFSET, frameOffset);
    out.fill(0, m + SM.A, m + SIDX_MARKER_BYTES);
    if (bodyBytes >= 8) for (let i = 0; i < 8; i++) out[m + SM.A + i] = buf[b + i]!;
    if (bodyBytes >= 12) for (let i = 0; i < 4; i++) out[m + SM.B + i] = buf[b + 8 + i]!;
    out[m + SM.TYPE] = type;
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
    return encodeFooter({
      segmentId: this.segmentId,
      maxKvVersion: this.maxKvVersion,
      footerStart,
      entries: this.entries,
      entryCount: this.entryCount,
      markers: this.markers,
      markerCount: this.markerCount,
      strings: this.names.keys,
    });
  }
}

function grow(b: Uint8Array, need: number): Uint8Array {
  const out = new Uint8Array(Math.max(need, b.length * 2));
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
export function buildFooterFromFrames(fs: FileSystem, seg: SegmentFile): BuiltFooter {
  let builder = new FooterBuilder(seg.id < 0 ? 0 : seg.id);
  const out: BuiltFooter = { frameEnd: 0, builder, fault: null, damagedFooterAt: null, headerOk: true, fileSize: 0 };
  walkSegment(fs, seg, 0, false, {
    onSegment(_s, _i, r) {
      out.fileSize = r.fileSize;
      out.frameEnd = r.frameEnd;
      out.headerOk = r.header.ok;
      // the footer names the segment its header names (a lone file may have any name)
      if (r.header.ok) builder = out.builder = new FooterBuilder(r.header.header.segmentId);
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

function isCrash(err: unknown): boolean {
  return (err as { name?: string }).name === 'SimCrash' || (err as { crash?: boolean }).crash === true;
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
  severity: 'warning' | 'error';
  segment: string;
  offset: number;
  message: string;
}

/**
 * Checks each segment's footer against its frames during verify's walk: the footer a
 * segment has must be byte for byte the one its frames call for (footers are
 * deterministic, so this one comparison covers every entry, marker and string).
 * A sealed segment (any but the last of a store) without a footer is a warning.
 */
export class FooterVerifier {
  private builder = new FooterBuilder(0);
  private faulty = false;
  private damagedAt: number | null = null;

  constructor(
    private readonly fs: FileSystem,
    private readonly segmentCount: number,
    private readonly loneFile: boolean,
  ) {}

  onSegment(r: SegmentReader): void {
    this.builder = new FooterBuilder(r.header.ok ? r.header.header.segmentId : 0);
    this.faulty = !r.header.ok;
    this.damagedAt = null;
  }

  onFrame(r: SegmentReader): void {
    this.builder.addFrame(r);
  }

  onFault(): void {
    this.faulty = true;
  }

  onDamagedFooter(offset: number): void {
    this.damagedAt = offset;
  }

  onSegmentEnd(seg: SegmentFile, segIndex: number, r: SegmentReader): FooterProblem[] {
    const name = seg.name;
    if (this.damagedAt !== null) {
      return [{ code: 'sidx_mismatch', severity: 'error', segment: name, offset: this.damagedAt, message: 'SIDX footer is damaged (its trailer does not check out); opens ignore it (seglog sidx rebuild)' }];
    }
    if (r.frameEnd === r.fileSize) {
      const r2 = readFooterWithHeader(this.fs, seg.path);
      if (r2.status === 'damaged') {
        return [{ code: 'sidx_mismatch', severity: 'error', segment: name, offset: r2.offset, message: `SIDX footer is damaged (${r2.message}); opens ignore it (seglog sidx rebuild)` }];
      }
      const sealed = !this.loneFile && segIndex < this.segmentCount - 1;
      if (!sealed) return [];
      return [{ code: 'sidx_missing', severity: 'warning', segment: name, offset: r.fileSize, message: 'sealed segment has no SIDX footer; opens scan its frames instead (seglog sidx rebuild)' }];
    }
    if (this.faulty) return []; // damaged frames: the footer cannot be judged against them
    const expected = this.builder.encode(r.frameEnd);
    const actual = r.readRange(r.frameEnd, r.fileSize);
    if (expected.length === actual.length && equalBytes(expected, 0, actual, 0, actual.length)) return [];
    const check = readFooterWithHeader(this.fs, seg.path);
    let i = 0;
    while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
    const why = check.status === 'damaged' ? `SIDX footer is damaged (${check.message})` : `SIDX footer disagrees with the frames (first difference at footer byte ${i})`;
    return [{ code: 'sidx_mismatch', severity: 'error', segment: name, offset: check.status === 'damaged' ? check.offset : r.frameEnd + i, message: `${why}; opens ignore it (seglog sidx rebuild)` }];
  }
}
