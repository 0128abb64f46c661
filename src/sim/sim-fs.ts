/*
 * Over 500 lines, knowingly: the simulated disk is one state machine (inodes, page
 * cache, directory entries, the crash model, fault injection) whose invariants span all
 * of it; split, each part would need the others' internals.
 */
/**
 * SimFs: an in-memory simulated disk with a power-cut crash model, deterministic from a seed.
 *
 * ## State model
 * Names map to inodes; a file's bytes belong to its inode, so a renamed file keeps its data.
 * Every inode has two layers:
 * - volatile: what the running process sees. Every write, truncate, create, rename, link, unlink and
 *   mkdir applies to it at once.
 * - durable: what a power cut cannot take away.
 *   - A file's durable content is its content at its last `fsync` (or its load). It is not stored
 *     separately: the file keeps an undo log of the writes and truncates made since that fsync
 *     (`unsynced`), each with the bytes it replaced, and a crash rolls the log back. That makes
 *     `fsync` O(1) and a write O(its length), whatever the file size.
 *   - A directory's durable entry table is its entry table at its last `fsyncDir` (or an `fsync`
 *     of an fd opened on it). A new directory starts with an empty durable table.
 *   A name (create, rename, link, unlink, mkdir) is therefore durable only once its parent directory was
 *   fsynced; for a rename across directories, each side becomes durable with its own directory.
 *   `fsync` of a file makes its data durable, never its name. A file with several names (`link`)
 *   is one inode: its bytes survive while any durable name still reaches it.
 *
 * ## crash(mode, seed?)
 * The new state is built from the durable directory tables (volatile tables in `cut`), starting at
 * the root; inodes no longer reachable are gone. For every surviving file with unsynced operations:
 * - `cut`: every operation survived; the volatile state becomes durable as is, names included.
 * - `lose-unsynced`: none survived; only fsynced data under fsyncDir'ed names remains.
 * - `torn`: durable names. A seeded prefix of the file's unsynced operations (writes and
 *   truncates, in order) survived. If the first lost operation is a write, with probability 1/2 it
 *   was torn at a seeded byte `t` inside it: its bytes before the 512-byte file sector holding `t`
 *   are kept, the part of that sector it covers is seeded garbage, and the rest of it is lost.
 *   Garbage never lands outside the torn write's range, so fsynced bytes and bytes past the write's
 *   end are never damaged, and the file never grows past the write's end.
 * - `reorder`: durable names. Each unsynced operation (write or truncate) independently survived
 *   with probability 1/2 (any subset, not only a prefix); the survivors are applied in their
 *   original order. A later write kept without an earlier one leaves a zero-filled hole.
 * After a crash nothing is unsynced (volatile == durable), every open fd is invalid (EBADF), an
 * armed `crashAfter` is cleared and the fs runs again. Armed faults stay armed (see `clearFaults`).
 * Randomness comes from `seed` when given, else from the fs's own seeded generator; files are
 * visited in inode order, so a seed always yields the same state.
 *
 * ## Operation counting and crashAfter
 * Every interface call counts in `opCount` (fstat counts as kind 'stat'), whether it succeeds or
 * throws, except calls refused with SimCrash. The *mutating* operations, counted 0-based by
 * `mutatingOpCount`, are every call of: `open` with mode 'rw+', 'wx' or 'w' (modes that may create
 * or truncate, counted whether or not the file existed), `write`, `fsync`, `truncate`, `rename`,
 * `link`, `unlink`, `mkdir`, `fsyncDir`. Calls count whatever their outcome (an injected fault or an
 * ENOENT included). `crashAfter(k)` makes mutating call number k complete (its effect, or its
 * error, applies) and then throw `SimCrash` instead of returning; every later call throws SimCrash
 * without effect until `crash(mode)` is called.
 *
 * ## Faults
 * `failNext(kind, { code, after, path, times })`: the (after+1)-th call of `kind` whose path
 * matches fails, and so do the `times - 1` matching calls after it. EIO, ENOSPC and EXDEV (link
 * and rename only: the other name is on another file system) throw FsError before the call has
 * any effect. SHORT (read and write only) transfers floor(length/2) bytes and
 * returns that count (0 when length < 2). Fd calls match on the path the fd was opened with, a
 * rename on either of its paths. Unlike Linux, a failed fsync leaves the pages dirty (no effect).
 */
import { copyBytes } from '../format/bytes.js';
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { join as joinNative, posix } from 'node:path';
import { type FileStat, type FileSystem, type FsOpKind, FsError, type OpenMode } from '../engine/io/fs-types.js';

export const SECTOR_SIZE_BYTES = 512;

