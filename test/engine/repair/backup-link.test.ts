/**
 * Repair backups made by hard link (tools/repair/backup.ts). A link is the old file
 * itself, so it is a backup only because the repair never writes into a file it backs
 * up (it replaces each changed segment by a rename, removes the checkpoint by unlink).
 * These tests protect that contract and its fallbacks:
 *   - after a repair, each linked backup holds the old bytes while the store's name
 *     holds the new ones, durably (a power cut after the repair keeps both);
 *   - a linked file's data is fsynced like a copy's: old bytes the store never synced
 *     survive in the backup;
 *   - a refused link (EXDEV: --backup-dir on another file system) falls back to a copy
 *     with its CRC, and so does every file after it;
 *   - `backupLink: false` (SEGLOG_BACKUP_LINK=0) copies.
 * If one fails, look first at executor.ts: a new step that writes into a store file in
 * place (a truncate, a footer strip, an r+ open) breaks the link contract; that file must
 * then be copied, not linked.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../../src/format/bytes.js';
import { FrameType } from '../../../src/format/frame.js';
import { type Blake3, createHasher } from '../../../src/format/hash/blake3.js';
import { crc32c } from '../../../src/format/hash/crc32c.js';
import { SimFs } from '../../../src/sim/sim-fs.js';
import { BACKUP_MANIFEST, type BackupManifest } from '../../../src/tools/repair/backup.js';
import type { Store } from '../../../src/engine/store/store.js';
import { DIR, flipBit, framesOf, runRepair, simStore, truncateFile } from './repair-helpers.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

function fill(s: Store, n: number): void {
  for (let i = 0; i < n; i++) s.append({ entity: `e${i % 3}`, scope: 's' }, { i, pad: 'p'.repeat(30 + (i % 5) * 10) });
}

/** A store with a corrupt frame in a sealed segment and a torn tail; `durable`: the damage is fsynced (crash 'cut'). */
function damaged(durable = true): SimFs {
  const fs = simStore(hasher, (s) => fill(s, 40));
  const frames = framesOf(fs);
  const v = frames.filter((f) => f.segIndex === 1 && f.type === FrameType.EVENT)[1]!;
  flipBit(fs, v.path, v.offset + v.size - 40);
  const last = frames[frames.length - 1]!;
  truncateFile(fs, last.path, last.offset + 30);
  if (durable) fs.crash('cut');
  return fs;
}

function manifestOf(fs: SimFs, dir: string): BackupManifest {
  return JSON.parse(new TextDecoder().decode(fs.dumpFile(join(dir, BACKUP_MANIFEST)))) as BackupManifest;
}

/** The store's files a repair may back up: segments and the checkpoint. */
function storeFiles(fs: SimFs): string[] {
  return fs.readdir(DIR).filter((n) => n.endsWith('.seg') || n === 'index.ckpt');
}

function bytesOf(fs: SimFs, names: string[]): Map<string, string> {
  return new Map(names.filter((n) => fs.readdir(DIR).includes(n)).map((n) => [n, toHex(fs.dumpFile(join(DIR, n)))]));
}

