/**
 * "Nothing dropped uncopied" (issue 15): when a writer reopens a store whose last
 * segment was sealed, it cuts everything after the frames (the footer) to go on
 * appending there. A footer that checks out and ends the file is derived data (`sidx
 * rebuild` gives it back byte for byte); anything else there (bytes appended after the
 * footer, a damaged footer) may be someone's data and is copied to lost+found/ first,
 * the same way recovery keeps a torn tail (cut-tail-copy.ts: idempotent, fsynced).
 */
import { decodeFooter, decodeTrailer, SIDX_TRAILER_BYTES } from '../../format/sidx.js';
import { keepCutTail } from './cut-tail-copy.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { storePaths } from '../io/layout.js';

/** Past this many bytes after the frames a warning says a large copy is being made. */
const MAX_CHECK_BYTES = 256 * 1024 * 1024;

export function keepBytesBeyondFrames(
  fs: FileSystem,
  dir: string,
  seg: { name: string; path: string },
  fd: number,
  frameEnd: number,
  clock: () => number,
  warn: (m: string) => void,
): void {
  const size = fs.fstat(fd).sizeBytes;
  if (size <= frameEnd) return;
  if (size - frameEnd > MAX_CHECK_BYTES) warn(`${seg.path}: ${size - frameEnd} bytes after the frames: copying them to lost+found/ before the cut`);
  const bytes = new Uint8Array(size - frameEnd);
  readFully(fs, fd, bytes, 0, bytes.length, frameEnd);
  if (bytes.length >= SIDX_TRAILER_BYTES) {
    const t = decodeTrailer(bytes.subarray(bytes.length - SIDX_TRAILER_BYTES), size);
    if (t.ok && t.trailer.footerStart === frameEnd && decodeFooter(bytes, t.trailer).ok) return;
  }
  const kept = keepCutTail(fs, storePaths(dir).lostFound, seg.name, frameEnd, 'after-frames', bytes, clock);
  warn(`${seg.path}: at byte ${frameEnd}: cut ${bytes.length} bytes after the frames that are not a valid footer; kept in ${kept}`);
}
