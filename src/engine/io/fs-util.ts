import { dirname } from 'node:path';
import { type FileSystem, isFsError } from './fs-types.js';

/** The largest file `readWhole` will load; bigger files must be streamed. */
export const READ_WHOLE_MAX_BYTES = 256 * 1024 * 1024;

export function exists(fs: FileSystem, path: string): boolean {
  try {
    fs.stat(path);
    return true;
  } catch (err) {
    if (isFsError(err, 'ENOENT') || isFsError(err, 'ENOTDIR')) return false;
    throw err;
  }
}

/** Reads a whole (small) file. Refuses files over `maxBytes` rather than allocating for them. */
export function readWhole(fs: FileSystem, path: string, maxBytes = READ_WHOLE_MAX_BYTES): Uint8Array {
  const fd = fs.open(path, 'r');
  try {
    const size = fs.fstat(fd).sizeBytes;
    if (size > maxBytes) {
      throw Object.assign(new Error(`${path}: ${size} bytes is over the ${maxBytes}-byte limit for this file`), {
        code: 'EFBIG',
      });
    }
    const buf = new Uint8Array(size);
    readFully(fs, fd, buf, 0, size, 0);
    return buf;
  } finally {
    fs.close(fd);
  }
}

/** Reads exactly `length` bytes unless EOF comes first; returns the count read. */
export function readFully(
  fs: FileSystem,
  fd: number,
  buf: Uint8Array,
  bufOffset: number,
  length: number,
  position: number,
): number {
  let done = 0;
  while (done < length) {
    const n = fs.read(fd, buf, bufOffset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Writes all of `length` bytes, retrying short writes; a write of 0 bytes is an I/O error. */
export function writeFully(
  fs: FileSystem,
  fd: number,
  buf: Uint8Array,
  bufOffset: number,
  length: number,
  position: number,
): void {
  let done = 0;
  while (done < length) {
    const n = fs.write(fd, buf, bufOffset + done, length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += n;
  }
}

/**
 * Replaces `path` with `bytes` atomically and durably: write a temp file beside it,
 * fsync it, rename it over, fsync the directory. A crash at any point leaves either
 * the old file or the new one (plus, at worst, a stray `.tmp` that readers ignore).
 */
export function writeFileAtomic(
  fs: FileSystem,
  path: string,
  bytes: Uint8Array,
  opts: { tmp?: string; syncDir?: boolean } = {},
): void {
  const tmp = opts.tmp ?? `${path}.tmp`;
  const fd = fs.open(tmp, 'w');
  try {
    writeFully(fs, fd, bytes, 0, bytes.length, 0);
    fs.fsync(fd);
  } finally {
    fs.close(fd);
  }
  fs.rename(tmp, path);
  // a cache may skip it: losing its new name to a power cut only costs a rebuild
  if (opts.syncDir ?? true) fs.fsyncDir(dirname(path));
}

/**
 * Creates a directory unless it exists, and makes its name durable either way: an
 * earlier attempt may have made it and then failed its parent's fsync, and a retry that
 * skipped the fsync would write durable files into a directory a power cut can take
 * (found by test/engine/faults-misc.test.ts: a retried first cursor commit was lost).
 */
export function ensureDir(fs: FileSystem, path: string): void {
  try {
    fs.mkdir(path);
  } catch (err) {
    if (!isFsError(err, 'EEXIST')) throw err;
  }
  fs.fsyncDir(dirname(path));
}