export type CrashMode = 'cut' | 'lose-unsynced' | 'torn' | 'reorder';
export const CRASH_MODES: readonly CrashMode[] = ['cut', 'lose-unsynced', 'torn', 'reorder'];

export type FaultCode = 'EIO' | 'ENOSPC' | 'SHORT' | 'EXDEV';

export interface FaultOptions {
  /** Default 'EIO'. SHORT applies to 'read' and 'write' only; EXDEV (another file system) to 'link' and 'rename'. */
  code?: FaultCode;
  /** Matching calls to let through before failing; default 0 (the next one fails). */
  after?: number;
  /** Only calls on this path (exact, after normalisation) or matching this pattern. */
  path?: string | RegExp;
  /** How many matching calls fail, consecutively; default 1. */
  times?: number;
}

export type OpHook = (index: number, kind: FsOpKind, path: string) => void;

/** Thrown at and after the armed crash point: the simulated machine has lost power. */
export class SimCrash extends Error {
  /** The 0-based mutating operation after which the power was cut. */
  readonly mutatingOpIndex: number;
  constructor(mutatingOpIndex: number) {
    super(`simulated power cut after mutating operation ${mutatingOpIndex}; call crash(mode) to restart`);
    this.name = 'SimCrash';
    this.mutatingOpIndex = mutatingOpIndex;
  }
}

/** mulberry32: tiny, fast and good enough to pick crash states; never Math.random. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor((this.nextUint32() / 0x1_0000_0000) * bound);
  }
  nextBool(): boolean {
    return (this.nextUint32() & 1) === 1;
  }
  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.nextUint32() & 0xff;
  }
}

/**
 * A file's bytes: a buffer that grows by doubling, plus a length. Bytes past `sizeBytes` are kept
 * zero, so extending a file (by a write past EOF or a truncate) needs no fill.
 */
class ByteStore {
  private data: Uint8Array;
  private lengthBytes: number;
  /** Set once a snapshot or another fs may hold this store: holders clone before mutating. */
  shared = false;

  constructor(data: Uint8Array = new Uint8Array(0), lengthBytes: number = data.length) {
    this.data = data;
    this.lengthBytes = lengthBytes;
  }
  get sizeBytes(): number {
    return this.lengthBytes;
  }
  view(): Uint8Array {
    return this.data.subarray(0, this.lengthBytes);
  }
  /** A copy of [start, end) clipped to the file. */
  copyRange(start: number, end: number): Uint8Array {
    const clippedEnd = Math.min(end, this.lengthBytes);
    return clippedEnd > start ? copyBytes(this.data, start, clippedEnd) : new Uint8Array(0);
  }
  read(position: number, dst: Uint8Array, dstOffset: number, length: number): number {
    const count = Math.max(0, Math.min(length, this.lengthBytes - position));
    dst.set(this.data.subarray(position, position + count), dstOffset);
    return count;
  }
  write(position: number, src: Uint8Array): void {
    // An empty write must not extend the file (pwrite of 0 bytes does not), nor must an empty undo.
    if (src.length === 0) return;
    const end = position + src.length;
    this.ensureCapacity(end);
    this.data.set(src, position);
    if (end > this.lengthBytes) this.lengthBytes = end;
  }
  truncate(sizeBytes: number): void {
    if (sizeBytes < this.lengthBytes) this.data.fill(0, sizeBytes, this.lengthBytes);
    else this.ensureCapacity(sizeBytes);
    this.lengthBytes = sizeBytes;
  }
  clone(): ByteStore {
    const copy = new Uint8Array(this.lengthBytes);
    copy.set(this.view());
    return new ByteStore(copy, this.lengthBytes);
  }
  private ensureCapacity(sizeBytes: number): void {
    if (sizeBytes <= this.data.length) return;
    const grown = new Uint8Array(Math.max(sizeBytes, this.data.length * 2, 4096));
    grown.set(this.view());
    this.data = grown;
  }
}

/** An unsynced operation, with what it replaced so a crash can roll it back. */
type PendingOp =
  | { kind: 'write'; positionBytes: number; bytes: Uint8Array; prevSizeBytes: number; overwritten: Uint8Array }
  | { kind: 'truncate'; sizeBytes: number; prevSizeBytes: number; cut: Uint8Array };

interface FileNode {
  kind: 'file';
  content: ByteStore;
  /** Undo log since the last fsync, oldest first; never mutated once pushed (snapshots share it). */
  unsynced: PendingOp[];
}

interface DirNode {
  kind: 'dir';
  entries: Map<string, number>;
  durableEntries: Map<string, number>;
}

type Inode = FileNode | DirNode;

interface OpenFile {
  inodeId: number;
  path: string;
  writable: boolean;
}

