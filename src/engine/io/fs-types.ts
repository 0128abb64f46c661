/**
 * The one small filesystem interface every engine I/O goes through.
 *
 * It is synchronous on purpose: the engine is a single-writer, single-threaded
 * state machine, and a synchronous interface makes every crash point exact
 * ("crash after operation k") and every simulation deterministic.
 *
 * Errors are thrown as `FsError` with a POSIX-like `code` (ENOENT, EEXIST,
 * EIO, ENOSPC, ...), whatever the implementation.
 */
import type { Blake3 } from '../../format/hash/blake3.js';

export type OpenMode =
  /** read only; the file must exist */
  | 'r'
  /** read and write; the file must exist */
  | 'r+'
  /** read and write; create if missing, never truncate */
  | 'rw+'
  /** read and write; the file must not exist (O_CREAT | O_EXCL) */
  | 'wx'
  /** read and write; create or truncate to zero */
  | 'w';

export interface FileStat {
  sizeBytes: number;
  isDirectory: boolean;
}

/** Names of the operations, used by fault injection and operation counting. */
export type FsOpKind =
  | 'open'
  | 'close'
  | 'read'
  | 'write'
  | 'fsync'
  | 'truncate'
  | 'rename'
  | 'link'
  | 'unlink'
  | 'mkdir'
  | 'readdir'
  | 'stat'
  | 'fsyncDir';

