/**
 * Checking SIDX footers against frames: verify's streaming FooterVerifier (also sidx
 * rebuild's check of intact footers, in a worker or on the walk) and the problems it
 * reports. The expected footer is laid out with the builder's own tables (sidx-tables.ts)
 * and entry layout, so it is the footer sidx-builder.ts would build, byte for byte.
 */
import { equalBytes, TWO_32, writeU32, writeU64 } from '../../format/bytes.js';
import { HASH_BYTES } from '../../format/hash/blake3.js';
import { CrcArena, crc32c } from '../../format/hash/crc32c.js';
import { EV, ev } from '../../format/event.js';
import { FrameType } from '../../format/frame.js';
import { kvVersionOf } from '../../format/kv.js';
import { SE, SE_BODY_COPY_BYTES, SIDX_ENTRY_BYTES, SIDX_HEAD_BYTES, SIDX_MARKER_BYTES, SIDX_TRAILER_BYTES, writeFooterHead, writeStringsAndTrailer } from '../../format/sidx.js';
import type { FileSystem } from '../io/fs-types.js';
import { ARENA_MIN_FILE_BYTES, type SegmentReader } from '../segment/segment-reader.js';
import type { SegmentFile } from '../segment/walker.js';
import { readFooterWithHeader } from './sidx-reader.js';
import { EntityNames, MarkerRows } from './sidx-tables.js';

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
  /** The expected footer's marker rows and names, laid out by the builder's code (sidx-tables.ts). */
  private readonly markers = new MarkerRows();
  private readonly names = new EntityNames();
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
    this.markers.clear();
    this.names.clear();
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
      if (this.firstDiff < 0) this.markers.add(r.type, buf, b, r.bodyBytes, r.frameOffset);
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
      this.locate(r, pos, this.names.intern(buf, nameAt, nameLen), this.storedBytes - pos);
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
    const entity = known ? stored : this.names.intern(buf, nameAt, nameLen);
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
    const mBytes = this.markers.count * SIDX_MARKER_BYTES;
    const out = new Uint8Array(mBytes + stringBytes + SIDX_TRAILER_BYTES);
    out.set(this.markers.rows.subarray(0, mBytes), 0);
    writeStringsAndTrailer(out, mBytes, strings, this.frameEnd, this.entryCount, this.markers.count, crcBefore);
    return out;
  }

}

/** Index of the first i < len where a[aOff + i] !== b[bOff + i], or -1. */
function firstDiffering(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): number {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return i;
  return -1;
}
