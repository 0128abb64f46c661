import { crc32c } from './hash/crc32c.js';
import { readU16, readU32, readU64, writeU16, writeU32, writeU64 } from './bytes.js';

/** "SGLG" read as bytes 0x53 0x47 0x4C 0x47. */
export const SEGMENT_MAGIC = Uint8Array.of(0x53, 0x47, 0x4c, 0x47);
export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
/** Offset of the header CRC; it covers bytes [0, 28). */
const HEADER_CRC_OFFSET = 28;

export interface SegmentHeader {
  formatVersion: number;
  segmentId: number;
  /** Global sequence the segment's first event has (or would have). */
  firstSeq: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_BYTES);
  b.set(SEGMENT_MAGIC, 0);
  writeU16(b, 4, h.formatVersion);
  writeU16(b, 6, 0);
  writeU64(b, 8, h.segmentId);
  writeU64(b, 16, h.firstSeq);
  writeU32(b, 24, 0);
  writeU32(b, HEADER_CRC_OFFSET, crc32c(b, 0, HEADER_CRC_OFFSET));
  return b;
}

export type HeaderResult =
  | { ok: true; header: SegmentHeader }
  | { ok: false; reason: 'short' | 'magic' | 'crc' | 'version'; message: string };

/** Decodes and checks a segment header from the first bytes of a file. */
export function decodeSegmentHeader(buf: Uint8Array): HeaderResult {
  if (buf.length < SEGMENT_HEADER_BYTES) {
    return { ok: false, reason: 'short', message: `file is ${buf.length} bytes, shorter than the ${SEGMENT_HEADER_BYTES}-byte segment header` };
  }
  for (let i = 0; i < 4; i++) {
    if (buf[i] !== SEGMENT_MAGIC[i]) return { ok: false, reason: 'magic', message: 'not a seglog segment (bad magic)' };
  }
  const stored = readU32(buf, HEADER_CRC_OFFSET);
  const actual = crc32c(buf, 0, HEADER_CRC_OFFSET);
  if (stored !== actual) return { ok: false, reason: 'crc', message: 'segment header checksum mismatch' };
  const formatVersion = readU16(buf, 4);
  if (formatVersion !== SEGMENT_FORMAT_VERSION) {
    return { ok: false, reason: 'version', message: `unsupported segment format version ${formatVersion}` };
  }
  return { ok: true, header: { formatVersion, segmentId: readU64(buf, 8), firstSeq: readU64(buf, 16) } };
}
