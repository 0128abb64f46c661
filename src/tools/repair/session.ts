/**
 * A repair session: the store lock is taken before the plan is made and held until the
 * plan is carried out (or dropped), so no writer can change the store in between.
 * `seglog repair` is: open a session, plan, show the plan and confirm, execute, close.
 * A dry run plans without the lock (it changes nothing, like verify).
 */
import { join } from 'node:path';
import type { Blake3 } from '../../format/hash/blake3.js';
import { SeglogError } from '../../engine/io/errors.js';
import { type FileSystem, isFsError } from '../../engine/io/fs-types.js';
import { exists } from '../../engine/io/fs-util.js';
import { storePaths } from '../../engine/io/layout.js';
import { type LockEnv, type LockOwner, readOwner, realLockEnv, StoreLock } from '../../engine/io/lock.js';
import { BACKUPS_DIR } from './backup.js';
import { executeRepair, type RepairResult } from './executor.js';
import type { RepairPlan } from './plan-types.js';
import { planRepair } from './planner.js';
import type { HashVerdicts } from '../../engine/verify/verify.js';

/** A directory with seglog.json, or a usage error (exit 2) saying what the path is instead. */
export function requireStore(fs: FileSystem, dir: string): void {
  let isDir: boolean;
  try {
    isDir = fs.stat(dir).isDirectory;
  } catch (err) {
    if (isFsError(err, 'ENOENT') || isFsError(err, 'ENOTDIR')) throw new SeglogError('not_found', 'no such store directory', { file: dir });
    throw new SeglogError('io', `cannot stat (${(err as { code?: string }).code ?? 'error'})`, { file: dir });
  }
  if (!isDir) throw new SeglogError('not_a_store', 'not a store directory (repair works on a whole store, not on one segment file)', { file: dir });
  if (!exists(fs, storePaths(dir).meta)) throw new SeglogError('not_a_store', 'not a seglog store (no seglog.json)', { file: dir });
}

/** Who holds the store's LOCK, when a live process does (a dry run reports it). */
export function liveLockHolder(fs: FileSystem, dir: string, env: LockEnv = realLockEnv()): LockOwner | null {
  const o = readOwner(fs, storePaths(dir).lock);
  if (o === 'missing' || o === 'torn') return null;
  if (o.host === env.host && !env.isAlive(o.pid)) return null;
  return o;
}

/** Where a repair's backups go: --backup-dir, else <store>/backups; null with --no-backup. */
export function backupRootOf(dir: string, opts: { backupDir?: string | null; noBackup?: boolean }): string | null {
  return opts.noBackup ? null : (opts.backupDir ?? join(dir, BACKUPS_DIR));
}

export interface SessionOptions {
  lockEnv?: LockEnv;
  onWarning?: (message: string) => void;
}

export class RepairSession {
  private lock: StoreLock | null;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    lock: StoreLock,
  ) {
    this.lock = lock;
  }

  /** Checks the path is a store and takes its lock (exit 2, naming the holder, when it is held). */
  static open(fs: FileSystem, dir: string, opts: SessionOptions = {}): RepairSession {
    requireStore(fs, dir);
    const lock = StoreLock.acquire(fs, storePaths(dir).lock, opts.lockEnv ?? realLockEnv(), opts.onWarning ?? ((): void => {}));
    return new RepairSession(fs, dir, lock);
  }

  plan(hasher: Blake3, opts: { checkHashes?: boolean; onProgress?: (bytes: number) => void; hashVerdicts?: HashVerdicts } = {}): RepairPlan {
    return planRepair(this.fs, this.dir, { hasher, ...opts });
  }

  execute(plan: RepairPlan, opts: { backupDir?: string | null; noBackup?: boolean; backupLink?: boolean; nowMs: number; onStep?: (m: string) => void }): RepairResult {
    this.requireLock();
    return executeRepair(this.fs, plan, { backupRoot: backupRootOf(this.dir, opts), backupLink: opts.backupLink, nowMs: opts.nowMs, onStep: opts.onStep });
  }

  /** Throws unless the lock is still held: the plan may only be carried out under it. */
  requireLock(): void {
    if (!this.lock) throw new SeglogError('closed', 'repair session is closed', { file: this.dir });
  }

  /** Releases the lock. */
  close(): void {
    const l = this.lock;
    this.lock = null;
    l?.release();
  }
}
