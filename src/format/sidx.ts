/**
 * SIDX footer: the per-segment index written after a sealed segment's last frame.
 * Pure codec, no I/O. docs/FORMAT.md ("SIDX footer") is the reference; every offset
 * and size there is one of the constants below.
 *
 *   footer  = head | entries | markers | strings | trailer
 *   head    = magic "SIDX" | version u16 | reserved u16 (0) | segment id u64 |
 *             largest key/value version recorded in the segment u64 (0: none)      24 bytes
 *   entry   = one per EVENT frame, committed or not, in file order                  80 bytes
 *   marker  = one per non-EVENT frame (BEGIN, COMMIT, ABORT, GAP), in file order   24 bytes
 *   strings = entity names, first appearance first: length u16 | UTF-8 bytes
 *   trailer = footer start u64 | entries u32 | markers u32 | strings u32 |
 *             body crc32c u32 | trailer crc32c u32 | magic "SIDX"                   32 bytes
 *
 * The head's magic read as a frame length is 0x58444953, far over MAX_FRAME_LENGTH,
 * so a reader walking frames can never take a footer for a frame, and can recognise
 * a footer whose trailer is damaged by its head alone.
 */
import { crc32c } from './hash/crc32c.js';
import { copyBytes, readU16, readU32, readU64, writeU16, writeU32, writeU64 } from './bytes.js';
import { HASH_BYTES } from './hash/blake3.js';
import { SEGMENT_HEADER_BYTES } from './segment-header.js';

/** "SIDX" as bytes 0x53 0x49 0x44 0x58. */
export const SIDX_MAGIC = Uint8Array.of(0x53, 0x49, 0x44, 0x58);
export const SIDX_VERSION = 1;
export const SIDX_HEAD_BYTES = 24;
export const SIDX_ENTRY_BYTES = 80;
export const SIDX_MARKER_BYTES = 24;
export const SIDX_TRAILER_BYTES = 32;
/** Smallest possible footer: head and trailer, nothing indexed. */
export const SIDX_MIN_BYTES = SIDX_HEAD_BYTES + SIDX_TRAILER_BYTES;
/** Entities are at most 1024 bytes (MAX_ENTITY_BYTES); a u16 length always fits. */
export const SIDX_MAX_STRING_BYTES = 0xffff;
/** Bounds on counts: a 4 GiB segment of minimal frames stays far below them. */
export const SIDX_MAX_ENTRIES = 0xffff_ffff;

/**
 * Field offsets inside one entry. The first 36 bytes are the EVENT body's bytes 16..52
 * in the same order (sequence, clock, wall ms, txn id, kind), so building an entry is
 * two copies, not a decode and re-encode.
 */
export const SE = {
  SEQ: 0,
  CLOCK: 8,
  WALL: 16,
  TXN: 24,
  KIND_CAT: 32,
  KIND_TYPE: 34,
  ENTITY: 36,
  OFFSET: 40,
  HASH: 48,
} as const;
/** Bytes of an entry copied verbatim from the EVENT body (from its sequence field on). */
export const SE_BODY_COPY_BYTES = 36;

/** Field offsets inside one marker. */
export const SM = {
  OFFSET: 0,
  /** BEGIN/COMMIT/ABORT: the transaction id; other types: the body's first u64 (0 if shorter). */
  A: 8,
  /** BEGIN/COMMIT: the item count; other types: the body's u32 at 8 (0 if shorter). */
  B: 16,
  TYPE: 20,
} as const;

/** Field offsets inside the trailer. */
export const ST = {
  FOOTER_START: 0,
  ENTRIES: 8,
  MARKERS: 12,
  STRINGS: 16,
  BODY_CRC: 20,
  TRAILER_CRC: 24,
  MAGIC: 28,
} as const;

export interface SidxTrailer {
  /** File offset of the footer's head: where the frames end. */
  footerStart: number;
  entryCount: number;
  markerCount: number;
  stringCount: number;
  bodyCrc: number;
}

export type TrailerResult =
  | { ok: true; trailer: SidxTrailer }
  | { ok: false; reason: 'no_magic' | 'trailer_crc' | 'bounds'; message: string };

