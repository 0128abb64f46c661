/**
 * Loading a key/value snapshot file (docs/FORMAT.md section 10): header, BLAKE3 of the
 * whole, entries that add up exactly, streamed (see loadSnapshotSync). What a snapshot
 * means and when it is used is snapshot.ts's.
 */
import type { IHasher } from 'hash-wasm';
import {
  decodeSnapshotHeader,
  entryKeyBytes,
  entryValueBytes,
  entryVersion,
  SNAPSHOT_ENTRY_FIXED_BYTES,
  SNAPSHOT_HASH_BYTES,
  SNAPSHOT_HEADER_BYTES,
  SNAPSHOT_MAX_BYTES,
  type SnapshotHeader,
} from '../../format/snapshot.js';
import { ioError, SeglogError } from '../io/errors.js';
import type { FileSystem } from '../io/fs-types.js';
import { readFully } from '../io/fs-util.js';
import { KvState } from './kv-state.js';

export interface LoadedSnapshot {
  file: string;
  header: SnapshotHeader;
  state: KvState;
}

/** The loader reads a snapshot this many bytes at a time (an entry longer than this gets a buffer of its size). */
const LOAD_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * `headerOnly`: check the whole file's BLAKE3 and the header, but build no state (an empty one).
 *
 * The file is streamed, LOAD_CHUNK_BYTES at a time, hashed as it is read and parsed from
 * the same bytes: it used to be read whole, and the file's bytes (36 MB for 1M keys) were
 * then on top of the state they became (issue 18: peak RSS under 200 MB). What a caller
 * sees is the same as with a whole read: a file whose BLAKE3 does not match is reported
 * as that, even when its entries also do not add up (the rest is hashed before a parse
 * error is thrown), and no state is returned unless everything checks out.
 */
export function loadSnapshotSync(fs: FileSystem, path: string, keepValues: boolean, h: IHasher, headerOnly = false, chunkBytes = LOAD_CHUNK_BYTES): LoadedSnapshot {
  const bad = (why: string): SeglogError => new SeglogError('corrupt', `snapshot is damaged: ${why}`, { file: path });
  let fd: number;
  let size: number;
  try {
    fd = fs.open(path, 'r');
  } catch (err) {
    throw ioError(err, path, 'read the snapshot');
  }
  try {
    try {
      size = fs.fstat(fd).sizeBytes;
    } catch (err) {
      throw ioError(err, path, 'read the snapshot');
    }
    if (size > SNAPSHOT_MAX_BYTES) {
      throw ioError(Object.assign(new Error(`${path}: ${size} bytes is over the ${SNAPSHOT_MAX_BYTES}-byte limit for this file`), { code: 'EFBIG' }), path, 'read the snapshot');
    }
    const r = new SnapshotStream(fs, fd, path, size, h, chunkBytes);
    // at least the header and the hash (a window smaller than that grows to hold them)
    r.fill(0, Math.min(size, Math.max(chunkBytes, SNAPSHOT_HEADER_BYTES + SNAPSHOT_HASH_BYTES)));
    const header = decodeSnapshotHeader(r.buf.subarray(0, r.bufLen));
    if (typeof header === 'string') throw bad(header);
    const bodyEnd = size - SNAPSHOT_HASH_BYTES;
    // every entry is at least its fixed part: a count the file cannot hold is not believed
    const state = new KvState(headerOnly ? 0 : Math.min(header.entryCount, Math.floor((bodyEnd - SNAPSHOT_HEADER_BYTES) / SNAPSHOT_ENTRY_FIXED_BYTES)));
    let parseError: string | null = null;
    if (!headerOnly) {
      let at = SNAPSHOT_HEADER_BYTES;
      for (let n = 0; n < header.entryCount && parseError === null; n++) {
        if (at + SNAPSHOT_ENTRY_FIXED_BYTES > bodyEnd) {
          parseError = `entry ${n} runs past the end`;
          break;
        }
        r.fill(at, SNAPSHOT_ENTRY_FIXED_BYTES);
        let o = at - r.bufStart;
        const k = entryKeyBytes(r.buf, o);
        const v = entryValueBytes(r.buf, o);
        const version = entryVersion(r.buf, o);
        const keyAt = at + SNAPSHOT_ENTRY_FIXED_BYTES;
        if (keyAt + k + v > bodyEnd) {
          parseError = `entry ${n} runs past the end`;
          break;
        }
        r.fill(at, SNAPSHOT_ENTRY_FIXED_BYTES + k + v);
        o = keyAt - r.bufStart;
        if (keepValues) state.put(r.buf, o, k, version, r.buf, o + k, v);
        else state.put(r.buf, o, k, version);
        at = keyAt + k + v;
      }
      if (parseError === null && at !== bodyEnd) parseError = `${bodyEnd - at} bytes after the last entry`;
    }
    // the rest of the body is hashed, then the digest read and compared
    r.fill(bodyEnd, SNAPSHOT_HASH_BYTES);
    const digest = h.digest('binary');
    const o = bodyEnd - r.bufStart;
    for (let i = 0; i < SNAPSHOT_HASH_BYTES; i++) if (digest[i] !== r.buf[o + i]) throw bad('BLAKE3 of the file does not match');
    if (parseError !== null) throw bad(parseError);
    if (!headerOnly && state.size !== header.entryCount) throw bad('a key is listed twice');
    return { file: path, header, state };
  } finally {
    fs.close(fd);
  }
}

