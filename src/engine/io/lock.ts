import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SeglogError } from './errors.js';
import { type FileSystem, isFsError } from './fs-types.js';
import { readWhole, writeFully } from './fs-util.js';
import { dirname } from 'node:path';

/** Who holds a lock: written into the LOCK file as one JSON line. */
export interface LockOwner {
  pid: number;
  host: string;
  sinceMs: number;
  /** The writing process's incarnation (random per process): tells a reused pid apart. */
  nonce?: string;
}

export interface LockEnv {
  pid: number;
  host: string;
  nowMs: () => number;
  /** Whether a process on this host is alive (injected so simulations control it). */
  isAlive: (pid: number) => boolean;
  /** This process's incarnation, written into the LOCK; absent: pids are never reused. */
  nonce?: string;
}

/** One per process: a LOCK with this process's pid but another nonce was left by a dead process. */
const PROCESS_NONCE = randomBytes(8).toString('hex');

export function realLockEnv(): LockEnv {
  return {
    pid: process.pid,
    host: hostname(),
    nonce: PROCESS_NONCE,
    nowMs: () => Date.now(),
    isAlive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

const MAX_LOCK_FILE_BYTES = 4096;

/**
 * A store lock: one writer at a time across processes, via O_CREAT|O_EXCL on LOCK.
 * A LOCK whose owner is a dead process on this host (or whose content is torn) is
 * taken over, and the takeover is reported through `onWarning`.
 */
export class StoreLock {
  private held = false;
  private constructor(
    private readonly fs: FileSystem,
    readonly path: string,
  ) {}

  static acquire(fs: FileSystem, path: string, env: LockEnv, onWarning: (msg: string) => void): StoreLock {
    const lock = new StoreLock(fs, path);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (lock.tryCreate(env)) return lock;
      const owner = readOwner(fs, path);
      if (owner === 'missing') continue;
      const stale = owner === 'torn' || (owner.host === env.host && (owner.pid === env.pid ? isEarlierIncarnation(owner, env) : !env.isAlive(owner.pid)));
      if (!stale) {
        const who = owner as LockOwner;
        throw new SeglogError(
          'locked',
          `store is locked by pid ${who.pid} on ${who.host} since ${new Date(who.sinceMs).toISOString()}; ` +
            'wait for it to finish, or remove the LOCK file if that process is gone',
          { file: path },
        );
      }
      onWarning(
        owner === 'torn'
          ? `${path}: lock file is unreadable (left by a crash); taking it over`
          : owner.pid === env.pid
            ? `${path}: lock left by an earlier process with this pid (${owner.pid}) on ${owner.host}; taking it over`
            : `${path}: lock left by dead process ${owner.pid} on ${owner.host}; taking it over`,
      );
      fs.unlink(path);
    }
    throw new SeglogError('locked', 'could not take the store lock (another process raced for it)', { file: path });
  }

  private tryCreate(env: LockEnv): boolean {
    let fd: number;
    try {
      fd = this.fs.open(this.path, 'wx');
    } catch (err) {
      if (isFsError(err, 'EEXIST')) return false;
      throw err;
    }
    try {
      const owner: LockOwner = { pid: env.pid, host: env.host, sinceMs: env.nowMs(), ...(env.nonce === undefined ? {} : { nonce: env.nonce }) };
      const bytes = new TextEncoder().encode(`${JSON.stringify(owner)}\n`);
      writeFully(this.fs, fd, bytes, 0, bytes.length, 0);
      this.fs.fsync(fd);
    } finally {
      this.fs.close(fd);
    }
    this.fs.fsyncDir(dirname(this.path));
    this.held = true;
    return true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.fs.unlink(this.path);
    this.fs.fsyncDir(dirname(this.path));
  }
}

/**
 * A LOCK naming this very pid was written by this process (a second open here: refused)
 * or by a dead process whose pid was reused (after a reboot, or a container restart where
 * the CLI runs as pid 1 again): the nonce tells them apart. This process always writes
 * its nonce, so a LOCK with our pid and another nonce, or none, is a dead process's.
 */
function isEarlierIncarnation(owner: LockOwner, env: LockEnv): boolean {
  return env.nonce !== undefined && owner.nonce !== env.nonce;
}

export function readOwner(fs: FileSystem, path: string): LockOwner | 'torn' | 'missing' {
  let bytes: Uint8Array;
  try {
    bytes = readWhole(fs, path, MAX_LOCK_FILE_BYTES);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return 'missing';
    if (isFsError(err, 'EFBIG')) return 'torn';
    throw err;
  }
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.sinceMs === 'number') {
      return { pid: o.pid, host: o.host, sinceMs: o.sinceMs, ...(typeof o.nonce === 'string' ? { nonce: o.nonce } : {}) };
    }
  } catch {
    // a torn write of the lock file
  }
  return 'torn';
}
