/**
 * The canary: a deliberately broken recovery, for `seglog drill --canary`.
 *
 * The bug it plants is the classic one: recovery treats the end of the log as the end
 * of every open batch, so an incomplete batch is kept (here: a COMMIT marker is written
 * for each open transaction at the end of the valid frames, with the items found so far)
 * instead of being cut. The engine's own recovery then runs on the doctored files. A
 * drill that reports no violation against this recovery cannot tell a broken recovery
 * from a sound one; `--canary` exits 0 only when the drill catches it.
 *
 * A second broken recovery, `rewrites-segment-unlink-first`, is only wrong when it is
 * itself interrupted: it cuts a tail by rewriting the segment (copy the good prefix to a
 * temp file, unlink the segment, rename the copy into place), so a power cut between
 * the unlink and the rename loses the whole segment, durable events included. Crash
 * states alone never see it (each recovery runs to its end); only crashes during
 * recovery (recovery-crash.ts) can, which is what its test shows.
 *
 * Test-only: nothing outside the drill may import this.
 */
import { encodeCommit, MARKER_FRAME_BYTES } from '../../format/marker.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import type { FileSystem } from '../../engine/io/fs-types.js';
import { exists, readFully, writeFully } from '../../engine/io/fs-util.js';
import { scanStore } from '../../engine/recovery/recovery-scan.js';
import { listSegments } from '../../engine/segment/walker.js';
import { engineRecovery, type RecoverFn } from './crash-check.js';
import { SIM_STORE_DIR } from './sim-env.js';

export const CANARY_KINDS = ['keeps-incomplete-batches', 'rewrites-segment-unlink-first'] as const;
export type CanaryKind = (typeof CANARY_KINDS)[number];

export const brokenRecoveryKeepingIncompleteBatches: RecoverFn = (fs, machine, hasher, storeOptions) => {
  if (exists(fs, SIM_STORE_DIR)) commitOpenTransactions(fs);
  return engineRecovery(fs, machine, hasher, storeOptions);
};

function commitOpenTransactions(fs: FileSystem): void {
  const segments = listSegments(fs, SIM_STORE_DIR);
  const scan = scanStore(fs, segments);
  const last = scan.segments[scan.segments.length - 1];
  if (last && last.headerOk && last.validEnd >= SEGMENT_HEADER_BYTES && scan.openTxns.size > 0) {
    const txns = [...scan.openTxns.values()].sort((a, b) => a.txnId - b.txnId);
    const bytes = new Uint8Array(txns.length * MARKER_FRAME_BYTES);
    txns.forEach((t, i) => encodeCommit(bytes, i * MARKER_FRAME_BYTES, t.txnId, t.items));
    const fd = fs.open(last.path, 'r+');
    try {
      fs.truncate(fd, last.validEnd);
      writeFully(fs, fd, bytes, 0, bytes.length, last.validEnd);
      fs.fsync(fd);
    } finally {
      fs.close(fd);
    }
  }
}

export const brokenRecoveryRewritingUnlinkFirst: RecoverFn = (fs, machine, hasher, storeOptions) => {
  if (exists(fs, SIM_STORE_DIR)) rewriteWithoutTail(fs);
  return engineRecovery(fs, machine, hasher, storeOptions);
};

export const BROKEN_RECOVERIES: Record<CanaryKind, RecoverFn> = {
  'keeps-incomplete-batches': brokenRecoveryKeepingIncompleteBatches,
  'rewrites-segment-unlink-first': brokenRecoveryRewritingUnlinkFirst,
};

/** Cuts the tail by rewriting the segment, in the wrong order: the old file goes before the new one is in place. */
function rewriteWithoutTail(fs: FileSystem): void {
  const scan = scanStore(fs, listSegments(fs, SIM_STORE_DIR));
  const tail = scan.tail;
  if (!tail || tail.offset < SEGMENT_HEADER_BYTES) return;
  const seg = scan.segments[tail.segIndex]!;
  const keep = new Uint8Array(tail.offset);
  const src = fs.open(seg.path, 'r');
  try {
    readFully(fs, src, keep, 0, keep.length, 0);
  } finally {
    fs.close(src);
  }
  const tmp = `${seg.path}.rewrite`;
  const fd = fs.open(tmp, 'w');
  try {
    writeFully(fs, fd, keep, 0, keep.length, 0);
    fs.fsync(fd);
  } finally {
    fs.close(fd);
  }
  fs.unlink(seg.path);
  fs.fsyncDir(SIM_STORE_DIR);
  fs.rename(tmp, seg.path);
  fs.fsyncDir(SIM_STORE_DIR);
}
