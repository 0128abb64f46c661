/**
 * Reading the base of a pruned store (format/base.ts, docs/FORMAT.md section 10), and
 * the two things every reader of a pruned store does with it: skip segment files below
 * the base (left by a prune a crash interrupted: the base is written before the first
 * unlink, so such files are already pruned), and start its state from the base.
 */
import { join } from 'node:path';
import { BASE_FILE, decodeBase, type PruneBase } from '../format/base.js';
import { ioError, SeglogError } from './errors.js';
import { type FileSystem, isFsError } from './fs/types.js';
import { readWhole } from './fs/util.js';
import type { RecoveryScan } from './recovery-scan.js';
import { listSegments, type SegmentFile } from './walker.js';

/** Bases hold one head per entity: a generous cap, still far below what would exhaust memory. */
const BASE_MAX_BYTES = 1024 * 1024 * 1024;

export function basePath(dir: string): string {
  return join(dir, BASE_FILE);
}

/** The store's base, or null when it was never pruned. A damaged base is an error naming it (exit 1). */
export function loadBase(fs: FileSystem, dir: string): PruneBase | null {
  const path = basePath(dir);
  let bytes: Uint8Array;
  try {
    bytes = readWhole(fs, path, BASE_MAX_BYTES);
  } catch (err) {
    if (isFsError(err, 'ENOENT') || isFsError(err, 'ENOTDIR')) return null;
    throw ioError(err, path, 'read the base');
  }
  const b = decodeBase(bytes);
  if (typeof b === 'string') throw new SeglogError('corrupt', `base of the pruned store is damaged: ${b}`, { file: path });
  return b;
}

/** Segments at or after the base (all of them when there is none). */
export function segmentsFromBase(segments: SegmentFile[], base: PruneBase | null): SegmentFile[] {
  return base === null ? segments : segments.filter((s) => s.id >= base.firstSegmentId);
}

/** The store's segments a reader walks: those at or after its base. */
export function liveSegments(fs: FileSystem, dir: string): SegmentFile[] {
  return segmentsFromBase(listSegments(fs, dir), loadBase(fs, dir));
}

/** Starts an open-time scan (recovery-scan.ts) at the base instead of sequence 0. */
export function seedScanFromBase(out: RecoveryScan, base: PruneBase): void {
  out.nextSeq = base.nextSeq;
  out.nextTxnId = Math.max(out.nextTxnId, base.nextTxnId);
  out.maxKvVersion = Math.max(out.maxKvVersion, base.maxKvVersion);
  out.committedEvents = base.committedEvents;
  out.committedBatches = base.committedBatches;
  for (const [name, h] of base.heads) out.heads.set(name, { clock: h.clock, wallMs: h.wallMs, hash: Uint8Array.from(h.hash) });
}
