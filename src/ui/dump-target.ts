/**
 * What `dump` checks before it prints anything (the oclif command and the fast path,
 * ui/dump-fast.ts): the path names a store or a segment file (resolved once), a pruned
 * store's live segments (from its base), and the bytes to read (for the worker choice).
 */
import type { FileSystem } from '../engine/io/fs-types.js';
import { liveSegments } from '../engine/segment/prune-base.js';
import { segmentsSizeBytes } from '../engine/segment/store-size.js';
import { resolveTarget, type Target } from '../engine/segment/target.js';

export interface DumpTarget {
  /** The path as given: a store directory or one segment file. */
  resolved: Target;
  /** The same with a store's live segments (a pruned store starts at its base). */
  live: Target;
  sizeBytes: number;
}

/** Throws the usual SeglogError (not_found, not_a_store, a damaged base) before any output. */
export function dumpTarget(fs: FileSystem, store: string): DumpTarget {
  const resolved = resolveTarget(fs, store);
  const live = resolved.kind === 'store' ? { ...resolved, segments: liveSegments(fs, resolved.dir) } : resolved;
  return { resolved, live, sizeBytes: segmentsSizeBytes(fs, resolved.segments) };
}