/**
 * Checks the trailer found in the last SIDX_TRAILER_BYTES of a file of `fileSize`
 * bytes. Succeeds only when the magic and the trailer CRC match and the counts lay
 * out a footer that ends exactly at the end of the file.
 */
export function decodeTrailer(t: Uint8Array, fileSize: number): TrailerResult {
  if (t.length !== SIDX_TRAILER_BYTES || fileSize < SEGMENT_HEADER_BYTES + SIDX_MIN_BYTES) {
    return { ok: false, reason: 'no_magic', message: 'file too short for a footer' };
  }
  for (let i = 0; i < 4; i++) {
    if (t[ST.MAGIC + i] !== SIDX_MAGIC[i]) return { ok: false, reason: 'no_magic', message: 'no SIDX magic at the end of the file' };
  }
  if (readU32(t, ST.TRAILER_CRC) !== crc32c(t, 0, ST.TRAILER_CRC)) {
    return { ok: false, reason: 'trailer_crc', message: 'footer trailer checksum mismatch' };
  }
  const trailer: SidxTrailer = {
    footerStart: readU64(t, ST.FOOTER_START),
    entryCount: readU32(t, ST.ENTRIES),
    markerCount: readU32(t, ST.MARKERS),
    stringCount: readU32(t, ST.STRINGS),
    bodyCrc: readU32(t, ST.BODY_CRC),
  };
  const fixed = SIDX_HEAD_BYTES + trailer.entryCount * SIDX_ENTRY_BYTES + trailer.markerCount * SIDX_MARKER_BYTES + SIDX_TRAILER_BYTES;
  const stringBytes = fileSize - trailer.footerStart - fixed;
  if (trailer.footerStart < SEGMENT_HEADER_BYTES || stringBytes < 2 * trailer.stringCount || stringBytes > trailer.stringCount * (2 + SIDX_MAX_STRING_BYTES)) {
    return { ok: false, reason: 'bounds', message: `footer trailer describes a footer that does not fit the file (start ${trailer.footerStart}, ${fileSize} bytes)` };
  }
  return { ok: true, trailer };
}

/** Whether `buf[off, off + SIDX_HEAD_BYTES)` is a footer head of a version we read. */
export function isFooterHead(buf: Uint8Array, off: number, end: number): boolean {
  if (end - off < 8) return false;
  for (let i = 0; i < 4; i++) if (buf[off + i] !== SIDX_MAGIC[i]) return false;
  return readU16(buf, off + 4) === SIDX_VERSION && readU16(buf, off + 6) === 0;
}

/** A decoded footer: its tables stay as raw bytes (entries are read in place with SE). */
export interface SidxFooter {
  segmentId: number;
  /** Largest key/value version any EVENT of the segment records (format/kv.ts), 0 if none. */
  maxKvVersion: number;
  footerStart: number;
  entryCount: number;
  markerCount: number;
  /** entryCount × SIDX_ENTRY_BYTES */
  entries: Uint8Array;
  /** markerCount × SIDX_MARKER_BYTES */
  markers: Uint8Array;
  /** Entity names as UTF-8 bytes, by string index. */
  strings: Uint8Array[];
  /** Byte size of the whole footer, trailer included. */
  sizeBytes: number;
}

export type FooterResult = { ok: true; footer: SidxFooter } | { ok: false; offset: number; message: string };

/**
 * Decodes a whole footer (`bytes` = the file from `footerStart` to its end) after its
 * trailer was accepted: checks the body CRC, the head, and that the string table
 * holds exactly the strings the trailer counts and every entry names one of them.
 * `offset` in a failure is relative to the start of `bytes`.
 */
