/**
 * The copy of a cut tail that recovery keeps in lost+found/ before it cuts the segment.
 *
 * Recovery copies, then truncates; a crash in between leaves the copy and an uncut
 * segment, so the next open cuts the same bytes again. Copying them again under a new
 * name (the name carries the open's clock) filled lost+found/ with one more copy of one
 * tail per interrupted recovery, and a crash inside the copy left its temp file behind
 * for good (both found by `seglog drill --recovery-points`: a crash during recovery,
 * cut and torn modes). So the copy is made idempotent here: a complete copy of the
 * same bytes from the same segment and offset is reused, and temp files of interrupted
 * copies at that segment and offset are removed first. Removing them loses nothing:
 * the segment is cut only after a complete copy is durable, so their bytes are still in
 * the segment (and now in the copy).
 */
import { join } from 'node:path';
import { equalBytes } from '../../format/bytes.js';
import type { FileSystem } from '../io/fs-types.js';
import { ensureDir, readFully, writeFileAtomic } from '../io/fs-util.js';

/** Suffix of writeFileAtomic's temp files (lost+found/ temp files of repairs share it). */
const TEMP_SUFFIX = '.tmp';

/** after-frames: bytes after a sealed segment's frames that are not its valid footer (beyond-frames-copy.ts). */
export type CutTailReason = 'torn-tail' | 'incomplete-batch' | 'after-frames';

/**
 * Makes sure lost+found/ holds a durable copy of `bytes`, the tail of segment `segName`
 * from byte `offset` on, and returns its path. Names: `<segment>.<offset>.<ms>.<reason>`.
 */
export function keepCutTail(fs: FileSystem, lostFoundDir: string, segName: string, offset: number, reason: CutTailReason, bytes: Uint8Array, clock: () => number): string {
  ensureDir(fs, lostFoundDir);
  const prefix = `${segName}.${offset}.`;
  let removed = false;
  let existing: string | null = null;
  for (const name of fs.readdir(lostFoundDir).sort()) {
    if (!name.startsWith(prefix)) continue;
    if (name.endsWith(TEMP_SUFFIX)) {
      fs.unlink(join(lostFoundDir, name));
      removed = true;
    } else if (existing === null && name.endsWith(`.${reason}`) && sameContent(fs, join(lostFoundDir, name), bytes)) {
      existing = join(lostFoundDir, name);
    }
  }
  if (existing !== null) {
    // the copy is durable (written, fsynced, renamed and its directory fsynced before the
    // cut began); only the removals may need making durable
    if (removed) fs.fsyncDir(lostFoundDir);
    return existing;
  }
  const path = join(lostFoundDir, `${prefix}${clock()}.${reason}`);
  // its directory fsync also makes the removals durable
  writeFileAtomic(fs, path, bytes);
  return path;
}

function sameContent(fs: FileSystem, path: string, bytes: Uint8Array): boolean {
  const fd = fs.open(path, 'r');
  try {
    if (fs.fstat(fd).sizeBytes !== bytes.length) return false;
    const have = new Uint8Array(bytes.length);
    readFully(fs, fd, have, 0, have.length, 0);
    return equalBytes(have, 0, bytes, 0, bytes.length);
  } finally {
    fs.close(fd);
  }
}
