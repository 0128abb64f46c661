/**
 * `seglog repair`, step two: carries out a plan, in an order that keeps every state a
 * crash can leave safe (test/engine/repair/crash.test.ts crashes it at every operation):
 *   1. each changed segment written to `<segment>.repair.tmp` and read back (checked),
 *      not yet fsynced (segment-rewrite.ts);
 *   2. backups: every file the repair will change, hard-linked (or copied) and fsynced,
 *      manifest last (backup.ts);
 *   3. lost+found/: every byte range taken out of a segment, with its record;
 *   4. the temp files fsynced, through the descriptors that wrote them (a failed fsync
 *      stops the repair here: nothing renamed), then renamed over their segments (a
 *      removed segment unlinked), then one directory fsync;
 *   5. a stale checkpoint removed, leftover temp files of an earlier run removed.
 * Until step 4's renames the store is untouched. Temp files come first (issue 18) so that
 * the disk writes them while the CPU reads them back and builds the footers, and their
 * fsyncs find little left to do: an early writeback is asked for on each temp file as it
 * is written (segment-rewrite.ts; FileSystem.startWritebackOf, a hint;
 * `SEGLOG_EARLY_WRITEBACK=0` turns the hints off). A temp file is nothing to the store
 * until renamed: a crash or a Ctrl-C before step 4 leaves at most temp files, which this
 * run removes on the way out or the next repair removes (`strayTemps`). No step writes into a file of the store: a
 * changed segment is replaced by a rename, the checkpoint removed by an unlink. That is
 * what lets a backup be a hard link to the old file (backup.ts). Each rename replaces
 * one file whole, so any crash leaves every segment either as it was or as repaired;
 * either way no event byte is lost (it is in the segment, or quarantined before the
 * segment changed), and running the repair again finishes the job. All I/O goes through `fs`.
 */
import { join } from 'node:path';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import { SeglogError, ioError } from '../../engine/io/errors.js';
import { type FileSystem, isCrash, isFsError } from '../../engine/io/fs-types.js';
import { exists } from '../../engine/io/fs-util.js';
import { storePaths } from '../../engine/io/layout.js';
import { backupLinkDefault, createBackup } from './backup.js';
import { LostFoundWriter } from './lost-found.js';
import type { RepairPlan, SegmentPlan } from './plan-types.js';
import { REPAIR_TEMP_SUFFIX } from './planner.js';
import { closeTemp, type PendingTemp, syncTemp, writeRepairedSegment } from './segment-rewrite.js';

export interface ExecuteOptions {
  /** Where backups go (a timestamped directory is made inside), or null for none (--no-backup). */
  backupRoot: string | null;
  /** Back files up by hard link where the file system allows (default: unless SEGLOG_BACKUP_LINK=0); false: copies. */
  backupLink?: boolean;
  /** The repair's time: gap records, lost+found names, the backup directory. */
  nowMs: number;
  /** Progress lines (stderr in the CLI). */
  onStep?: (message: string) => void;
  /**
   * Called at the points where stopping leaves the store untouched (between the steps
   * before the renames, and between chunks of a segment's copy); it may throw to stop
   * there (Ctrl-C): the temp files are removed and the error propagates. Backups and
   * lost+found/ copies already made stay (copies of bytes still in the store).
   */
  cancelPoint?: () => void;
}

export interface RepairResult {
  backupDir: string | null;
  backupFiles: string[];
  lostFound: string[];
  rewritten: string[];
  removed: string[];
  checkpointRemoved: boolean;
  tempsRemoved: string[];
}

/** The files step 1 copies: every segment that changes, and the checkpoint if it goes. */
export function filesToBackUp(plan: RepairPlan): string[] {
  const files = plan.segments.filter((s) => s.changed).map((s) => s.path);
  if (plan.checkpoint.action !== 'keep') files.push(storePaths(plan.store).checkpoint);
  return files;
}

/** Checks that the changed segments are still the size the plan saw (nothing wrote in between). */
function checkUnchanged(fs: FileSystem, plan: RepairPlan): void {
  for (const s of plan.segments) {
    if (!s.changed) continue;
    let size: number;
    try {
      size = fs.stat(s.path).sizeBytes;
    } catch (err) {
      throw ioError(err, s.path, 'stat');
    }
    if (size !== s.fileSizeBytes) {
      throw new SeglogError('io', `changed since the plan was made (${size} bytes, the plan saw ${s.fileSizeBytes}); nothing was changed, run the repair again`, { file: s.path });
    }
  }
}

export function emptyRepairResult(): RepairResult {
  return { backupDir: null, backupFiles: [], lostFound: [], rewritten: [], removed: [], checkpointRemoved: false, tempsRemoved: [] };
}

