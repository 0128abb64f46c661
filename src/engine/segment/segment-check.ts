/**
 * A file given on its own to a command that works on segments (`sidx show|strip|rebuild`):
 * refuse it when it does not start like a segment, rather than report "no footer" and
 * exit 0 on, say, a 2-byte file (issue 15). Not a segment at all (too short, bad magic):
 * `bad_input`, exit 2; a segment whose header is damaged (checksum, version): `corrupt`,
 * exit 1, as verify's bad_header.
 */
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { SeglogError } from '../io/errors.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import type { Target } from './target.js';

export function requireSegmentHeaders(fs: FileSystem, target: Target): void {
  if (target.kind !== 'segment') return;
  const file = target.file;
  const buf = new Uint8Array(SEGMENT_HEADER_BYTES);
  const fd = fs.open(file, 'r');
  let n: number;
  try {
    const size = fs.fstat(fd).sizeBytes;
    n = Math.min(size, SEGMENT_HEADER_BYTES);
    readFully(fs, fd, buf, 0, n, 0);
  } finally {
    fs.close(fd);
  }
  const h = decodeSegmentHeader(buf.subarray(0, n));
  if (h.ok) return;
  if (h.reason === 'short' || h.reason === 'magic') throw new SeglogError('bad_input', `not a seglog segment: ${h.message}`, { file });
  throw new SeglogError('corrupt', `bad segment header: ${h.message}`, { file, offset: 0 });
}
