/**
 * `seglog wal replay` and `wal dump` as jobs (control.ts). Both only read the store, so
 * a Ctrl-C simply stops the worker; the state file of `replay --state` is written by
 * the command after the job returned, never by a job that may be stopped mid-way.
 */
import { RealFs } from '../../engine/io/real-fs.js';
import { dumpWal, stateToJson } from '../../engine/wal/wal-replay.js';
import { replayWithSnapshots } from '../../engine/wal/snapshot.js';
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
export async function walReplayJob(input: WalReplayJobInput, _ctl: JobControl) {
  const r = await replayWithSnapshots(input.store, {
    fs: new RealFs(),
    keepValues: input.keepValues,
    maxWarnings: input.maxWarnings,
    noSnapshot: input.noSnapshot,
    ...(input.snapshotFile !== undefined ? { snapshotFile: input.snapshotFile } : {}),
  });
  const { state, ...rest } = r;
  return { ...rest, stateJson: input.keepValues && r.corruption === null ? stateToJson(state) : null };
}

export async function walDumpJob(input: { store: string }, _ctl: JobControl) {
  return dumpWal(input.store, { fs: new RealFs() });
}
