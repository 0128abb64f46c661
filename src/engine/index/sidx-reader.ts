/**
 * Reading a SIDX footer back (docs/FORMAT.md section 2.5): probe the trailer, load and
 * decode the whole footer when it checks out, and read entries and markers in place.
 */
import { readU16, readU32, readU64 } from '../../format/bytes.js';
import { decodeSegmentHeader, type HeaderResult, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { decodeFooter, SE, SIDX_ENTRY_BYTES, SIDX_MARKER_BYTES, SIDX_TRAILER_BYTES, SM, type SidxFooter } from '../../format/sidx.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { probeFooter, type FooterProbe } from '../segment/segment-end.js';

/** Largest footer a reader loads whole: a 4 GiB segment of minimal frames stays below it. */
export const MAX_FOOTER_BYTES = 2 * 1024 * 1024 * 1024 - 1;

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

