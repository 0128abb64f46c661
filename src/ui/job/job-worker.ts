/**
 * Worker-thread entry of run-job.ts: runs one job from jobs.ts and posts its output, or
 * its error as plain fields (the main thread rebuilds a SeglogError from them).
 *
 * Two ways in: `workerData` names the job and carries its input (started when the job
 * starts), or the worker was started early (prewarm.ts) with only the job's name, loads
 * that job's modules at once, and waits for one `start` message with the input. After a
 * job it waits for another `start`: a command that runs a second job next (repair:
 * repairPlan, then repairExecute) may keep it (run-job.ts `then`) instead of booting a
 * new worker; otherwise the main thread terminates it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JobControl, type JobShared } from './control.js';
import { type JobName, loadJob } from './jobs.js';
import type { WarmJobData } from './prewarm.js';
import { serializeError } from './job-errors.js';
import { adoptWarmPrecheck, prewarmsPrecheck, startWarmPrecheck } from '../../engine/verify/warm-precheck.js';
import { startWarmScan } from '../../tools/ingest/scan-pool.js';
import { startWarmWriteBehind } from '../../engine/io/write-behind.js';

interface JobStart {
  name: JobName;
  input: unknown;
  shared: JobShared;
}

const port = parentPort!;

function run(start: JobStart): void {
  const ctl = new JobControl(start.shared);
  ctl.warn = (message) => port.postMessage({ type: 'warn', message });
  ctl.step = (text) => port.postMessage({ type: 'step', text });
  loadJob(start.name)
    .then((job) => (job as (input: unknown, ctl: JobControl) => Promise<unknown>)(start.input, ctl))
    .then(
      (output) => port.postMessage({ type: 'done', output }),
      (err: unknown) => port.postMessage({ type: 'error', error: serializeError(err) }),
    )
    .finally(() => port.once('message', (m: { type: 'start' } & JobStart) => run(m)));
}

const data = workerData as JobStart | WarmJobData;
// verify's and dump's precheck worker, append's scan worker and write-behind thread: booted now, beside this thread's module loading
const jobName = 'warm' in data ? data.warm : data.name;
if (prewarmsPrecheck(jobName)) {
  if ('warm' in data && data.precheckPort) adoptWarmPrecheck(data.precheckPort);
  else startWarmPrecheck(jobName);
} else if (jobName === 'append' && 'warm' in data && startWarmScan(data.inputBytes ?? 0)) startWarmWriteBehind();
if ('warm' in data) {
  // the modules load while the main thread is still loading oclif and parsing flags;
  // a failure here is the job's own to report, when it runs
  loadJob(data.warm).catch(() => undefined);
  port.once('message', (m: { type: 'start' } & JobStart) => run(m));
} else {
  run(data);
}
