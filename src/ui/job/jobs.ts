/**
 * The jobs a command can run in a worker thread (run-job.ts), by name. Each job module is
 * imported only when its job runs: verify must not load the ingest, dump or WAL code.
 */
type Jobs = {
  append: typeof import('./append-job.js').appendJob;
  drill: typeof import('./drill-job.js').drillJob;
  dump: typeof import('./dump-job.js').dumpJob;
  fixtureBuild: typeof import('./fixture-build-job.js').fixtureBuildJob;
  repairCopy: typeof import('./repair-jobs.js').repairCopyJob;
  repairPlan: typeof import('./repair-jobs.js').repairPlanJob;
  repairExecute: typeof import('./repair-jobs.js').repairExecuteJob;
  sidx: typeof import('./sidx-job.js').sidxJob;
  verify: typeof import('./verify-job.js').verifyJob;
  walDump: typeof import('./wal-jobs.js').walDumpJob;
  walReplay: typeof import('./wal-jobs.js').walReplayJob;
};

export type JobName = keyof Jobs;
export type JobInput<N extends JobName> = Parameters<Jobs[N]>[0];
export type JobOutput<N extends JobName> = Awaited<ReturnType<Jobs[N]>>;

const LOADERS: { [N in JobName]: () => Promise<Jobs[N]> } = {
  append: async () => (await import('./append-job.js')).appendJob,
  drill: async () => (await import('./drill-job.js')).drillJob,
  dump: async () => (await import('./dump-job.js')).dumpJob,
  fixtureBuild: async () => (await import('./fixture-build-job.js')).fixtureBuildJob,
  repairCopy: async () => (await import('./repair-jobs.js')).repairCopyJob,
  repairPlan: async () => (await import('./repair-jobs.js')).repairPlanJob,
  repairExecute: async () => (await import('./repair-jobs.js')).repairExecuteJob,
  sidx: async () => (await import('./sidx-job.js')).sidxJob,
  verify: async () => (await import('./verify-job.js')).verifyJob,
  walDump: async () => (await import('./wal-jobs.js')).walDumpJob,
  walReplay: async () => (await import('./wal-jobs.js')).walReplayJob,
};

/** The job function of `name`, loaded on first use. */
export function loadJob<N extends JobName>(name: N): Promise<Jobs[N]> {
  return LOADERS[name]();
}
