/**
 * `seglog repair --output DIR`: the repair works on a copy, the original store is never
 * opened for writing (bbolt's `surgery --output`). The copy holds every file of the store
 * but the LOCK and earlier backups/; each file is fsynced, then the directory.
 * A store whose LOCK a live process holds is refused: its files may be changing.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SeglogError } from '../../engine/io/errors.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { LOCK_FILE } from '../../engine/io/layout.js';
import { liveLockHolder } from './session.js';

const SKIPPED = new Set([LOCK_FILE, 'backups']);
/** Copy chunk: between chunks a Ctrl-C is looked at (`cancelPoint`). */
const COPY_CHUNK_BYTES = 8 * 1024 * 1024;

/** Copies one file in chunks (a 64 MiB segment in one call would hold a Ctrl-C), then fsyncs it. */
function copyFile(src: string, dst: string, cancelPoint: () => void): void {
  const from = openSync(src, 'r');
  try {
    const to = openSync(dst, 'wx');
    try {
      const buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      for (let pos = 0; ; ) {
        cancelPoint();
        const n = readSync(from, buf, 0, buf.length, pos);
        if (n === 0) break;
        for (let off = 0; off < n; ) off += writeSync(to, buf, off, n - off, pos + off);
        pos += n;
      }
      fsyncSync(to);
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function copyTree(from: string, to: string, top: boolean, cancelPoint: () => void): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (top && SKIPPED.has(name)) continue;
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) copyTree(src, dst, false, cancelPoint);
    else copyFile(src, dst, cancelPoint);
  }
  fsyncPath(to);
}

/**
 * Copies store `dir` into `output`, which must not exist or be an empty directory.
 * `cancelPoint` is called between chunks of each file and may throw (Ctrl-C): the
 * partial copy is then removed (everything in `output` is this copy's) and the error
 * propagates; the original was only read.
 */
export function copyStoreForRepair(fs: FileSystem, dir: string, output: string, cancelPoint: () => void = () => {}): void {
  const existed = existsSync(output);
  if (existed && (!statSync(output).isDirectory() || readdirSync(output).length > 0)) {
    throw new SeglogError('usage', '--output must name a new or empty directory', { file: output });
  }
  const holder = liveLockHolder(fs, dir);
  if (holder) throw new SeglogError('locked', `store is locked by pid ${holder.pid} on ${holder.host}: cannot copy it while it changes`, { file: join(dir, LOCK_FILE) });
  try {
    copyTree(dir, output, true, cancelPoint);
  } catch (err) {
    try {
      if (existed) for (const name of readdirSync(output)) rmSync(join(output, name), { recursive: true, force: true });
      else rmSync(output, { recursive: true, force: true });
    } catch {
      // the original error says what went wrong; a leftover partial copy is refused as --output next time
    }
    throw err;
  }
}