/**
 * A window over a snapshot file being read front to back: `fill(pos, n)` makes
 * file[pos, pos + n) be buf[pos - bufStart, ...) (pos never goes back), and every byte
 * before the file's trailing hash is fed to the hasher exactly once, in order, as it is read.
 */
class SnapshotStream {
  buf: Buffer;
  /** File offset of buf[0]. */
  bufStart = 0;
  /** Valid bytes in buf. */
  bufLen = 0;
  private readonly bodyEnd: number;
  constructor(
    private readonly fs: FileSystem,
    private readonly fd: number,
    private readonly path: string,
    private readonly size: number,
    private readonly h: IHasher,
    /** The window's size (LOAD_CHUNK_BYTES; tests pass small ones so entries straddle windows). */
    chunkBytes: number,
  ) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
    this.bodyEnd = size - SNAPSHOT_HASH_BYTES;
    h.init();
  }

  /** Callers check that [pos, pos + n) lies inside the file first. */
  fill(pos: number, n: number): void {
    if (pos + n <= this.bufStart + this.bufLen) return;
    // bytes between the window's end and pos (a header-only load skips the entries) are
    // read and hashed too: every byte before the hash goes through the hasher once, in order
    while (this.bufStart + this.bufLen < pos) {
      this.bufStart += this.bufLen;
      this.bufLen = 0;
      this.readAtLeast(Math.min(this.buf.length, pos - this.bufStart));
    }
    const end = this.bufStart + this.bufLen;
    if (pos + n <= end) return;
    // keep what is still ahead, at the front
    const keep = end - pos;
    if (keep > 0) this.buf.copy(this.buf, 0, pos - this.bufStart, this.bufLen);
    this.bufStart = pos;
    this.bufLen = keep;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(n);
      this.buf.copy(bigger, 0, 0, this.bufLen);
      this.buf = bigger;
    }
    this.readAtLeast(n);
  }

  /** Reads after the window's valid bytes until it holds `n` (each read as much as fits, never past the file's end). */
  private readAtLeast(n: number): void {
    while (this.bufLen < n) {
      const from = this.bufStart + this.bufLen;
      const want = Math.min(this.buf.length - this.bufLen, this.size - from);
      let got: number;
      try {
        got = readFully(this.fs, this.fd, this.buf, this.bufLen, want, from);
      } catch (err) {
        throw ioError(err, this.path, 'read the snapshot');
      }
      if (got < want || want === 0) throw ioError(Object.assign(new Error(`${this.path}: file shrank while being read`), { code: 'EIO' }), this.path, 'read the snapshot');
      const hashEnd = Math.min(from + got, this.bodyEnd);
      if (hashEnd > from) this.h.update(this.buf.subarray(this.bufLen, this.bufLen + (hashEnd - from)));
      this.bufLen += got;
    }
  }
}
