/**
 * `seglog wal replay` and `wal dump` as jobs (control.ts). Both only read the store, so
 * a Ctrl-C simply stops the worker; the state file of `replay --state` is written by
 * the command after the job returned, never by a job that may be stopped mid-way.
 */
import { RealFs } from '../../engine/io/real-fs.js';
import { dumpWal, replayWal, stateToJson } from '../../engine/wal/wal-replay.js';
import type { JobControl } from './control.js';

export async function walReplayJob(input: { store: string; keepValues: boolean; maxWarnings: number }, _ctl: JobControl) {
  const r = replayWal(input.store, { fs: new RealFs(), keepValues: input.keepValues, maxWarnings: input.maxWarnings });
  const { state, ...rest } = r;
  return { ...rest, stateJson: input.keepValues && r.corruption === null ? stateToJson(state) : null };
}

export async function walDumpJob(input: { store: string }, _ctl: JobControl) {
  return dumpWal(input.store, { fs: new RealFs() });
}
