/**
 * A job run by the start-up fast path (ui/dump-fast.ts, ui/verify-fast.ts), where there is
 * no BaseCommand: its runJob without progress (the fast path runs only when stderr is not
 * a terminal), and its Ctrl-C handling. The first Ctrl-C cancels the job (a read-only job
 * in a worker is stopped outright: `done` rejects with JobCancelled, which the caller
 * reports as an interruption), and the command ends with what the job did, `seglog:
 * interrupted` and exit 130; a second Ctrl-C, or a job that does not stop within
 * INTERRUPT_CLEANUP_TIMEOUT_MS, exits at once.
 */
import { EXIT_INTERRUPTED, interruptedReport, INTERRUPT_CLEANUP_TIMEOUT_MS } from '../errors.js';
import type { FastOutput } from '../fast-path.js';
import { JobControl } from './control.js';
import type { JobInput, JobName, JobOutput } from './jobs.js';
import { startJob, wantWorker } from './run-job.js';

export interface PlainJobDisplay {
  /** Bytes the job reads (the worker choice). */
  sizeBytes: number | null;
  /** A read-only job may be stopped at once; a writing one stops at its next boundary. */
  readOnly: boolean;
}

export async function runPlainJob<N extends JobName>(name: N, input: JobInput<N>, display: PlainJobDisplay, warn: (message: string) => void, out: FastOutput): Promise<JobOutput<N>> {
  const ctl = new JobControl();
  ctl.warn = warn;
  ctl.step = () => undefined;
  const job = startJob(name, input, ctl, wantWorker(display.sizeBytes));
  let interrupted = false;
  let timer: NodeJS.Timeout | undefined;
  const onSigint = (): void => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    ctl.cancel();
    if (display.readOnly && job.inWorker) job.terminate();
    timer = setTimeout(() => {
      job.terminate();
      out.fail(interruptedReport(), new Error('interrupted (SIGINT): the job did not stop in time'));
      process.exit(EXIT_INTERRUPTED);
    }, INTERRUPT_CLEANUP_TIMEOUT_MS);
    timer.unref();
  };
  process.on('SIGINT', onSigint);
  try {
    const output = await job.done;
    if (ctl.cancelled) {
      process.stderr.write('seglog: interrupted\n');
      process.exitCode = EXIT_INTERRUPTED;
    }
    return output;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.removeListener('SIGINT', onSigint);
  }
}
