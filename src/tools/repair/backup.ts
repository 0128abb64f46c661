/**
 * Backups: before a repair changes any file, every file it will change is copied byte
 * for byte into `<root>/<timestamp>/` (root: `<store>/backups` or --backup-dir), each
 * copy fsynced, then a manifest `backup.json` is written atomically. The manifest is
 * the commit point: a backup directory with a manifest is complete, and the repair
 * touches the store only after it is durable.
 */
import { basename, join } from 'node:path';
import { SeglogError } from '../../engine/io/errors.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { ensureDir, exists, writeFileAtomic } from '../../engine/io/fs-util.js';
import { copyRangeToFile } from './file-copy.js';

export const BACKUPS_DIR = 'backups';
export const BACKUP_MANIFEST = 'backup.json';
/** Attempts at a unique directory name when several repairs share a millisecond. */
const MAX_NAME_ATTEMPTS = 100;

export interface BackupManifest {
  format: 'seglog-repair-backup';
  version: 1;
  store: string;
  createdAtMs: number;
  files: { name: string; sizeBytes: number; crc32c: number }[];
}

/** `20261123T111903123Z`: sorts by time, safe in every file system. */
export function timestampName(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('.', '');
}

/** A new, empty, durable backup directory under `root` (created if missing). */
function makeBackupDir(fs: FileSystem, root: string, nowMs: number): string {
  ensureDir(fs, root);
  const base = timestampName(nowMs);
  for (let i = 0; i < MAX_NAME_ATTEMPTS; i++) {
    const dir = join(root, i === 0 ? base : `${base}-${i + 1}`);
    if (exists(fs, dir)) continue;
    fs.mkdir(dir);
    fs.fsyncDir(root);
    return dir;
  }
  throw new SeglogError('io', `cannot find a free backup directory name under ${root}`, { file: root });
}

/** Copies `files` (absolute paths) into a new backup directory; returns it and its manifest. */
export function createBackup(fs: FileSystem, store: string, root: string, files: string[], nowMs: number): { dir: string; manifest: BackupManifest } {
  const dir = makeBackupDir(fs, root, nowMs);
  const manifest: BackupManifest = { format: 'seglog-repair-backup', version: 1, store, createdAtMs: nowMs, files: [] };
  for (const path of files) {
    const fd = fs.open(path, 'r');
    try {
      const sizeBytes = fs.fstat(fd).sizeBytes;
      const crc = copyRangeToFile(fs, fd, 0, sizeBytes, join(dir, basename(path)), 'wx');
      manifest.files.push({ name: basename(path), sizeBytes, crc32c: crc });
    } finally {
      fs.close(fd);
    }
  }
  // the manifest's rename and the directory fsync make every copy's name durable too
  writeFileAtomic(fs, join(dir, BACKUP_MANIFEST), new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return { dir, manifest };
}
