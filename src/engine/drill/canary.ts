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
 * Test-only: nothing outside the drill may import this.
 */
import { encodeCommit, MARKER_FRAME_BYTES } from '../../format/marker.js';
import { SEGMENT_HEADER_BYTES } from '../../format/segment-header.js';
import type { FileSystem } from '../fs/types.js';
import { exists, writeFully } from '../fs/util.js';
import { scanStore } from '../recovery-scan.js';
import { listSegments } from '../walker.js';
import { engineRecovery, type RecoverFn } from './crash-check.js';
import { SIM_STORE_DIR } from './sim-env.js';

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