interface FsState {
  inodes: Map<number, Inode>;
  nextInodeId: number;
  fds: Map<number, OpenFile>;
  nextFd: number;
  opCount: number;
  mutatingOpCount: number;
}

const ROOT_ID = 0;
const CREATING_MODES: ReadonlySet<OpenMode> = new Set<OpenMode>(['rw+', 'wx', 'w']);
const ERROR_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EBADF: 'bad file descriptor',
  EINVAL: 'invalid argument',
  EPERM: 'operation not permitted',
  ENOTEMPTY: 'directory not empty',
  EIO: 'i/o error (injected)',
  ENOSPC: 'no space left on device (injected)',
  EXDEV: 'cross-device link not permitted (injected)',
};

function fsError(code: string, op: string, path: string): FsError {
  return new FsError(code, `${code}: ${ERROR_TEXT[code] ?? 'error'}, ${op} '${path}'`, path);
}

/** Absolute, normalised, no trailing slash. Relative paths are refused: the sim has no cwd. */
function normalisePath(path: string): string {
  if (!path.startsWith('/')) throw fsError('EINVAL', 'resolve', path);
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** For hooks and fault matching, which must not throw on a bad path. */
function displayPath(path: string): string {
  return path.startsWith('/') ? normalisePath(path) : path;
}

function splitParent(path: string): { parentPath: string; name: string } {
  return { parentPath: posix.dirname(path), name: posix.basename(path) };
}

function checkPosition(value: number, op: string, path: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw fsError('EINVAL', op, path);
}

function checkBufferRange(buf: Uint8Array, bufOffset: number, length: number): void {
  if (!Number.isSafeInteger(bufOffset) || !Number.isSafeInteger(length) || bufOffset < 0 || length < 0) {
    throw new RangeError(`bad buffer range: offset ${bufOffset}, length ${length}`);
  }
  if (bufOffset + length > buf.length) {
    throw new RangeError(`buffer range ${bufOffset}+${length} exceeds its ${buf.length} bytes`);
  }
}

function shortCount(length: number): number {
  return length >= 2 ? Math.floor(length / 2) : 0;
}

// ---- file content operations (shared by the live path and crash replay) ----

function makeWriteOp(content: ByteStore, positionBytes: number, bytes: Uint8Array): PendingOp {
  return {
    kind: 'write',
    positionBytes,
    bytes,
    prevSizeBytes: content.sizeBytes,
    overwritten: content.copyRange(positionBytes, positionBytes + bytes.length),
  };
}

function makeTruncateOp(content: ByteStore, sizeBytes: number): PendingOp {
  return { kind: 'truncate', sizeBytes, prevSizeBytes: content.sizeBytes, cut: content.copyRange(sizeBytes, Infinity) };
}

function applyOp(content: ByteStore, op: PendingOp): void {
  if (op.kind === 'write') content.write(op.positionBytes, op.bytes);
  else content.truncate(op.sizeBytes);
}

function undoOp(content: ByteStore, op: PendingOp): void {
  if (op.kind === 'write') {
    content.write(op.positionBytes, op.overwritten);
    content.truncate(op.prevSizeBytes);
  } else {
    content.truncate(op.prevSizeBytes);
    content.write(op.sizeBytes, op.cut);
  }
}

/** Applies the kept part of a torn write: whole sectors before the tear, garbage in the torn one. */
function applyTornWrite(content: ByteStore, op: PendingOp & { kind: 'write' }, rng: Prng): void {
  const start = op.positionBytes;
  const end = start + op.bytes.length;
  const tearAt = start + rng.nextInt(op.bytes.length);
  const sectorStart = Math.floor(tearAt / SECTOR_SIZE_BYTES) * SECTOR_SIZE_BYTES;
  const keptEnd = Math.max(start, sectorStart);
  const garbageEnd = Math.min(end, sectorStart + SECTOR_SIZE_BYTES);
  content.write(start, op.bytes.subarray(0, keptEnd - start));
  const garbage = new Uint8Array(garbageEnd - keptEnd);
  rng.fill(garbage);
  content.write(keptEnd, garbage);
}

// ---- state copying (snapshots and forks) ----

function shareContent(content: ByteStore): ByteStore {
  content.shared = true;
  return content;
}

function copyInode(node: Inode): Inode {
  if (node.kind === 'file') return { kind: 'file', content: shareContent(node.content), unsynced: [...node.unsynced] };
  return { kind: 'dir', entries: new Map(node.entries), durableEntries: new Map(node.durableEntries) };
}

function copyState(state: FsState): FsState {
  const inodes = new Map<number, Inode>();
  for (const [id, node] of state.inodes) inodes.set(id, copyInode(node));
  const fds = new Map<number, OpenFile>();
  for (const [fd, open] of state.fds) fds.set(fd, { ...open });
  return { ...state, inodes, fds };
}

function emptyState(): FsState {
  const root: DirNode = { kind: 'dir', entries: new Map(), durableEntries: new Map() };
  return {
    inodes: new Map<number, Inode>([[ROOT_ID, root]]),
    nextInodeId: ROOT_ID + 1,
    fds: new Map(),
    nextFd: 3,
    opCount: 0,
    mutatingOpCount: 0,
  };
}

/** A frozen copy of a SimFs's whole state (durable and volatile, open fds, counters). */
export class SimSnapshot {
  /** @internal Treat as opaque; SimFs.fromSnapshot copies it again, so one snapshot forks many times. */
  readonly state: FsState;
  constructor(state: FsState) {
    this.state = state;
  }
}

interface ArmedFault {
  kind: FsOpKind;
  code: FaultCode;
  path: string | RegExp | undefined;
  skipRemaining: number;
  timesRemaining: number;
}

/** The armed faults, each counting the calls that match it. */
class FaultPlan {
  private faults: ArmedFault[] = [];

  arm(kind: FsOpKind, opts: FaultOptions): void {
    const code = opts.code ?? 'EIO';
    const after = opts.after ?? 0;
    const times = opts.times ?? 1;
    if (code === 'SHORT' && kind !== 'write' && kind !== 'read') {
      throw new RangeError(`a SHORT fault applies to read and write, not ${kind}`);
    }
    if (code === 'EXDEV' && kind !== 'link' && kind !== 'rename') {
      throw new RangeError(`an EXDEV fault applies to link and rename, not ${kind}`);
    }
    if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`after must be an integer >= 0: ${after}`);
    if (!Number.isSafeInteger(times) || times < 1) throw new RangeError(`times must be an integer >= 1: ${times}`);
    // A global or sticky RegExp keeps state between test() calls; matching must not.
    const path =
      opts.path instanceof RegExp ? new RegExp(opts.path.source, opts.path.flags.replace(/[gy]/g, '')) : opts.path;
    this.faults.push({
      kind,
      code,
      path: typeof path === 'string' ? normalisePath(path) : path,
      skipRemaining: after,
      timesRemaining: times,
    });
  }

  clear(): void {
    this.faults = [];
  }

  /** Counts this call against every matching fault; returns the code of the first one due. */
  take(kind: FsOpKind, paths: readonly string[]): FaultCode | undefined {
    let fired: FaultCode | undefined;
    for (const fault of this.faults) {
      if (fault.kind !== kind || !paths.some((p) => matchesPath(fault.path, p))) continue;
      if (fault.skipRemaining > 0) {
        fault.skipRemaining--;
      } else if (fired === undefined) {
        fired = fault.code;
        fault.timesRemaining--;
      }
    }
    if (fired !== undefined) this.faults = this.faults.filter((f) => f.timesRemaining > 0);
    return fired;
  }
}

