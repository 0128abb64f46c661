/**
 * Streaming byte copies through the FileSystem interface (so simulations can crash
 * them): whole files for backups, ranges for lost+found/. Memory stays bounded by
 * COPY_CHUNK_BYTES whatever the size.
 */
import { crc32c } from '../../format/hash/crc32c.js';
import type { FileSystem, OpenMode } from '../../engine/io/fs-types.js';
import { readFully, writeFully } from '../../engine/io/fs-util.js';

export const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Copies bytes [start, end) of the open file `srcFd` into a new file at `destPath`
 * (opened with `mode`), fsyncs it and returns the CRC-32C of what was copied. The
 * destination's name is made durable by the caller (one fsyncDir for many files).
 */
export function copyRangeToFile(fs: FileSystem, srcFd: number, start: number, end: number, destPath: string, mode: OpenMode): number {
  const out = fs.open(destPath, mode);
  try {
    const buf = new Uint8Array(Math.min(COPY_CHUNK_BYTES, Math.max(0, end - start)));
    let crc = 0;
    for (let pos = start; pos < end; ) {
      const n = Math.min(buf.length, end - pos);
      const got = readFully(fs, srcFd, buf, 0, n, pos);
      if (got !== n) throw Object.assign(new Error(`source ended at byte ${pos + got}, expected ${end}`), { code: 'EIO' });
      writeFully(fs, out, buf, 0, n, pos - start);
      crc = crc32c(buf, 0, n, crc);
      pos += n;
    }
    fs.fsync(out);
    return crc;
  } finally {
    fs.close(out);
  }
}

/** Size of a file by path. */
export function fileSize(fs: FileSystem, path: string): number {
  return fs.stat(path).sizeBytes;
}
