/**
 * Runs a job (jobs.ts) so that the main thread stays free: in a worker thread when the
 * work may be long, inline otherwise. The engine is synchronous; a synchronous loop on
 * the main thread would keep Ctrl-C's handler and the progress display from ever
 * running until it ended (issue 15). In a worker, the main thread takes the signal,
 * sets the shared cancel flag (control.ts) and keeps drawing progress; the job sees the
 * flag at its next boundary. A read-only job can also just be stopped (`terminate`).
 *
 * Inline runs (small inputs, and vitest, which runs the .ts sources where there is no
 * built worker file) use the same job code and the same control block.
 */
import { Worker } from 'node:worker_threads';
import { JobCancelled, type JobControl } from './control.js';
import { deserializeError, type SerializedError } from './job-errors.js';
import { type JobInput, type JobName, type JobOutput, loadJob } from './jobs.js';
import { dropWarmWorker, JOB_WORKER_MIN_BYTES, keepWarm, takeWarmWorker } from './prewarm.js';


export interface RunningJob<O> {
  readonly inWorker: boolean;
  readonly done: Promise<O>;
  /** Stops a worker at once (read-only jobs); `done` then rejects with JobCancelled. */
  terminate(): void;
}

/**
 * Whether to use a worker: `SEGLOG_JOB_WORKER=0` never, `=1` always; otherwise when the
 * input is large (≥ JOB_WORKER_MIN_BYTES) or of unknown size (stdin: `sizeBytes` null).
 * Never from the .ts sources (no built worker file).
 */
export function wantWorker(sizeBytes: number | null, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!import.meta.url.endsWith('.js')) return false;
  const forced = env.SEGLOG_JOB_WORKER;
  if (forced === '0') return false;
  if (forced === '1') return true;
  return sizeBytes === null || sizeBytes >= JOB_WORKER_MIN_BYTES;
}

/**
 * `then`: the job the caller runs next when this one succeeds (repair: repairExecute after
 * repairPlan). The worker is then kept, idle, as the warm worker for that job (prewarm.ts
 * keepWarm) instead of stopped: the next job starts without booting a thread and loading
 * its modules again (~0.1-0.2 s on the 1M-event bench store). Off with SEGLOG_JOB_PREWARM=0.
 */
export function startJob<N extends JobName>(name: N, input: JobInput<N>, ctl: JobControl, useWorker: boolean, then?: JobName): RunningJob<JobOutput<N>> {
  if (!useWorker) {
    dropWarmWorker();
    // a turn of the event loop first, so a caller's setup (progress, handlers) is in place
    const done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => loadJob(name))
      .then((job) => (job as (input: JobInput<N>, ctl: JobControl) => Promise<JobOutput<N>>)(input, ctl));
    return { inWorker: false, done, terminate: () => ctl.cancel() };
  }
  // a worker started before oclif loaded (prewarm.ts) for this job, else a new one
  const warm = takeWarmWorker(name);
  const worker = warm ?? new Worker(new URL('./job-worker.js', import.meta.url), { workerData: { name, input, shared: ctl.shared } });
  if (warm !== null) warm.postMessage({ type: 'start', name, input, shared: ctl.shared });
  // SEGLOG_DEBUG=1 says where the job runs (test/ui/prewarm.test.ts reads it)
  if (process.env.SEGLOG_DEBUG === '1') process.stderr.write(`seglog: job ${name} in a ${warm !== null ? 'prewarmed' : 'new'} worker\n`);
  let terminated = false;
  const done = new Promise<JobOutput<N>>((resolve, reject) => {
    let settled = false;
    const onMessage = (m: { type: 'warn'; message: string } | { type: 'step'; text: string } | { type: 'done'; output: JobOutput<N> } | { type: 'error'; error: SerializedError }): void => {
      if (m.type === 'warn') {
        ctl.warn(m.message);
        return;
      }
      if (m.type === 'step') {
        ctl.step(m.text);
        return;
      }
      settled = true;
      // unref: the process may end while the worker is still being torn down (measured
      // 15-60 ms of a Ctrl-C's exit waiting for it), or while a kept worker sits idle
      worker.unref();
      if (m.type === 'done' && then !== undefined && !terminated && !ctl.cancelled) {
        // this job's listeners go: the next job's startJob adds its own
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        keepWarm(then, worker);
      } else {
        void worker.terminate();
      }
      if (m.type === 'done') resolve(m.output);
      else reject(deserializeError(m.error));
    };
    const onError = (err: Error): void => {
      settled = true;
      reject(err);
    };
    const onExit = (code: number): void => {
      if (settled) return;
      settled = true;
      reject(terminated ? new JobCancelled() : new Error(`job worker exited with code ${code} before answering`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
  return {
    inWorker: true,
    done,
    terminate: () => {
      terminated = true;
      worker.unref();
      void worker.terminate();
    },
  };
}
