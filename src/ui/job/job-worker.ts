/**
 * Worker-thread entry of run-job.ts: runs one job from jobs.ts and posts its output, or
 * its error as plain fields (the main thread rebuilds a SeglogError from them).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JobControl, type JobShared } from './control.js';
import { type JobName, loadJob } from './jobs.js';
import { serializeError } from './job-errors.js';

const data = workerData as { name: JobName; input: unknown; shared: JobShared };
const port = parentPort!;
const ctl = new JobControl(data.shared);
ctl.warn = (message) => port.postMessage({ type: 'warn', message });
ctl.step = (text) => port.postMessage({ type: 'step', text });
loadJob(data.name)
  .then((job) => (job as (input: unknown, ctl: JobControl) => Promise<unknown>)(data.input, ctl))
  .then(
  (output) => port.postMessage({ type: 'done', output }),
  (err: unknown) => port.postMessage({ type: 'error', error: serializeError(err) }),
);
