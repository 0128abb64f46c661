import * as fs from 'node:fs';
import { type BackgroundWriter, FsError, type FileStat, type FileSystem, type OpenMode, toFsError } from './fs-types.js';
import { WriteBehind } from './write-behind.js';

const FLAGS: Record<Exclude<OpenMode, 'rw+'>, number> = {
  r: fs.constants.O_RDONLY,
  'r+': fs.constants.O_RDWR,
  wx: fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL,
  w: fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC,
};
// a+ would force appends on Linux: 'rw+' is O_CREAT|O_RDWR without O_APPEND
const RW_CREATE = fs.constants.O_RDWR | fs.constants.O_CREAT;

/** Write-back hints (RealFs.startWritebackOf) whose descriptors are still open, per thread. */
const MAX_WRITEBACK_HINTS = 32;
let hintsOutstanding = 0;

/**
 * The real filesystem, through node:fs's synchronous calls.
 *
 * Every failure is thrown as an `FsError` naming the path it concerns, also for calls
 * made on a file descriptor (Node's own errors from read/write/fstat carry no path), so
 * whatever reaches the CLI says which file failed (`seglog: <file>: read failed
 * (EISDIR) ...`) rather than being an `internal error` (issue 12, item 6).
 *
 * Only regular files and directories are opened: a FIFO named like a segment would
 * block `open` until a writer came (a hang), and a device or socket is no store file.
 * Opens are non-blocking for that reason, and anything else is refused at open with
 * EINVAL. (Directories open, as on Linux and in SimFs; reading one is EISDIR.)
 */
export class RealFs implements FileSystem {
  /** The path each open descriptor was opened with, for error messages. */
  private readonly paths = new Map<number, string>();

  open(path: string, mode: OpenMode): number {
    const flags = (mode === 'rw+' ? RW_CREATE : FLAGS[mode]) | fs.constants.O_NONBLOCK;
    const fd = wrap('open', path, () => fs.openSync(path, flags, 0o644));
    let kind: string | null;
    try {
      const s = fs.fstatSync(fd);
      kind = s.isFile() || s.isDirectory() ? null : s.isFIFO() ? 'a FIFO' : s.isSocket() ? 'a socket' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : 'something else';
    } catch (err) {
      fs.closeSync(fd);
      throw toFsError(err, 'open', path);
    }
    if (kind !== null) {
      fs.closeSync(fd);
      throw new FsError('EINVAL', `EINVAL: not a regular file but ${kind}, open '${path}'`, path);
    }
    this.paths.set(fd, path);
    return fd;
  }
  close(fd: number): void {
    const path = this.paths.get(fd);
    this.paths.delete(fd);
    wrap('close', path, () => fs.closeSync(fd));
  }
  read(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return wrap('read', this.paths.get(fd), () => fs.readSync(fd, buf, bufOffset, length, position));
  }
  write(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return wrap('write', this.paths.get(fd), () => fs.writeSync(fd, buf, bufOffset, length, position));
  }
  fsync(fd: number): void {
    wrap('fsync', this.paths.get(fd), () => fs.fsyncSync(fd));
  }
  /**
   * FileSystem.startWritebackOf: a descriptor of its own for `path` (read-only, so no
   * writer's), an fdatasync of it on libuv's thread pool, and the descriptor closed only
   * when that is over: closed earlier, its number could name the next file opened, and
   * the queued fdatasync would run on that file's description instead. The callback runs
   * when the calling thread's event loop next turns (for a synchronous job, after it), so
   * at most MAX_WRITEBACK_HINTS are outstanding; beyond that the hint does nothing.
   * `SEGLOG_EARLY_WRITEBACK=0` turns it off.
   */
  startWritebackOf(path: string): void {
    if (process.env.SEGLOG_EARLY_WRITEBACK === '0' || hintsOutstanding >= MAX_WRITEBACK_HINTS) return;
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      return; // a hint: the caller's fsync is what counts
    }
    hintsOutstanding++;
    fs.fdatasync(fd, () => {
      hintsOutstanding--;
      fs.close(fd, () => undefined);
    });
  }
  /** FileSystem.writeBehind: a thread of its own for bulk chunk writes (write-behind.ts; `SEGLOG_WRITE_BEHIND=0` off). */
  writeBehind(warmOnly = false): BackgroundWriter | null {
    return WriteBehind.start(warmOnly);
  }
  /**
   * FileSystem.copyFile: Node's copyFileSync (libuv: copy_file_range on Linux, in the
   * kernel; ~30 ms for 64 MiB here against ~60-150 ms through an 8 MiB buffer), which
   * also gives `to` the mode of `from`: its own mode is put back.
   */
  copyFile(from: string, to: string): number | null {
    if (process.env.SEGLOG_KERNEL_COPY === '0') return null;
    const mode = wrap('stat', to, () => fs.statSync(to)).mode & 0o7777;
    wrap('copyfile', from, () => fs.copyFileSync(from, to));
    wrap('chmod', to, () => fs.chmodSync(to, mode));
    return wrap('stat', to, () => fs.statSync(to)).size;
  }
  truncate(fd: number, sizeBytes: number): void {
    wrap('truncate', this.paths.get(fd), () => fs.ftruncateSync(fd, sizeBytes));
  }
  fstat(fd: number): FileStat {
    const s = wrap('fstat', this.paths.get(fd), () => fs.fstatSync(fd));
    return { sizeBytes: s.size, isDirectory: s.isDirectory() };
  }
  stat(path: string): FileStat {
    const s = wrap('stat', path, () => fs.statSync(path));
    return { sizeBytes: s.size, isDirectory: s.isDirectory() };
  }
  rename(from: string, to: string): void {
    wrap('rename', from, () => fs.renameSync(from, to));
  }
  link(existingPath: string, newPath: string): void {
    wrap('link', newPath, () => fs.linkSync(existingPath, newPath));
  }
  unlink(path: string): void {
    wrap('unlink', path, () => fs.unlinkSync(path));
  }
  mkdir(path: string): void {
    wrap('mkdir', path, () => fs.mkdirSync(path));
  }
  readdir(path: string): string[] {
    return wrap('readdir', path, () => fs.readdirSync(path)).sort();
  }
  fsyncDir(path: string): void {
    const fd = wrap('open', path, () => fs.openSync(path, 'r'));
    try {
      wrap('fsync', path, () => fs.fsyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
  }
}

function wrap<T>(op: string, path: string | undefined, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw toFsError(err, op, path);
  }
}
