/**
 * `seglog repair --output DIR`: the repair works on a copy, the original store is never
 * opened for writing (bbolt's `surgery --output`). The copy holds every file of the store
 * but the LOCK and earlier backups/; each file is fsynced, then the directory.
 * A store whose LOCK a live process holds is refused: its files may be changing.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SeglogError } from '../../engine/io/errors.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { LOCK_FILE } from '../../engine/io/layout.js';
import { liveLockHolder } from './session.js';

const SKIPPED = new Set([LOCK_FILE, 'backups']);

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function copyTree(from: string, to: string, top: boolean): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (top && SKIPPED.has(name)) continue;
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) copyTree(src, dst, false);
    else {
      copyFileSync(src, dst);
      fsyncPath(dst);
    }
  }
  fsyncPath(to);
}

/** Copies store `dir` into `output`, which must not exist or be an empty directory. */
export function copyStoreForRepair(fs: FileSystem, dir: string, output: string): void {
  if (existsSync(output) && (!statSync(output).isDirectory() || readdirSync(output).length > 0)) {
    throw new SeglogError('usage', '--output must name a new or empty directory', { file: output });
  }
  const holder = liveLockHolder(fs, dir);
  if (holder) throw new SeglogError('locked', `store is locked by pid ${holder.pid} on ${holder.host}: cannot copy it while it changes`, { file: join(dir, LOCK_FILE) });
  copyTree(dir, output, true);
}