function matchesPath(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? pattern === path : pattern.test(path);
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class SimFs implements FileSystem {
  /** Called before every counted operation with its 0-based index in `opCount`. */
  onOp: OpHook | undefined;

  private state: FsState = emptyState();
  private readonly rng: Prng;
  private readonly faults = new FaultPlan();
  private crashAtMutatingIndex: number | undefined;
  private haltedAfter: number | undefined;
  /** Inode count after the last garbage collection; collect again when it has doubled. */
  private inodeCountAfterGc = 1;

  constructor(seed = 1) {
    this.rng = new Prng(seed);
  }

  static fromSnapshot(snapshot: SimSnapshot, seed = 1): SimFs {
    const fs = new SimFs(seed);
    fs.state = copyState(snapshot.state);
    fs.inodeCountAfterGc = fs.state.inodes.size;
    return fs;
  }

  // ---- counters, crash control and faults ----

  get opCount(): number {
    return this.state.opCount;
  }

  get mutatingOpCount(): number {
    return this.state.mutatingOpCount;
  }

  /** True between a crashAfter point firing and the next crash(). */
  get isHalted(): boolean {
    return this.haltedAfter !== undefined;
  }

  /** Arms a power cut right after mutating operation `k` (0-based, absolute; see the header). */
  crashAfter(k: number): void {
    if (!Number.isSafeInteger(k) || k < this.state.mutatingOpCount) {
      throw new RangeError(`crash point ${k} is not an operation to come (${this.state.mutatingOpCount} done)`);
    }
    this.crashAtMutatingIndex = k;
  }

  cancelCrashAfter(): void {
    this.crashAtMutatingIndex = undefined;
  }

  failNext(kind: FsOpKind, opts: FaultOptions = {}): void {
    this.faults.arm(kind, opts);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Replaces the state with one a power cut could leave (see the header for each mode). */
  crash(mode: CrashMode, seed?: number): void {
    const rng = seed === undefined ? this.rng : new Prng(seed);
    const survivors = this.survivingInodes(mode);
    for (const id of [...survivors].sort((a, b) => a - b)) {
      const node = this.state.inodes.get(id) as Inode;
      if (node.kind === 'dir') this.settleDir(node, mode);
      else this.settleFile(node, mode, rng);
    }
    for (const id of [...this.state.inodes.keys()]) if (!survivors.has(id)) this.state.inodes.delete(id);
    this.inodeCountAfterGc = this.state.inodes.size;
    this.state.fds.clear();
    this.crashAtMutatingIndex = undefined;
    this.haltedAfter = undefined;
  }

  // ---- utilities ----

  snapshot(): SimSnapshot {
    return new SimSnapshot(copyState(this.state));
  }

  /**
   * Copies a real directory tree (regular files and directories) into `simDir` as durable state:
   * names and data survive any crash. `simDir` and its missing parents are created. The real tree
   * is only read. Not counted as operations.
   */
  loadFromReal(realDir: string, simDir: string): void {
    const dirId = this.ensureDurableDirPath(normalisePath(simDir));
    this.copyRealTree(realDir, dirId);
  }

  /** A copy of a file's current (volatile) bytes. Not counted. */
  dumpFile(path: string): Uint8Array {
    const p = normalisePath(path);
    const node = this.inode(this.lookup(p, 'dump'));
    if (node.kind !== 'file') throw fsError('EISDIR', 'dump', p);
    return copyBytes(node.content.view());
  }

  /** sha256 over the volatile tree: every path in sorted order, its type, size and bytes. */
  digest(): string {
    const hash = createHash('sha256');
    const walk = (dirId: number, dirPath: string): void => {
      const dir = this.inode(dirId) as DirNode;
      for (const name of [...dir.entries.keys()].sort()) {
        const id = dir.entries.get(name) as number;
        const node = this.inode(id);
        const path = posix.join(dirPath, name);
        if (node.kind === 'dir') {
          hash.update(`D ${path}\n`);
          walk(id, path);
        } else {
          hash.update(`F ${path} ${node.content.sizeBytes}\n`);
          hash.update(node.content.view());
        }
      }
    };
    walk(ROOT_ID, '/');
    return hash.digest('hex');
  }

  // ---- the FileSystem interface ----

  open(path: string, mode: OpenMode): number {
    return this.run('open', [displayPath(path)], CREATING_MODES.has(mode), () => this.doOpen(normalisePath(path), mode));
  }

  close(fd: number): void {
    this.run('close', [this.fdPath(fd)], false, () => {
      this.openFile(fd, 'close');
      this.state.fds.delete(fd);
    });
  }

  read(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return this.run('read', [this.fdPath(fd)], false, (short) => {
      const { node, open } = this.fileForFd(fd, 'read');
      checkBufferRange(buf, bufOffset, length);
      checkPosition(position, 'read', open.path);
      return node.content.read(position, buf, bufOffset, short ? shortCount(length) : length);
    });
  }

  write(fd: number, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return this.run('write', [this.fdPath(fd)], true, (short) => {
      const { node, open } = this.fileForFd(fd, 'write');
      if (!open.writable) throw fsError('EBADF', 'write', open.path);
      checkBufferRange(buf, bufOffset, length);
      checkPosition(position, 'write', open.path);
      const count = short ? shortCount(length) : length;
      if (count > 0) this.writeFile(node, position, copyBytes(buf, bufOffset, bufOffset + count));
      return count;
    });
  }

  fsync(fd: number): void {
    this.run('fsync', [this.fdPath(fd)], true, () => {
      const open = this.openFile(fd, 'fsync');
      this.syncInode(open.inodeId);
    });
  }

  truncate(fd: number, sizeBytes: number): void {
    this.run('truncate', [this.fdPath(fd)], true, () => {
      const open = this.openFile(fd, 'truncate');
      // ftruncate(2) on an fd not open for writing is EINVAL (a directory fd is read-only).
      if (!open.writable) throw fsError('EINVAL', 'truncate', open.path);
      checkPosition(sizeBytes, 'truncate', open.path);
      this.truncateFile(this.inode(open.inodeId) as FileNode, sizeBytes);
    });
  }

  fstat(fd: number): FileStat {
    return this.run('stat', [this.fdPath(fd)], false, () => this.statOf(this.openFile(fd, 'fstat').inodeId));
  }

  stat(path: string): FileStat {
    return this.run('stat', [displayPath(path)], false, () => this.statOf(this.lookup(normalisePath(path), 'stat')));
  }

  rename(from: string, to: string): void {
    this.run('rename', [displayPath(from), displayPath(to)], true, () =>
      this.doRename(normalisePath(from), normalisePath(to)),
    );
  }

  /** A new directory entry naming the same inode (durable with its parent's fsyncDir, like a create). */
  link(existingPath: string, newPath: string): void {
    this.run('link', [displayPath(existingPath), displayPath(newPath)], true, () => {
      const from = normalisePath(existingPath);
      const to = normalisePath(newPath);
      const id = this.lookup(from, 'link');
      if (this.inode(id).kind === 'dir') throw fsError('EPERM', 'link', from);
      if (this.tryLookup(to, 'link') !== undefined) throw fsError('EEXIST', 'link', to);
      const { parent, name } = this.parentDir(to, 'link');
      parent.entries.set(name, id);
    });
  }

  unlink(path: string): void {
    this.run('unlink', [displayPath(path)], true, () => {
      const p = normalisePath(path);
      const id = this.lookup(p, 'unlink');
      if (this.inode(id).kind === 'dir') throw fsError('EISDIR', 'unlink', p);
      const { parent, name } = this.parentDir(p, 'unlink');
      parent.entries.delete(name);
    });
  }

  mkdir(path: string): void {
    this.run('mkdir', [displayPath(path)], true, () => {
      const p = normalisePath(path);
      if (this.tryLookup(p, 'mkdir') !== undefined) throw fsError('EEXIST', 'mkdir', p);
      const { parent, name } = this.parentDir(p, 'mkdir');
      parent.entries.set(name, this.addInode({ kind: 'dir', entries: new Map(), durableEntries: new Map() }));
    });
  }

  readdir(path: string): string[] {
    return this.run('readdir', [displayPath(path)], false, () => {
      const p = normalisePath(path);
      const node = this.inode(this.lookup(p, 'scandir'));
      if (node.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', p);
      return [...node.entries.keys()].sort();
    });
  }

  fsyncDir(path: string): void {
    this.run('fsyncDir', [displayPath(path)], true, () => {
      const p = normalisePath(path);
      const id = this.lookup(p, 'fsyncDir');
      if (this.inode(id).kind !== 'dir') throw fsError('ENOTDIR', 'fsyncDir', p);
      this.syncInode(id);
    });
  }

  // ---- operation plumbing ----

  /** Counts the call, fires the hook and any due fault, runs it, then honours crashAfter. */
  private run<T>(kind: FsOpKind, paths: readonly string[], mutating: boolean, body: (short: boolean) => T): T {
    if (this.haltedAfter !== undefined) throw new SimCrash(this.haltedAfter);
    const index = this.state.opCount++;
    const mutatingIndex = mutating ? this.state.mutatingOpCount++ : undefined;
    this.onOp?.(index, kind, paths[0] ?? '');
    let outcome: Outcome<T>;
    try {
      const fault = this.faults.take(kind, paths);
      if (fault === 'EIO' || fault === 'ENOSPC' || fault === 'EXDEV') throw fsError(fault, kind, paths[0] ?? '');
      outcome = { ok: true, value: body(fault === 'SHORT') };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (mutatingIndex !== undefined && mutatingIndex === this.crashAtMutatingIndex) {
      this.haltedAfter = mutatingIndex;
      throw new SimCrash(mutatingIndex);
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  private doOpen(path: string, mode: OpenMode): number {
    const existing = this.tryLookup(path, 'open');
    if (existing !== undefined) return this.openExisting(path, mode, existing);
    if (mode === 'r' || mode === 'r+') throw fsError('ENOENT', 'open', path);
    const { parent, name } = this.parentDir(path, 'open');
    const id = this.addInode({ kind: 'file', content: new ByteStore(), unsynced: [] });
    parent.entries.set(name, id);
    return this.allocFd(id, path, true);
  }

  private openExisting(path: string, mode: OpenMode, id: number): number {
    if (mode === 'wx') throw fsError('EEXIST', 'open', path);
    const node = this.inode(id);
    if (node.kind === 'dir') {
      if (mode !== 'r') throw fsError('EISDIR', 'open', path);
      return this.allocFd(id, path, false);
    }
    if (mode === 'w') this.truncateFile(node, 0);
    return this.allocFd(id, path, mode !== 'r');
  }

  private doRename(from: string, to: string): void {
    const fromId = this.lookup(from, 'rename');
    if (from === '/' || to === '/') throw fsError('EINVAL', 'rename', from);
    const target = this.parentDir(to, 'rename');
    if (from === to) return;
    if (to.startsWith(`${from}/`)) throw fsError('EINVAL', 'rename', from);
    const toId = target.parent.entries.get(target.name);
    if (toId !== undefined) this.checkReplaceable(fromId, toId, to);
    const source = this.parentDir(from, 'rename');
    source.parent.entries.delete(source.name);
    target.parent.entries.set(target.name, fromId);
  }

  /** rename(2)'s rules for replacing an existing target. */
  private checkReplaceable(fromId: number, toId: number, to: string): void {
    const fromNode = this.inode(fromId);
    const toNode = this.inode(toId);
    if (fromNode.kind === 'file' && toNode.kind === 'dir') throw fsError('EISDIR', 'rename', to);
    if (fromNode.kind === 'dir' && toNode.kind === 'file') throw fsError('ENOTDIR', 'rename', to);
    if (toNode.kind === 'dir' && toNode.entries.size > 0) throw fsError('ENOTEMPTY', 'rename', to);
  }

  private writeFile(node: FileNode, position: number, bytes: Uint8Array): void {
    const content = this.privateContent(node);
    node.unsynced.push(makeWriteOp(content, position, bytes));
    content.write(position, bytes);
  }

  private truncateFile(node: FileNode, sizeBytes: number): void {
    const content = this.privateContent(node);
    node.unsynced.push(makeTruncateOp(content, sizeBytes));
    content.truncate(sizeBytes);
  }

  /** fsync: a file's data, or a directory's entry table, becomes durable. */
  private syncInode(id: number): void {
    const node = this.inode(id);
    if (node.kind === 'file') {
      node.unsynced = [];
      return;
    }
    node.durableEntries = new Map(node.entries);
    this.maybeCollectGarbage();
  }

  private statOf(id: number): FileStat {
    const node = this.inode(id);
    if (node.kind === 'dir') return { sizeBytes: 4096, isDirectory: true };
    return { sizeBytes: node.content.sizeBytes, isDirectory: false };
  }

  // ---- inodes, paths and fds ----

  private inode(id: number): Inode {
    const node = this.state.inodes.get(id);
    if (node === undefined) throw new Error(`SimFs internal error: inode ${id} is missing`);
    return node;
  }

  private addInode(node: Inode): number {
    const id = this.state.nextInodeId++;
    this.state.inodes.set(id, node);
    return id;
  }

  /** The inode at `path`, or undefined when it (or a parent) is missing; ENOTDIR through a file. */
  private tryLookup(path: string, op: string): number | undefined {
    let id = ROOT_ID;
    for (const name of path.split('/').filter((part) => part.length > 0)) {
      const node = this.inode(id);
      if (node.kind !== 'dir') throw fsError('ENOTDIR', op, path);
      const child = node.entries.get(name);
      if (child === undefined) return undefined;
      id = child;
    }
    return id;
  }

  private lookup(path: string, op: string): number {
    const id = this.tryLookup(path, op);
    if (id === undefined) throw fsError('ENOENT', op, path);
    return id;
  }

  private parentDir(path: string, op: string): { parent: DirNode; name: string } {
    const { parentPath, name } = splitParent(path);
    const parent = this.inode(this.lookup(parentPath, op));
    if (parent.kind !== 'dir') throw fsError('ENOTDIR', op, path);
    return { parent, name };
  }

  private allocFd(inodeId: number, path: string, writable: boolean): number {
    // Fd numbers are never reused, so an fd from before a crash or close stays invalid.
    const fd = this.state.nextFd++;
    this.state.fds.set(fd, { inodeId, path, writable });
    return fd;
  }

  private fdPath(fd: number): string {
    return this.state.fds.get(fd)?.path ?? '';
  }

  private openFile(fd: number, op: string): OpenFile {
    const open = this.state.fds.get(fd);
    if (open === undefined) throw fsError('EBADF', op, `fd ${fd}`);
    return open;
  }

  private fileForFd(fd: number, op: string): { node: FileNode; open: OpenFile } {
    const open = this.openFile(fd, op);
    const node = this.inode(open.inodeId);
    if (node.kind !== 'file') throw fsError('EISDIR', op, open.path);
    return { node, open };
  }

  /** Copy-on-write: a store shared with a snapshot or fork is cloned before its first change. */
  private privateContent(node: FileNode): ByteStore {
    if (node.content.shared) node.content = node.content.clone();
    return node.content;
  }

  // ---- crash internals ----

  /** Inodes reachable from the root through the entry tables that survive `mode`. */
  private survivingInodes(mode: CrashMode): Set<number> {
    const seen = new Set<number>([ROOT_ID]);
    const stack = [ROOT_ID];
    while (stack.length > 0) {
      const node = this.inode(stack.pop() as number);
      if (node.kind !== 'dir') continue;
      const table = mode === 'cut' ? node.entries : node.durableEntries;
      for (const child of table.values()) {
        // A directory renamed without both sides synced can be reachable twice; visit it once.
        if (seen.has(child)) continue;
        seen.add(child);
        stack.push(child);
      }
    }
    return seen;
  }

  private settleDir(node: DirNode, mode: CrashMode): void {
    if (mode === 'cut') node.durableEntries = new Map(node.entries);
    else node.entries = new Map(node.durableEntries);
  }

  private settleFile(node: FileNode, mode: CrashMode, rng: Prng): void {
    const ops = node.unsynced;
    node.unsynced = [];
    if (ops.length === 0 || mode === 'cut') return;
    const content = this.privateContent(node);
    for (let i = ops.length - 1; i >= 0; i--) undoOp(content, ops[i]);
    if (mode === 'torn') replayTornPrefix(content, ops, rng);
    if (mode === 'reorder') for (const op of ops) if (rng.nextBool()) applyOp(content, op);
  }

  /** Drops inodes no name (volatile or durable) and no fd refers to, once their count has doubled. */
  private maybeCollectGarbage(): void {
    if (this.state.inodes.size < 2 * this.inodeCountAfterGc + 64) return;
    const live = new Set<number>([ROOT_ID]);
    for (const open of this.state.fds.values()) live.add(open.inodeId);
    const stack = [ROOT_ID, ...live];
    while (stack.length > 0) {
      const node = this.inode(stack.pop() as number);
      if (node.kind !== 'dir') continue;
      for (const child of [...node.entries.values(), ...node.durableEntries.values()]) {
        if (live.has(child)) continue;
        live.add(child);
        stack.push(child);
      }
    }
    for (const id of [...this.state.inodes.keys()]) if (!live.has(id)) this.state.inodes.delete(id);
    this.inodeCountAfterGc = this.state.inodes.size;
  }

  // ---- loading real trees ----

  private ensureDurableDirPath(path: string): number {
    let id = ROOT_ID;
    for (const name of path.split('/').filter((part) => part.length > 0)) {
      const dir = this.inode(id);
      if (dir.kind !== 'dir') throw fsError('ENOTDIR', 'load', path);
      let child = dir.entries.get(name);
      if (child === undefined || this.inode(child).kind !== 'dir') {
        child = this.addInode({ kind: 'dir', entries: new Map(), durableEntries: new Map() });
        setDurableEntry(dir, name, child);
      }
      id = child;
    }
    return id;
  }

  private copyRealTree(realDir: string, dirId: number): void {
    const dir = this.inode(dirId) as DirNode;
    const dirents = nodeFs.readdirSync(realDir, { withFileTypes: true });
    for (const dirent of dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const realPath = joinNative(realDir, dirent.name);
      // a symlink is copied as what it points to; anything but a file or a directory (a
      // FIFO named like a segment) is refused rather than silently left out of the copy
      const kind = dirent.isSymbolicLink() ? nodeFs.statSync(realPath) : dirent;
      if (!kind.isDirectory() && !kind.isFile()) throw new FsError('EINVAL', `EINVAL: not a regular file, copy '${realPath}'`, realPath);
      if (kind.isDirectory()) {
        const existing = dir.entries.get(dirent.name);
        const childId =
          existing !== undefined && this.inode(existing).kind === 'dir'
            ? existing
            : this.addInode({ kind: 'dir', entries: new Map(), durableEntries: new Map() });
        setDurableEntry(dir, dirent.name, childId);
        this.copyRealTree(realPath, childId);
      } else {
        const bytes = new Uint8Array(nodeFs.readFileSync(realPath));
        setDurableEntry(dir, dirent.name, this.addInode({ kind: 'file', content: new ByteStore(bytes), unsynced: [] }));
      }
    }
  }
}

function setDurableEntry(dir: DirNode, name: string, id: number): void {
  dir.entries.set(name, id);
  dir.durableEntries.set(name, id);
}

/** torn mode: a seeded prefix of the ops survives, and the first lost write may be half there. */
function replayTornPrefix(content: ByteStore, ops: readonly PendingOp[], rng: Prng): void {
  const keptCount = rng.nextInt(ops.length + 1);
  for (let i = 0; i < keptCount; i++) applyOp(content, ops[i]);
  const firstLost: PendingOp | undefined = ops[keptCount];
  if (firstLost?.kind === 'write' && firstLost.bytes.length > 0 && rng.nextBool()) {
    applyTornWrite(content, firstLost, rng);
  }
}
