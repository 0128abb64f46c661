/**
 * `dump STORE [--format text|jsonl] [--limit N]` without oclif (fast-path.ts): the plain
 * export a script or a pipeline runs, where oclif's start-up (~0.15-0.2 s of CPU) was
 * a tenth of a 1M-event dump (issue 18: dump at least as fast as `sqlite3 -json`).
 *
 * Sound by refusing, as the rest of the fast path: it runs only when stderr is not a
 * terminal (at a terminal BaseCommand draws progress), only these two formats (no JSON
 * document to frame: `--json` and `--format json` go to oclif), and only once the target
 * checks out exactly as the command checks it; any error before the job starts returns
 * false with nothing printed, and oclif then says what it always says. The job is the
 * command's job (ui/job/dump-job.ts, the same input), its damage is reported by the same
 * function (render/dump-faults.ts), and Ctrl-C does what BaseCommand does for a job: the
 * job stops before its next record, `seglog: interrupted`, exit 130; a second Ctrl-C, or
 * a job that does not stop within INTERRUPT_CLEANUP_TIMEOUT_MS, exits at once.
 */
import { RealFs } from '../engine/io/real-fs.js';
import { dumpTarget } from './dump-target.js';
import { EXIT_DATA_PROBLEMS } from './errors.js';
import type { FastOutput } from './fast-path.js';
import { awaitFastJob } from './fast-job.js';
import { reportFaults } from './render/dump-faults.js';

export interface DumpFastArgs {
  store: string;
  format: 'text' | 'jsonl';
  limit: number | undefined;
}

/** Runs the dump; false (nothing done, nothing printed) when oclif must. */
export async function dumpFast(a: DumpFastArgs, warn: (message: string) => void, out: FastOutput): Promise<boolean> {
  if (process.stderr.isTTY) return false;
  let sizeBytes: number;
  try {
    // the command's own checks (commands/dump.ts)
    sizeBytes = dumpTarget(new RealFs(), a.store).sizeBytes;
  } catch {
    return false;
  }
  const [{ JobControl }, { startJob, wantWorker }] = await Promise.all([import('./job/control.js'), import('./job/run-job.js')]);
  const ctl = new JobControl();
  ctl.warn = warn;
  ctl.step = () => undefined;
  // every filter off (the command's flags' defaults)
  const job = startJob('dump', { store: a.store, region: { includeSystem: false }, markers: false, hex: false, format: a.format, limit: a.limit ?? Number.MAX_SAFE_INTEGER }, ctl, wantWorker(sizeBytes));
  await awaitFastJob(job, ctl, out, (r) => {
    if (reportFaults({ warn }, r.faults, r.loneFile) && (process.exitCode === undefined || process.exitCode === 0)) process.exitCode = EXIT_DATA_PROBLEMS;
  });
  return true;
}
