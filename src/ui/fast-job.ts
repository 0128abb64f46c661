/**
 * A job (ui/job/) run from the start-up fast path (fast-path.ts) exactly as BaseCommand
 * runs one: through the same JobHost (job-host.ts: where the job runs, Ctrl-C while it
 * runs and after it, the 2 s limit, exit 130), with no progress drawn (the fast path runs
 * these commands only when stderr is not a terminal) and failures reported through
 * FastOutput.fail, as BaseCommand's catch reports them.
 */
import { classifyError } from './errors.js';
import type { FastOutput } from './fast-output.js';
import { JobHost } from './job-host.js';
import type { JobInput, JobName, JobOutput } from './job/jobs.js';

export interface FastJobOptions {
  /** Input size for the worker decision (BaseCommand's JobDisplay.sizeBytes). */
  sizeBytes: number | null;
  /** As JobDisplay.readOnly: such a job in a worker is stopped outright on Ctrl-C. */
  readOnly: boolean;
  warn: (message: string) => void;
  out: FastOutput;
}

const NO_SPINNER = { update: () => undefined, succeed: () => undefined, fail: () => undefined, stop: () => undefined };

/** A JobHost for a command run without oclif: no spinner, failures through `out`. */
export function fastJobHost(warn: (message: string) => void, out: FastOutput): JobHost {
  return new JobHost({ spinner: () => NO_SPINNER, warn, stopSpinners: () => undefined, fail: (report, err) => out.fail(report, err) });
}

/**
 * Runs the job, then `then` with its output; an error of either is reported through
 * `opts.out` (BaseCommand's catch). Ctrl-C is the JobHost's until `then` returns.
 */
export async function runFastJob<N extends JobName>(name: N, input: JobInput<N>, opts: FastJobOptions, then: (output: JobOutput<N>) => void): Promise<void> {
  const host = fastJobHost(opts.warn, opts.out);
  host.install();
  try {
    then(await host.runJob(name, input, { label: name, unit: null, sizeBytes: opts.sizeBytes, readOnly: opts.readOnly }));
  } catch (err) {
    opts.out.fail(classifyError(err), err);
  } finally {
    host.uninstall();
  }
}