export interface FileSystem {
  /** Returns a file descriptor (opaque integer). */
  open(path: string, mode: OpenMode): number;
  close(fd: number): void;
  /** Reads up to `length` bytes at `position`; returns bytes read (0 at EOF). */
  read(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number;
  /** Writes `length` bytes at `position`; returns bytes written (may be short). */
  write(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number;
  /** Makes the file's data durable. */
  fsync(fd: number): void;
  /**
   * Optional, a hint only: asks the filesystem to start writing a file's dirty data out
   * in the background, so a long writer's fsyncs find less to wait for (issue 18;
   * `append --file`, repair's and sidx rebuild's temp files). For a file the caller is writing through a
   * descriptor it keeps open until its own fsync of that descriptor: the background
   * write-back runs through a descriptor of its own, never the caller's. A write-back
   * error is reported once to each open file description that predates it (Linux's
   * errseq), so the caller's fsync still reports an error the hint met; a hint on the
   * caller's own descriptor would have taken that report, and its fsync returned 0.
   * Promises nothing (durability is `fsync`'s); a filesystem without it (SimFs) behaves
   * exactly as before.
   */
  startWritebackOf?(path: string): void;
  /**
   * Optional: makes the existing file `to` a copy of the whole file `from` inside the
   * kernel (copy_file_range: the bytes never pass through this process), and returns the
   * bytes copied. `to` keeps its mode, and descriptors open on it stay valid. Null when
   * the copy is not made here: the caller copies through read and write (SimFs has none;
   * `SEGLOG_KERNEL_COPY=0` turns RealFs's off).
   */
  copyFile?(from: string, to: string): number | null;
  /**
   * Optional: a writer that does a long run of positioned writes on another thread
   * (write-behind.ts; bulk appends: issue 18, round five). Null or absent: the caller
   * writes synchronously (SimFs, `SEGLOG_WRITE_BEHIND=0`). `warmOnly`: only one whose
   * thread is up already (started warm), else null.
   */
  writeBehind?(warmOnly?: boolean): BackgroundWriter | null;
  /** Sets the file's size (data of a shrink is gone; a grow adds zeros). */
  truncate(fd: number, sizeBytes: number): void;
  fstat(fd: number): FileStat;
  /** Throws FsError ENOENT when the path does not exist. */
  stat(path: string): FileStat;
  /** Atomic replace of `to` by `from`; durable only after fsyncDir of the parent(s). */
  rename(from: string, to: string): void;
  /**
   * A second name for an existing file (a hard link: the same inode, so the same bytes
   * whatever is done to either name later, short of writing into the file); EEXIST when
   * `newPath` exists, EXDEV across file systems, EPERM/ENOTSUP where links are not
   * supported. The new name is durable only after fsyncDir of its parent.
   */
  link(existingPath: string, newPath: string): void;
  /** Removes a file; durable only after fsyncDir of its parent. */
  unlink(path: string): void;
  /** Creates one directory (parent must exist); EEXIST when present. */
  mkdir(path: string): void;
  /** Names in a directory, sorted (byte order). */
  readdir(path: string): string[];
  /** Makes the directory's entries (creates, renames, unlinks) durable. */
  fsyncDir(path: string): void;
}

export class FsError extends Error {
  readonly code: string;
  readonly path: string | undefined;
  constructor(code: string, message: string, path?: string) {
    super(message);
    this.name = 'FsError';
    this.code = code;
    this.path = path;
  }
}

/**
 * A power cut, simulated: the simulated filesystem's SimCrash (src/sim/sim-fs.ts)
 * or an injection hook's error marked `crash: true`. The process is gone: nothing more
 * reaches the disk, so no cleanup is tried and the error is passed on. Known here by
 * shape rather than by class so that production code never imports the simulator.
 */
export function isCrash(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'SimCrash' || (err as { crash?: boolean } | null)?.crash === true;
}

export function isFsError(err: unknown, code?: string): err is FsError | NodeJS.ErrnoException {
  if (typeof err !== 'object' || err === null) return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string') return false;
  return code === undefined ? true : c === code;
}

/** The frames of a chunk handed to a BackgroundWriter: hashes to complete, and who to tell once written. */
export interface ChunkFrames {
  /** Whole frames in the chunk. */
  count: number;
  /** Per frame: its chain code (format/chain-hash.ts: hashes completed before the CRCs), or null: none to complete. */
  codes: Int32Array | null;
  /** Per frame: a number handed back to `written` (bulk.ts: the frame's session entity index). */
  tags: Int32Array;
  /** For bodies the SIMD kernel does not take, when the caller ends up doing the write itself. */
  single: Blake3;
  /**
   * Called in write order once the write is done (never after a failed one), with the
   * bytes written (hashes completed; CRCs maybe not) and the tags: valid during the call only.
   */
  written: ((bytes: Uint8Array, tags: Int32Array) => void) | null;
}

/**
 * Positioned writes queued to be done in order on another thread (FileSystem.writeBehind).
 * Its user must `drain` before anything that needs the bytes in the file (an fsync, a
 * read, a synchronous write after them) and `close` (or `abandon`) before closing a
 * descriptor it wrote through.
 */
export interface BackgroundWriter {
  /**
   * Queues buf[off, off + len) for `fd` at `position`; false (nothing queued, earlier writes
   * done): the caller writes it. `crcFrames`: whole frames whose CRCs it writes before the
   * write (format/frame.ts sealFrameCrcs). `frames`: their chain hashes, completed before
   * the CRCs, and a call once written. Throws an earlier write's failure.
   */
  write(fd: number, path: string, buf: Uint8Array, off: number, len: number, position: number, crcFrames?: boolean, frames?: ChunkFrames): boolean;
  /**
   * The buffer the next `write` copies into, for the caller to fill in place first (that
   * write then copies nothing): free of any earlier write once this returns, and the
   * caller's until that write (or one of another buffer) is queued. Throws an earlier
   * write's failure.
   */
  nextBuffer(): Uint8Array;
  /** The chain table `frames.codes` refer to (format/chain-hash.ts), shared with the thread. */
  readonly chainTable: Uint8Array;
  /** Waits for every queued write; throws the first failure (an FsError, as the synchronous write would have thrown). */
  drain(): void;
  /** Drains and lets the thread go. */
  close(): void;
  /** Waits for a write in progress, drops the queued ones, lets the thread go (a dying store). */
  abandon(): void;
}

/** A write call that wrote less than asked: an I/O error (a frame is never put together from several writes: segment-writer.ts). */
export function shortWrite(written: number, len: number, path: string): FsError {
  return new FsError('EIO', `short write: ${written} of ${len} bytes written`, path);
}

/** Node's error as an FsError with the same code, naming `path` (Node's own message kept). */
export function toFsError(err: unknown, op: string, path: string | undefined): FsError {
  if (err instanceof FsError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : 'EIO';
  const nodeMessage = typeof e?.message === 'string' ? e.message : String(err);
  // `CODE: description, syscall ['path']` (Node's words), re-said with the path for
  // descriptor calls too, in SimFs's format: `CODE: description, op 'path'`
  const m = /^[A-Z0-9]+: (.*?), \w+(?: '.*)?$/.exec(nodeMessage);
  const description = m === null ? nodeMessage : m[1];
  const file = path ?? (typeof e?.path === 'string' ? e.path : undefined);
  const message = file === undefined ? `${code}: ${description}, ${op}` : `${code}: ${description}, ${op} '${file}'`;
  const out = new FsError(code, message, file);
  (out as { cause?: unknown }).cause = err;
  return out;
}
