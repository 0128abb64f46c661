/**
 * A job (ui/job/) run from the start-up fast path (fast-path.ts), with what BaseCommand
 * does around one (its runJob and its Ctrl-C handler), so that both paths behave alike:
 *
 * - the job runs where `wantWorker` says, in the prewarmed worker when there is one;
 * - the first Ctrl-C sets the job's cancel flag (a read-only job in a worker is stopped
 *   at once); a job that does not stop within INTERRUPT_CLEANUP_TIMEOUT_MS is stopped,
 *   `seglog: interrupted` (and the --json error document, if nothing was printed yet),
 *   exit 130; a second Ctrl-C exits 130 at once;
 * - a job that returns after it was cancelled: `seglog: interrupted`, exit status 130,
 *   and the caller prints what it returned, as the command does;
 * - a job that throws (JobCancelled included) rejects: the caller reports it through
 *   FastOutput.fail, as BaseCommand's catch does.
 */
import { classifyError, EXIT_INTERRUPTED, INTERRUPT_CLEANUP_TIMEOUT_MS, interruptedReport } from './errors.js';
import type { FastOutput } from './fast-path.js';
import type { JobInput, JobName, JobOutput } from './job/jobs.js';

export interface FastJobOptions {
  /** Input size for the worker decision (BaseCommand's JobDisplay.sizeBytes). */
  sizeBytes: number | null;
  /** As JobDisplay.readOnly: such a job in a worker is stopped outright on Ctrl-C. */
  readOnly: boolean;
  warn: (message: string) => void;
  out: FastOutput;
}

/**
 * Runs the job, then `then` with its output; an error of either is reported through
 * `opts.out` (BaseCommand's catch). A Ctrl-C once the job is over (while `then` prints)
 * says `interrupted` and exits 130, as BaseCommand's handler does with no job running.
 */
export async function runFastJob<N extends JobName>(name: N, input: JobInput<N>, opts: FastJobOptions, then: (output: JobOutput<N>) => void): Promise<void> {
  const [{ JobControl }, { startJob, wantWorker }] = await Promise.all([import('./job/control.js'), import('./job/run-job.js')]);
  const ctl = new JobControl();
  ctl.warn = opts.warn;
  ctl.step = () => undefined;
  const job = startJob(name, input, ctl, wantWorker(opts.sizeBytes));
  const stopAtOnce = opts.readOnly && job.inWorker;
  let running = true;
  let interrupted = false;
  let timer: NodeJS.Timeout | undefined;
  const onSigint = (): void => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    if (!running) {
      opts.out.fail(interruptedReport(), new Error('interrupted (SIGINT)'));
      process.exit(EXIT_INTERRUPTED);
    }
    ctl.cancel();
    if (stopAtOnce) job.terminate();
    timer = setTimeout(() => {
      job.terminate();
      opts.out.fail(interruptedReport(), new Error('interrupted (SIGINT): the job did not stop in time'));
      process.exit(EXIT_INTERRUPTED);
    }, INTERRUPT_CLEANUP_TIMEOUT_MS);
    timer.unref();
  };
  process.on('SIGINT', onSigint);
  try {
    const output = await job.done;
    running = false;
    if (timer !== undefined) clearTimeout(timer);
    if (ctl.cancelled) {
      // BaseCommand.markInterrupted
      if (process.exitCode !== EXIT_INTERRUPTED) process.stderr.write('seglog: interrupted\n');
      process.exitCode = EXIT_INTERRUPTED;
    }
    then(output);
  } catch (err) {
    running = false;
    opts.out.fail(classifyError(err), err);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    process.removeListener('SIGINT', onSigint);
  }
}
