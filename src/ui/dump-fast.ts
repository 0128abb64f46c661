/**
 * `dump STORE [--format text|jsonl] [--limit N] [--since T] [--until T] [--last N]`
 * without oclif (fast-path.ts): the plain export a script or a pipeline runs, where
 * oclif's start-up (~0.15-0.2 s of CPU) was a tenth of a 1M-event dump (issue 18: dump
 * at least as fast as `sqlite3 -json`), and most of a `--since` read of the last minute
 * (issue 14: under 0.3 s on a 1M-event store).
 *
 * Sound by refusing, as the rest of the fast path: it runs only when stderr is not a
 * terminal (at a terminal BaseCommand draws progress), only these two formats (no JSON
 * document to frame: `--json` and `--format json` go to oclif), and only once the target
 * checks out exactly as the command checks it; any error before the job starts returns
 * false with nothing printed, and oclif then says what it always says. The job is the
 * command's job (ui/job/dump-job.ts, the same input), or for a read by time the
 * command's in-thread read (job/live-dump.ts; `--follow` goes to oclif); its damage is
 * reported by the same function (render/dump-faults.ts), and Ctrl-C does what BaseCommand
 * does (fast-job.ts for a job; for a read in this thread, its JobHost with no job).
 */
import { RealFs } from '../engine/io/real-fs.js';
import { dumpTarget } from './dump-target.js';
import { type LiveChoice, parseLiveFlags } from './live-choice.js';
import { markDataProblems } from './errors.js';
import { fastJobHost, runFastJob } from './fast-job.js';
import type { FastOutput } from './fast-output.js';
import { reportFaults } from './render/dump-faults.js';

export interface DumpFastArgs {
  store: string;
  format: 'text' | 'jsonl';
  limit: number | undefined;
  since: string | undefined;
  until: string | undefined;
  last: number | undefined;
}

/** Runs the dump; false (nothing done, nothing printed) when oclif must. */
export async function dumpFast(a: DumpFastArgs, warn: (message: string) => void, out: FastOutput): Promise<boolean> {
  if (process.stderr.isTTY) return false;
  const fs = new RealFs();
  let target: ReturnType<typeof dumpTarget>;
  let live: LiveChoice | null;
  try {
    // the command's own checks, in its order (commands/dump.ts)
    target = dumpTarget(fs, a.store);
    live = parseLiveFlags({ since: a.since, until: a.until, last: a.last }, { markers: false, format: a.format, store: target.live.kind === 'store' });
  } catch {
    return false;
  }
  const limit = a.limit ?? Number.MAX_SAFE_INTEGER;
  if (live !== null) {
    const [{ liveDump }, { StdoutSink }] = await Promise.all([import('./job/live-dump.js'), import('./stdout-sink.js')]);
    let damaged = false;
    // Ctrl-C: BaseCommand's answer with no job running (job-host.ts)
    const host = fastJobHost(warn, out);
    host.install();
    try {
      await liveDump(fs, {
        target: target.live,
        region: { includeSystem: false },
        live,
        format: a.format,
        hex: false,
        limit,
        out: new StdoutSink(),
        onFault: (fault) => {
          if (reportFaults({ warn }, [fault], target.live.kind === 'segment')) damaged = true;
        },
      });
    } finally {
      host.uninstall();
    }
    if (damaged) markDataProblems();
    return true;
  }
  // every filter off (the command's flags' defaults); the command runs it with readOnly: false
  const input = { store: a.store, region: { includeSystem: false }, markers: false, hex: false, format: a.format, limit };
  await runFastJob('dump', input, { sizeBytes: target.sizeBytes, readOnly: false, warn, out }, (r) => {
    if (reportFaults({ warn }, r.faults, r.loneFile)) markDataProblems();
  });
  return true;
}
