/** The jobs a command can run in a worker thread (run-job.ts), by name. */
import { appendJob } from './append-job.js';
import { dumpJob } from './dump-job.js';
import { verifyJob } from './verify-job.js';

export const JOBS = {
  append: appendJob,
  dump: dumpJob,
  verify: verifyJob,
} as const;

export type JobName = keyof typeof JOBS;
export type JobInput<N extends JobName> = Parameters<(typeof JOBS)[N]>[0];
export type JobOutput<N extends JobName> = Awaited<ReturnType<(typeof JOBS)[N]>>;
