/**
 * Backups: before a repair changes any file, every file it will change is put into
 * `<root>/<timestamp>/` (root: `<store>/backups` or --backup-dir), made durable, then a
 * manifest `backup.json` is written atomically. The manifest is the commit point: a
 * backup directory with a manifest is complete, and the repair touches the store only
 * after it is durable.
 *
 * Each file goes in as a hard link when it can (docs/DECISIONS.md, "Repair backups by
 * hard link"): a second name for the same inode, so the backup costs no copy of a
 * segment's bytes. That is a faithful backup only because the repair never writes into a
 * file it backs up: the executor replaces each changed segment whole (temp file, fsync,
 * rename over the name) and removes the checkpoint or an unborn segment by unlink, so the
 * store's name moves to a new inode and the backup keeps the old one, bytes untouched.
 * The linked file is fsynced as a copy would be (its data may never have been: a store
 * written with `sync: none`). When the link fails (EXDEV: --backup-dir on another file
 * system; EPERM/ENOTSUP: no hard links there; anything else) the file is copied, as it
 * always is with `SEGLOG_BACKUP_LINK=0`. The manifest says which it was.
 */
import { basename, join } from 'node:path';
import { SeglogError } from '../../engine/io/errors.js';
import { type FileSystem, isCrash } from '../../engine/io/fs-types.js';
import { ensureDir, exists, writeFileAtomic } from '../../engine/io/fs-util.js';
import { copyRangeToFile } from './file-copy.js';

export const BACKUPS_DIR = 'backups';
export const BACKUP_MANIFEST = 'backup.json';
/** Attempts at a unique directory name when several repairs share a millisecond. */
const MAX_NAME_ATTEMPTS = 100;

export interface BackupManifest {
  format: 'seglog-repair-backup';
  /** 2: files say how they were made (`method`); a link has no CRC (version 1: copies only, each with its CRC). */
  version: 2;
  store: string;
  createdAtMs: number;
  files: BackupFile[];
}

export interface BackupFile {
  name: string;
  sizeBytes: number;
  /**
   * `copy`: a byte-for-byte copy, `crc32c` its CRC-32C. `link`: a hard link to the file
   * the repair then replaced (the same bytes, never rewritten), `crc32c` null: computing
   * one would read the whole file again, and the frames inside carry their own checksums.
   */
  method: 'copy' | 'link';
  crc32c: number | null;
}

/** `SEGLOG_BACKUP_LINK=0` makes every backup a copy (the pre-link behaviour, for comparison and for file systems that lie about links). */
export function backupLinkDefault(): boolean {
  return process.env.SEGLOG_BACKUP_LINK !== '0';
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

/**
 * Backs up `files` (absolute paths) into a new backup directory; returns it and its
 * manifest. `link` false: copies only (see the header for when a link is made).
 */
export function createBackup(fs: FileSystem, store: string, root: string, files: string[], nowMs: number, link = backupLinkDefault()): { dir: string; manifest: BackupManifest } {
  const dir = makeBackupDir(fs, root, nowMs);
  const manifest: BackupManifest = { format: 'seglog-repair-backup', version: 2, store, createdAtMs: nowMs, files: [] };
  let tryLink = link;
  for (const path of files) {
    const dest = join(dir, basename(path));
    if (tryLink) {
      const linked = linkInto(fs, path, dest);
      if (linked !== null) {
        manifest.files.push({ name: basename(path), sizeBytes: linked, method: 'link', crc32c: null });
        continue;
      }
      // one refusal says it for the whole directory (another file system, no hard links)
      tryLink = false;
    }
    const fd = fs.open(path, 'r');
    try {
      const sizeBytes = fs.fstat(fd).sizeBytes;
      const crc = copyRangeToFile(fs, fd, 0, sizeBytes, dest, 'wx');
      manifest.files.push({ name: basename(path), sizeBytes, method: 'copy', crc32c: crc });
    } finally {
      fs.close(fd);
    }
  }
  // the manifest's rename and the directory fsync make every copy's and link's name durable too
  writeFileAtomic(fs, join(dir, BACKUP_MANIFEST), new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return { dir, manifest };
}

/**
 * Links `path` as `dest` and makes its data durable; returns its size, or null when the
 * link was refused (nothing made: the caller copies instead). A failure after the link
 * (the fsync) is not a refusal: it propagates, as a failed copy's would.
 */
function linkInto(fs: FileSystem, path: string, dest: string): number | null {
  try {
    fs.link(path, dest);
  } catch (err) {
    if (isCrash(err)) throw err;
    return null;
  }
  const fd = fs.open(dest, 'r');
  try {
    // a copy is fsynced; so is the linked inode (a no-op when the store already synced it)
    fs.fsync(fd);
    return fs.fstat(fd).sizeBytes;
  } finally {
    fs.close(fd);
  }
}