describe('repair backups by hard link', () => {
  it('a linked backup holds the old bytes after the repair replaced the file, and both survive a power cut', () => {
    const fs = damaged();
    const segs = storeFiles(fs);
    const before = bytesOf(fs, segs);
    const { result } = runRepair(fs, hasher, { backupLink: true });
    expect(result.rewritten.length, 'the damaged segment and the torn last one are rewritten').toBe(2);
    expect(result.checkpointRemoved, 'the stale checkpoint goes (by unlink)').toBe(true);
    const dir = result.backupDir!;
    const m = manifestOf(fs, dir);
    expect(m.version).toBe(2);
    expect(m.files.map((f) => f.method), 'every file linked (SimFs has links)').toEqual(m.files.map(() => 'link'));
    const after = bytesOf(fs, segs);
    for (const f of m.files) {
      expect(f.crc32c, `${f.name}: a link has no CRC in the manifest`).toBeNull();
      const backup = toHex(fs.dumpFile(join(dir, f.name)));
      expect(backup, `backup of ${f.name} must be the old bytes (did the repair write into the linked inode?)`).toBe(before.get(f.name));
      if (f.name !== 'index.ckpt') expect(after.get(f.name), `${f.name} in the store is the repaired file, not the backup's inode`).not.toBe(backup);
      expect(f.sizeBytes).toBe(before.get(f.name)!.length / 2);
    }
    // the names are durable: the manifest's directory fsync covers the links, the renames' covers the store
    fs.crash('lose-unsynced');
    for (const f of m.files) expect(toHex(fs.dumpFile(join(dir, f.name))), `backup of ${f.name} after a power cut`).toBe(before.get(f.name));
    expect(bytesOf(fs, segs), 'the repaired store after a power cut').toEqual(after);
  });

  it("a linked file's data is fsynced as a copy would be: old bytes the store never synced survive a power cut in the backup", () => {
    const fs = damaged(false); // the flipped byte and the cut are not fsynced
    const segs = storeFiles(fs);
    const before = bytesOf(fs, segs);
    const { result } = runRepair(fs, hasher, { backupLink: true });
    const m = manifestOf(fs, result.backupDir!);
    fs.crash('lose-unsynced');
    for (const f of m.files) {
      expect(toHex(fs.dumpFile(join(result.backupDir!, f.name))), `backup of ${f.name}: linkInto must fsync the linked file (backup.ts)`).toBe(before.get(f.name));
    }
  });

  it('a refused link (EXDEV: the backup directory on another file system) falls back to copies, with their CRCs', () => {
    const fs = damaged();
    const segs = storeFiles(fs);
    const before = bytesOf(fs, segs);
    fs.failNext('link', { code: 'EXDEV' });
    const { result } = runRepair(fs, hasher, { backupLink: true });
    const m = manifestOf(fs, result.backupDir!);
    expect(m.files.length, 'two segments and the checkpoint').toBe(3);
    expect(m.files.map((f) => f.method), 'one refusal turns links off for the whole backup').toEqual(['copy', 'copy', 'copy']);
    for (const f of m.files) {
      const bytes = fs.dumpFile(join(result.backupDir!, f.name));
      expect(toHex(bytes), `copy of ${f.name}`).toBe(before.get(f.name));
      expect(f.crc32c, `CRC of the copy of ${f.name}`).toBe(crc32c(bytes));
    }
  });

  it('backupLink false (SEGLOG_BACKUP_LINK=0) copies every file', () => {
    const fs = damaged();
    const segs = storeFiles(fs);
    const before = bytesOf(fs, segs);
    const { result } = runRepair(fs, hasher, { backupLink: false });
    const m = manifestOf(fs, result.backupDir!);
    expect(m.files.map((f) => f.method)).toEqual(m.files.map(() => 'copy'));
    for (const f of m.files) expect(toHex(fs.dumpFile(join(result.backupDir!, f.name)))).toBe(before.get(f.name));
  });

  it('the repaired store is byte for byte the same whichever way the backup was made', () => {
    const a = damaged();
    const b = damaged();
    runRepair(a, hasher, { backupLink: true });
    runRepair(b, hasher, { backupLink: false });
    const segs = a.readdir(DIR).filter((n) => n.endsWith('.seg') || n === 'lost+found');
    expect(segs).toEqual(b.readdir(DIR).filter((n) => n.endsWith('.seg') || n === 'lost+found'));
    const seg = segs.filter((n) => n.endsWith('.seg'));
    expect(bytesOf(a, seg)).toEqual(bytesOf(b, seg));
  });
});

describe('SimFs link', () => {
  it('names the same inode (writes through one name show through the other); the name is durable only after fsyncDir', () => {
    const fs = new SimFs(3);
    fs.mkdir('/d');
    fs.mkdir('/d/b');
    const fd = fs.open('/d/f', 'w');
    fs.write(fd, new Uint8Array([1, 2, 3]), 0, 3, 0);
    fs.fsync(fd);
    fs.close(fd);
    fs.fsyncDir('/');
    fs.fsyncDir('/d');
    fs.link('/d/f', '/d/b/f');
    expect(() => fs.link('/d/f', '/d/b/f')).toThrow(/EEXIST/);
    expect(() => fs.link('/d/b', '/d/b2')).toThrow(/EPERM/);
    expect(fs.dumpFile('/d/b/f')).toEqual(new Uint8Array([1, 2, 3]));
    const snap = fs.snapshot();
    // not durable yet: a power cut before the directory fsync loses the second name, not the file
    const lost = SimFs.fromSnapshot(snap);
    lost.crash('lose-unsynced');
    expect(lost.readdir('/d/b')).toEqual([]);
    expect(lost.dumpFile('/d/f')).toEqual(new Uint8Array([1, 2, 3]));
    fs.fsyncDir('/d/b');
    // a rename over the first name leaves the linked inode alone
    const t = fs.open('/d/f.tmp', 'w');
    fs.write(t, new Uint8Array([9]), 0, 1, 0);
    fs.fsync(t);
    fs.close(t);
    fs.rename('/d/f.tmp', '/d/f');
    fs.fsyncDir('/d');
    fs.crash('lose-unsynced');
    expect(fs.dumpFile('/d/f')).toEqual(new Uint8Array([9]));
    expect(fs.dumpFile('/d/b/f')).toEqual(new Uint8Array([1, 2, 3]));
  });
});
