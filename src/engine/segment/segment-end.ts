import { decodeTrailer, isFooterHead, SIDX_TRAILER_BYTES, type SidxTrailer } from '../../format/sidx.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import type { SegmentReader } from './segment-reader.js';

/**
 * What the end of a segment file holds.
 * - absent: no SIDX magic at the end; every byte after the header is frames.
 * - present: a trailer whose magic, checksum and bounds check out; frames end at its
 *   footer start. The footer body is not read here (see engine/index/sidx.ts `readFooter`):
 *   a damaged body is an index problem, never a reason to doubt where frames end.
 * - damaged: SIDX magic at the end but the trailer fails its checks. Frames are read
 *   up to the file size; the walker recognises the footer's head where frames stop.
 */
export type FooterProbe =
  | { status: 'absent'; frameEnd: number; fileSize: number }
  | { status: 'present'; frameEnd: number; fileSize: number; trailer: SidxTrailer }
  | { status: 'damaged'; frameEnd: number; fileSize: number; message: string };

/** Reads only the last SIDX_TRAILER_BYTES of the file. */
export function probeFooter(fs: FileSystem, fd: number, sizeBytes: number): FooterProbe {
  if (sizeBytes < SIDX_TRAILER_BYTES) return { status: 'absent', frameEnd: sizeBytes, fileSize: sizeBytes };
  const t = new Uint8Array(SIDX_TRAILER_BYTES);
  if (readFully(fs, fd, t, 0, t.length, sizeBytes - SIDX_TRAILER_BYTES) !== t.length) {
    return { status: 'absent', frameEnd: sizeBytes, fileSize: sizeBytes };
  }
  const r = decodeTrailer(t, sizeBytes);
  if (r.ok) return { status: 'present', frameEnd: r.trailer.footerStart, fileSize: sizeBytes, trailer: r.trailer };
  if (r.reason === 'no_magic') return { status: 'absent', frameEnd: sizeBytes, fileSize: sizeBytes };
  return { status: 'damaged', frameEnd: sizeBytes, fileSize: sizeBytes, message: r.message };
}

/** Where a segment's frames end: its size, or the start of a SIDX footer whose trailer checks out. */
export function frameEndOf(fs: FileSystem, fd: number, sizeBytes: number): number {
  return probeFooter(fs, fd, sizeBytes).frameEnd;
}

/**
 * Whether a SIDX footer head starts at `offset` (where frames stopped being valid). Its
 * first 8 bytes (magic, version, reserved zeros) suffice: a footer cut short by a crash
 * while it was written is still recognised as one.
 */
export function footerHeadAt(r: SegmentReader, offset: number): boolean {
  if (r.fileSize - offset < FOOTER_HEAD_CHECK_BYTES) return false;
  const head = r.readRange(offset, offset + FOOTER_HEAD_CHECK_BYTES);
  return isFooterHead(head, 0, head.length);
}

/** Bytes of a footer head that identify it (see isFooterHead). */
const FOOTER_HEAD_CHECK_BYTES = 8;