/** `result` is filled in as steps complete, so a caller still knows what was done when this throws. */
export function executeRepair(fs: FileSystem, plan: RepairPlan, opts: ExecuteOptions, result: RepairResult = emptyRepairResult()): RepairResult {
  const step = opts.onStep ?? ((): void => {});
  const cancelPoint = opts.cancelPoint ?? ((): void => {});
  if (plan.actions.length === 0) return result;
  const changed = plan.segments.filter((s) => s.changed);
  const temps: string[] = [];
  const pending: PendingTemp[] = [];
  try {
    checkUnchanged(fs, plan);
    cancelPoint();
    const backup = opts.backupRoot !== null ? filesToBackUp(plan).filter((p) => exists(fs, p)) : [];
    for (const s of changed) {
      if (s.remove) continue;
      step(`writing the repaired ${s.name}`);
      // pushed before the write: a cancel inside it leaves a temp file to remove
      temps.push(`${s.path}${REPAIR_TEMP_SUFFIX}`);
      pending.push(writeRepairedSegment(fs, s, opts.nowMs, cancelPoint));
    }
    cancelPoint();
    if (backup.length > 0) {
      step(`backing up ${backup.length} file(s)`);
      const b = createBackup(fs, plan.store, opts.backupRoot!, backup, opts.nowMs, opts.backupLink ?? backupLinkDefault());
      result.backupDir = b.dir;
      result.backupFiles = b.manifest.files.map((f) => join(b.dir, f.name));
    }
    cancelPoint();
    step('keeping quarantined bytes in lost+found/');
    const lf = new LostFoundWriter(fs, plan.store, opts.nowMs);
    for (const s of changed) quarantine(fs, lf, s);
    lf.finish();
    result.lostFound = lf.written;
    cancelPoint();
    // every temp file durable before the first rename: an fsync error stops the repair here
    while (pending.length > 0) syncTemp(fs, pending.shift()!);

    // the last point to stop: from here on the store changes (renames, one directory fsync)
    cancelPoint();
    step('replacing segments');
    for (const s of changed) {
      if (s.remove) {
        fs.unlink(s.path);
        result.removed.push(s.path);
        continue;
      }
      fs.rename(`${s.path}${REPAIR_TEMP_SUFFIX}`, s.path);
      temps.splice(temps.indexOf(`${s.path}${REPAIR_TEMP_SUFFIX}`), 1);
      result.rewritten.push(s.path);
    }
    if (changed.length > 0) fs.fsyncDir(plan.store);

    const cleanup: string[] = [];
    if (plan.checkpoint.action !== 'keep' && exists(fs, storePaths(plan.store).checkpoint)) {
      fs.unlink(storePaths(plan.store).checkpoint);
      result.checkpointRemoved = true;
      cleanup.push('checkpoint');
    }
    for (const t of plan.strayTemps) {
      const p = join(plan.store, t);
      if (!exists(fs, p)) continue;
      fs.unlink(p);
      result.tempsRemoved.push(p);
    }
    if (result.checkpointRemoved || result.tempsRemoved.length > 0) fs.fsyncDir(plan.store);
    return result;
  } catch (err) {
    if (isCrash(err)) throw err;
    // temp files not renamed yet are the only thing to undo; the store itself is consistent
    for (const t of pending) {
      try {
        closeTemp(fs, t);
      } catch {
        // closed or not, it is removed next
      }
    }
    for (const t of temps) {
      try {
        fs.unlink(t);
      } catch {
        // the next repair removes it as a stray temp
      }
    }
    if (err instanceof SeglogError) throw err;
    if (isFsError(err)) throw ioError(err, (err as { path?: string }).path ?? plan.store, 'repair');
    throw err;
  }
}

/** Step 2 for one segment: the bytes it loses go to lost+found/ first. */
function quarantine(fs: FileSystem, lf: LostFoundWriter, s: SegmentPlan): void {
  const fd = fs.open(s.path, 'r');
  try {
    if (s.remove) {
      lf.add(fd, s.name, 0, s.fileSizeBytes, 'torn_segment', 'an active segment whose header never became valid', null);
      return;
    }
    if (s.header && s.header.reason === 'bad_header' && s.fileSizeBytes > 0) {
      lf.add(fd, s.name, 0, Math.min(s.fileSizeBytes, SEGMENT_HEADER_BYTES), 'bad_header', 'a damaged segment header (rewritten)', null);
    }
    for (const e of s.edits) {
      if (!e.quarantine || e.end <= e.start) continue;
      const gapFrame = e.frames.find((f) => f.type === 'gap_sequence');
      const lost = gapFrame && gapFrame.type === 'gap_sequence' ? { fromSeq: gapFrame.fromSeq, count: gapFrame.count } : null;
      const entities = e.frames.filter((f) => f.type === 'gap_entity').map((f) => (f.type === 'gap_entity' ? f.entity : ''));
      const detail = lost
        ? `sequences ${lost.fromSeq}..${lost.fromSeq + lost.count - 1} lost${entities.length ? ` (entities ${entities.join(', ')})` : ''}`
        : e.quarantine === 'commit_mismatch'
          ? 'a COMMIT replaced by an ABORT: its transaction lost items'
          : 'no event lost with these bytes';
      lf.add(fd, s.name, e.start, e.end, e.quarantine, detail, lost);
    }
    if (s.cutAt && s.fileSizeBytes > s.cutAt.offset) {
      lf.add(fd, s.name, s.cutAt.offset, s.fileSizeBytes, s.cutAt.reason, s.cutAt.reason === 'torn_tail' ? 'torn tail of the active segment' : 'transactions that never finished at the tail', null);
    }
  } finally {
    fs.close(fd);
  }
}
