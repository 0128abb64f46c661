/**
 * The whole log, for the commands whose answer is about the log from its first event:
 * the Merkle tree (`head`, `prove`, `verify --anchor`; docs/FORMAT.md 9). Its leaves are
 * the committed events from event 0, so a tree over a pruned store's remaining events
 * would be another log's tree: a head that matches no head ever taken, a proof against a
 * root nobody published. Those commands read the archive and the store as one log
 * (`--archive DIR`, tools/archive.ts) or refuse (issue 16 item 5: nothing silently
 * re-anchors).
 */
import type { FileSystem } from '../engine/io/fs-types.js';
import type { SegmentFile } from '../engine/segment/walker.js';
import { type ArchiveView, logView } from '../tools/archive.js';
import { UsageError } from './errors.js';

/** Refuses a view that does not start at event 0 (exit 2), saying what would help. */
export function requireWholeLog(view: ArchiveView, archive: string | undefined, what: string): void {
  if (view.base === null) return;
  const pruned = view.base.nextSeq;
  if (archive === undefined) {
    throw new UsageError(
      `${what} needs the whole log, but events 0..${pruned - 1} were pruned (a tree over the rest would not be this log's): give the archive they were moved to with --archive DIR`,
    );
  }
  throw new UsageError(
    `${what} needs the whole log, but the archive starts at sequence ${pruned} (the events before it were pruned without --archive): no tree of this log can be computed any more`,
  );
}

/** The segments of the whole log of `dir` (with `archive`, archived then live), or a usage error. */
export async function wholeLogSegments(fs: FileSystem, dir: string, archive: string | undefined, what: string): Promise<SegmentFile[]> {
  const view = await logView(fs, dir, archive);
  requireWholeLog(view, archive, what);
  return view.segments;
}
