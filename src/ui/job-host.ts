/**
 * Running a command's jobs (ui/job/run-job.ts) and answering Ctrl-C around them, for
 * BaseCommand and for the commands the start-up fast path runs without oclif
 * (fast-path.ts): one implementation, so both paths stop, report and exit alike.
 *
 * Ctrl-C while a job runs asks it to stop at its next boundary (a read-only job in a
 * worker is stopped at once); the command then reports what the job did, and exits 130.
 * A job that does not stop within INTERRUPT_CLEANUP_TIMEOUT_MS is stopped, the
 * interruption reported, the cleanups run (a store closed, its lock released) and the
 * process exits 130. Ctrl-C with no job running does the same at once; a second Ctrl-C
 * means "now".
 */
import { markDataProblems, EXIT_INTERRUPTED, INTERRUPT_CLEANUP_TIMEOUT_MS, interruptedReport, type ErrorReport } from './errors.js';
import type { JobControl } from './job/control.js';
import type { JobInput, JobName, JobOutput } from './job/jobs.js';
import type { Spinner } from './spinner.js';

export interface JobDisplay {
  /** Spinner text, e.g. 'appending'. */
  label: string;
  /** What `done` counts ('events'), or null to show bytes only. */
  unit: string | null;
  /** Input size for the worker decision: null when unknown (stdin). */
  sizeBytes: number | null;
  /**
   * Read-only jobs are stopped at once on Ctrl-C (nothing to close); others are asked to
   * stop at their next boundary and given INTERRUPT_CLEANUP_TIMEOUT_MS to do it.
   */
  readOnly: boolean;
  /** The job the command runs next if this one succeeds: its worker is kept for it (run-job.ts startJob). */
  then?: JobName;
}

export type Cleanup = () => void | Promise<void>;

/** What the host needs from its command: its spinner, its warnings and its failure report. */
export interface JobHostHooks {
  spinner(label: string): Spinner;
  warn(message: string): void;
  /** Stops every spinner (Ctrl-C). */
  stopSpinners(): void;
  /** Reports the interruption as the command reports a failure. */
  fail(report: ErrorReport, err: Error): void;
}

export class JobHost {
  /** The job running now (runJob): Ctrl-C cancels it instead of exiting at once. */
  private activeJob: { ctl: JobControl; readOnly: boolean; terminate(): void } | undefined;
  private jobStopTimer: NodeJS.Timeout | undefined;
  private readonly cleanups: Cleanup[] = [];
  private handler: (() => void) | undefined;
  private interrupted = false;

  constructor(private readonly hooks: JobHostHooks) {}

  /**
   * Runs a job (jobs.ts) in a worker thread when its input is large, inline otherwise,
   * with progress on the spinner; resolves with its output. Ctrl-C: see the top of this file.
   */
  async runJob<N extends JobName>(name: N, input: JobInput<N>, display: JobDisplay): Promise<JobOutput<N>> {
    const [{ JobControl }, { startJob, wantWorker }, { formatProgress, PROGRESS_INTERVAL_MS }] = await Promise.all([
      import('./job/control.js'),
      import('./job/run-job.js'),
      import('./progress.js'),
    ]);
    const ctl = new JobControl();
    ctl.warn = (m) => this.hooks.warn(m);
    let label = display.label;
    ctl.step = (text) => {
      label = text;
    };
    const job = startJob(name, input, ctl, wantWorker(display.sizeBytes), display.then);
    this.activeJob = { ctl, readOnly: display.readOnly && job.inWorker, terminate: () => job.terminate() };
    const spin = this.hooks.spinner(display.label);
    const started = Date.now();
    const timer = setInterval(() => spin.update(formatProgress(label, display.unit, ctl.snapshot(), Date.now() - started)), PROGRESS_INTERVAL_MS);
    try {
      const output = await job.done;
      if (ctl.cancelled) this.markInterrupted();
      return output;
    } finally {
      clearInterval(timer);
      if (this.jobStopTimer !== undefined) clearTimeout(this.jobStopTimer);
      spin.stop();
      this.activeJob = undefined;
    }
  }

  /** Exit status 130 (interrupted) once the command returns; says so on stderr once. */
  markInterrupted(): void {
    if (process.exitCode !== EXIT_INTERRUPTED) process.stderr.write('seglog: interrupted\n');
    process.exitCode = EXIT_INTERRUPTED;
  }

  /** Exit status 1 ("the data has problems") once the command returns normally. */
  markDataProblems(): void {
    markDataProblems();
  }

  /** Work to do on Ctrl-C before exiting with 130; safe to call at any time (see BaseCommand.onInterrupt). */
  onInterrupt(cleanup: Cleanup): void {
    this.cleanups.push(cleanup);
  }

  /** Takes SIGINT (see the top of this file) until `uninstall`. */
  install(): void {
    if (this.handler !== undefined) return;
    const handler = (): void => {
      // A second Ctrl-C while cleanups run means "now".
      if (this.interrupted) process.exit(EXIT_INTERRUPTED);
      this.interrupted = true;
      this.hooks.stopSpinners();
      const job = this.activeJob;
      if (job !== undefined) {
        // the job stops at its next boundary and the command reports what it did (runJob)
        job.ctl.cancel();
        if (job.readOnly) job.terminate();
        const timer = setTimeout(() => {
          job.terminate();
          this.hooks.fail(interruptedReport(), new Error('interrupted (SIGINT): the job did not stop in time'));
          void this.runCleanups().finally(() => process.exit(EXIT_INTERRUPTED));
        }, INTERRUPT_CLEANUP_TIMEOUT_MS);
        timer.unref();
        this.jobStopTimer = timer;
        return;
      }
      this.hooks.fail(interruptedReport(), new Error('interrupted (SIGINT)'));
      void this.runCleanups().finally(() => process.exit(EXIT_INTERRUPTED));
    };
    this.handler = handler;
    process.on('SIGINT', handler);
  }

  uninstall(): void {
    if (this.handler === undefined) return;
    process.removeListener('SIGINT', this.handler);
    this.handler = undefined;
  }

  private async runCleanups(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, INTERRUPT_CLEANUP_TIMEOUT_MS);
      timer.unref();
    });
    const all = Promise.allSettled(this.cleanups.map(async (cleanup) => cleanup()));
    await Promise.race([all, timeout]);
    if (timer !== undefined) clearTimeout(timer);
  }
}
