/**
 * A job run from the start-up fast path (dump-fast.ts, append-fast.ts) as BaseCommand runs
 * one (`runJob`, its Ctrl-C handler): a Ctrl-C asks the job to stop at its next boundary;
 * if it has not stopped within INTERRUPT_CLEANUP_TIMEOUT_MS, or at a second Ctrl-C, the
 * process exits 130 at once. A job that stopped early says `seglog: interrupted` and
 * leaves exit status 130; a failed one is reported as BaseCommand reports it.
 */
import { classifyError, EXIT_INTERRUPTED, INTERRUPT_CLEANUP_TIMEOUT_MS, interruptedReport } from './errors.js';
import type { FastOutput } from './fast-path.js';
import type { JobControl } from './job/control.js';
import type { RunningJob } from './job/run-job.js';

/** Waits for the job and hands its output to `finish` (what it throws is reported as the job's failure). */
export async function awaitFastJob<O>(job: RunningJob<O>, ctl: JobControl, out: FastOutput, finish: (output: O) => void): Promise<void> {
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    ctl.cancel();
    const timer = setTimeout(() => {
      job.terminate();
      out.fail(interruptedReport(), new Error('interrupted (SIGINT): the job did not stop in time'));
      process.exit(EXIT_INTERRUPTED);
    }, INTERRUPT_CLEANUP_TIMEOUT_MS);
    timer.unref();
  };
  process.on('SIGINT', onSigint);
  try {
    const r = await job.done;
    if (ctl.cancelled) {
      process.stderr.write('seglog: interrupted\n');
      process.exitCode = EXIT_INTERRUPTED;
    }
    finish(r);
  } catch (err) {
    out.fail(classifyError(err), err);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