export function decodeFooter(bytes: Uint8Array, t: SidxTrailer): FooterResult {
  const bodyEnd = bytes.length - SIDX_TRAILER_BYTES;
  if (bodyEnd < SIDX_HEAD_BYTES) return { ok: false, offset: 0, message: 'footer shorter than its head' };
  if (crc32c(bytes, 0, bodyEnd) !== t.bodyCrc) return { ok: false, offset: 0, message: 'footer body checksum mismatch' };
  if (!isFooterHead(bytes, 0, bodyEnd)) return { ok: false, offset: 0, message: 'footer head has no SIDX magic or an unknown version' };
  const segmentId = readU64(bytes, 8);
  const maxKvVersion = readU64(bytes, 16);
  const entriesAt = SIDX_HEAD_BYTES;
  const markersAt = entriesAt + t.entryCount * SIDX_ENTRY_BYTES;
  const stringsAt = markersAt + t.markerCount * SIDX_MARKER_BYTES;
  const strings: Uint8Array[] = [];
  let p = stringsAt;
  for (let i = 0; i < t.stringCount; i++) {
    if (p + 2 > bodyEnd) return { ok: false, offset: p, message: `string table ends inside string ${i}` };
    const len = readU16(bytes, p);
    if (len === 0 || p + 2 + len > bodyEnd) return { ok: false, offset: p, message: `string ${i} has an impossible length ${len}` };
    strings.push(bytes.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  if (p !== bodyEnd) return { ok: false, offset: p, message: `${bodyEnd - p} bytes after the string table` };
  for (let i = 0; i < t.entryCount; i++) {
    const e = entriesAt + i * SIDX_ENTRY_BYTES;
    if (readU32(bytes, e + SE.ENTITY) >= t.stringCount) return { ok: false, offset: e, message: `entry ${i} names string ${readU32(bytes, e + SE.ENTITY)} of ${t.stringCount}` };
  }
  return {
    ok: true,
    footer: {
      segmentId,
      maxKvVersion,
      footerStart: t.footerStart,
      entryCount: t.entryCount,
      markerCount: t.markerCount,
      entries: bytes.subarray(entriesAt, markersAt),
      markers: bytes.subarray(markersAt, stringsAt),
      strings,
      sizeBytes: bytes.length,
    },
  };
}

/** A footer's tables, as the builder (engine/index/sidx.ts) holds them. */
export interface FooterTables {
  segmentId: number;
  maxKvVersion: number;
  footerStart: number;
  entries: Uint8Array;
  entryCount: number;
  markers: Uint8Array;
  markerCount: number;
  strings: readonly Uint8Array[];
}

/**
 * Lays out a footer from its tables. The builder (engine/index/sidx.ts) owns the order of
 * entries, markers and strings; this function only frames them, so the same tables
 * always give the same bytes.
 */
export function encodeFooter(parts: FooterTables, into?: Uint8Array): Uint8Array {
  const pieces = encodeFooterParts(parts);
  let total = 0;
  for (const x of pieces) total += x.length;
  // `into`, when large enough: the footer is laid out there (a writer sealing segment after
  // segment reuses one buffer); the pieces cover every byte, so it needs no clearing
  const out = into !== undefined && into.length >= total ? into.subarray(0, total) : new Uint8Array(total);
  let p = 0;
  for (const x of pieces) {
    out.set(x, p);
    p += x.length;
  }
  return out;
}

/**
 * The footer `encodeFooter` lays out, as three consecutive pieces: the head, the entry
 * table (a view of `parts.entries`, not a copy: it is most of a footer, 80 bytes per
 * event) and the rest (markers, strings, trailer). A writer streams them to a file.
 */
export function encodeFooterParts(parts: FooterTables): [head: Uint8Array, entries: Uint8Array, tail: Uint8Array] {
  if (parts.entries.length < parts.entryCount * SIDX_ENTRY_BYTES || parts.markers.length < parts.markerCount * SIDX_MARKER_BYTES) {
    throw new RangeError('footer tables are shorter than their counts');
  }
  let stringBytes = 0;
  for (const s of parts.strings) {
    if (s.length === 0 || s.length > SIDX_MAX_STRING_BYTES) throw new RangeError(`footer string of ${s.length} bytes`);
    stringBytes += 2 + s.length;
  }
  const eBytes = parts.entryCount * SIDX_ENTRY_BYTES;
  const mBytes = parts.markerCount * SIDX_MARKER_BYTES;
  const head = new Uint8Array(SIDX_HEAD_BYTES);
  writeFooterHead(head, parts.segmentId, parts.maxKvVersion);
  const entries = parts.entries.subarray(0, eBytes);
  const tail = new Uint8Array(mBytes + stringBytes + SIDX_TRAILER_BYTES);
  tail.set(parts.markers.subarray(0, mBytes), 0);
  // the body CRC runs over head, entries and the tail's tables, in that order
  const crcBefore = crc32c(entries, 0, eBytes, crc32c(head, 0, SIDX_HEAD_BYTES));
  writeStringsAndTrailer(tail, mBytes, parts.strings, parts.footerStart, parts.entryCount, parts.markerCount, crcBefore);
  return [head, entries, tail];
}

/** The footer's head (magic, version, segment id, max kv version) at the start of `out`. */
export function writeFooterHead(out: Uint8Array, segmentId: number, maxKvVersion: number): void {
  out.set(SIDX_MAGIC, 0);
  writeU16(out, 4, SIDX_VERSION);
  writeU16(out, 6, 0);
  writeU64(out, 8, segmentId);
  writeU64(out, 16, maxKvVersion);
}

/**
 * The string table from `at`, then the trailer. The body CRC covers `out` from 0 to the
 * trailer, continuing `crcBefore` (the CRC of footer bytes that precede `out`, when the
 * caller lays out only the footer's tail).
 */
export function writeStringsAndTrailer(
  out: Uint8Array,
  at: number,
  strings: readonly Uint8Array[],
  footerStart: number,
  entryCount: number,
  markerCount: number,
  crcBefore: number,
): void {
  let p = at;
  for (const s of strings) {
    writeU16(out, p, s.length);
    out.set(s, p + 2);
    p += 2 + s.length;
  }
  const t = p;
  writeU64(out, t + ST.FOOTER_START, footerStart);
  writeU32(out, t + ST.ENTRIES, entryCount);
  writeU32(out, t + ST.MARKERS, markerCount);
  writeU32(out, t + ST.STRINGS, strings.length);
  writeU32(out, t + ST.BODY_CRC, crc32c(out, 0, t, crcBefore));
  writeU32(out, t + ST.TRAILER_CRC, crc32c(out, t, t + ST.TRAILER_CRC));
  out.set(SIDX_MAGIC, t + ST.MAGIC);
}

/**
 * One marker row (a non-EVENT frame): its offset, the first 12 bytes of its body (txn id
 * and count for BEGIN/COMMIT), zero-filled when the body is shorter, and its type.
 */
export function writeMarkerRow(out: Uint8Array, m: number, type: number, buf: Uint8Array, b: number, bodyBytes: number, frameOffset: number): void {
  writeU64(out, m + SM.OFFSET, frameOffset);
  out.fill(0, m + SM.A, m + SIDX_MARKER_BYTES);
  if (bodyBytes >= 8) for (let i = 0; i < 8; i++) out[m + SM.A + i] = buf[b + i]!;
  if (bodyBytes >= 12) for (let i = 0; i < 4; i++) out[m + SM.B + i] = buf[b + 8 + i]!;
  out[m + SM.TYPE] = type;
}

/** One entry, decoded (allocating: for `sidx show` and tests, not for cold starts). */
export interface SidxEntry {
  seq: number;
  offset: number;
  entity: string;
  clock: number;
  wallMs: number;
  txnId: number;
  kind: { category: number; type: number };
  eventHash: Uint8Array;
}

export function readEntry(f: SidxFooter, i: number, decodeText: (b: Uint8Array) => string): SidxEntry {
  const e = i * SIDX_ENTRY_BYTES;
  const b = f.entries;
  return {
    seq: readU64(b, e + SE.SEQ),
    offset: readU64(b, e + SE.OFFSET),
    entity: decodeText(f.strings[readU32(b, e + SE.ENTITY)]!),
    clock: readU64(b, e + SE.CLOCK),
    wallMs: readU64(b, e + SE.WALL),
    txnId: readU64(b, e + SE.TXN),
    kind: { category: readU16(b, e + SE.KIND_CAT), type: readU16(b, e + SE.KIND_TYPE) },
    eventHash: copyBytes(b, e + SE.HASH, e + SE.HASH + HASH_BYTES),
  };
}

export interface SidxMarker {
  offset: number;
  type: number;
  a: number;
  b: number;
}

export function readMarker(f: SidxFooter, i: number): SidxMarker {
  const m = i * SIDX_MARKER_BYTES;
  const b = f.markers;
  return { offset: readU64(b, m + SM.OFFSET), a: readU64(b, m + SM.A), b: readU32(b, m + SM.B), type: b[m + SM.TYPE]! };
}
