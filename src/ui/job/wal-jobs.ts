/**
 * `seglog wal replay` and `wal dump` as jobs (control.ts). Both only read the store, so
 * a Ctrl-C simply stops the worker; the state file of `replay --state` is written by
 * the command after the job returned, never by a job that may be stopped mid-way.
 */
import { RealFs } from '../../engine/io/real-fs.js';
import { dumpWal, stateToJson } from '../../engine/wal/wal-replay.js';
import { replayWithSnapshots } from '../../engine/wal/snapshot.js';
import { liveSegments } from '../../engine/segment/prune-base.js';
import type { JobControl } from './control.js';

export interface WalReplayJobInput {
  store: string;
  keepValues: boolean;
  maxWarnings: number;
  /** Replay the whole log, ignoring snapshots/ (`--no-snapshot`). */
  noSnapshot: boolean;
  /** Start from this snapshot file (`--snapshot FILE`). */
  snapshotFile?: string;
}

/** Replays from the newest snapshot that fits the log (engine/wal/snapshot.ts), or the whole log. */
export async function walReplayJob(input: WalReplayJobInput, ctl: JobControl) {
  const fs = new RealFs();
  ctl.setTotalBytes(storeBytes(fs, input.store));
  const r = await replayWithSnapshots(input.store, {
    fs,
    onProgress: (bytes) => ctl.progress(bytes, bytes),
    keepValues: input.keepValues,
    maxWarnings: input.maxWarnings,
    noSnapshot: input.noSnapshot,
    ...(input.snapshotFile !== undefined ? { snapshotFile: input.snapshotFile } : {}),
  });
  const { state, ...rest } = r;
  return { ...rest, stateJson: input.keepValues && r.corruption === null ? stateToJson(state) : null };
}

export async function walDumpJob(input: { store: string }, ctl: JobControl) {
  const fs = new RealFs();
  ctl.setTotalBytes(storeBytes(fs, input.store));
  return dumpWal(input.store, { fs, onProgress: (bytes) => ctl.progress(bytes, bytes) });
}

/** The segment files' bytes (progress total; 0 when the store cannot be listed: the job reports why). */
function storeBytes(fs: RealFs, dir: string): number {
  try {
    return liveSegments(fs, dir).reduce((sum, s) => sum + fs.stat(s.path).sizeBytes, 0);
  } catch {
    return 0;
  }
}
