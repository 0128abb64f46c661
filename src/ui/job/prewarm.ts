/**
 * A job worker started before oclif loads (bin/run.js), so that a large job does not
 * wait for a worker thread to boot and load its modules after the command is parsed.
 *
 * Why: a job runs in a worker thread so the main thread can answer Ctrl-C (run-job.ts,
 * issue 15). Booting that worker and loading the job's modules took ~90 ms after the
 * command had parsed its flags (measured on the 1M-event bench store: worker created at
 * 250 ms, running the job at 340 ms), 7% of a `dump`, during which the other core sat
 * idle. Started here, the boot overlaps oclif's own start-up (~200 ms).
 *
 * This is a guess made from the raw command line, and only a guess: the command still
 * decides (`wantWorker`) and `startJob` adopts the warm worker only when it wants a
 * worker for the same job; otherwise the warm worker is stopped. A wrong guess costs a
 * worker boot on the other core, never a different result. The guess: the command is one
 * that runs a job (COMMAND_JOBS), and some argument names a path of at least
 * JOB_WORKER_MIN_BYTES (a store's segment files, or an input file). With
 * `SEGLOG_JOB_WORKER=0` nothing is started; `SEGLOG_JOB_PREWARM=0` turns only this off.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type MessagePort, Worker } from 'node:worker_threads';
import { precheckBeside } from '../../engine/verify/warm-precheck.js';
import type { JobName } from './jobs.js';

/** Below this much input a job runs inline (run-job.ts): it ends in well under a second. */
export const JOB_WORKER_MIN_BYTES = 8 * 1024 * 1024;

/** The job a command line's first words run when its input is large. */
const COMMAND_JOBS: ReadonlyArray<{ words: string[]; job: JobName; noJobFlags?: ReadonlySet<string> }> = [
  // live dumps (ui/live-flags.ts) read in the main thread
  { words: ['dump'], job: 'dump', noJobFlags: new Set(['--follow', '-f', '--since', '--until', '--last']) },
  { words: ['verify'], job: 'verify' },
  { words: ['append'], job: 'append' },
  { words: ['wal', 'dump'], job: 'walDump' },
  // not `wal replay`: it replays from its newest snapshot, often a few MB of a large store,
  // and runs inline then (a warm worker there only cost start-up: bench snapshot-replay +0.1 s)
  { words: ['sidx', 'strip'], job: 'sidx' },
  { words: ['sidx', 'rebuild'], job: 'sidx' },
  { words: ['repair'], job: 'repairPlan' },
];


let warm: { job: JobName; worker: Worker; exited: boolean } | null = null;

/** The value of `--file`/`-f` (`--file X`, `--file=X`, `-f X`, `-fX`), or '' without one. */
function fileFlagValue(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--file' || a === '-f') return argv[i + 1] ?? '';
    if (a.startsWith('--file=')) return a.slice('--file='.length);
    if (a.startsWith('-f') && !a.startsWith('--')) return a.slice(2).replace(/^=/, '');
  }
  return '';
}

/** A warm job worker's workerData: its job's name, and for `append` the size of its `--file` (its scan worker may start warm too). */
export interface WarmJobData {
  warm: JobName;
  inputBytes?: number;
  /** The port of the precheck worker the main thread started beside this one (warm-precheck.ts precheckBeside). */
  precheckPort?: MessagePort;
}

/** The job `argv` (process.argv.slice(2)) would run in a worker, or null. Exported for tests. */
export function guessJob(argv: readonly string[], sizeOf: (path: string) => number = pathSizeBytes): JobName | null {
  const entry = COMMAND_JOBS.find((c) => c.words.every((w, i) => argv[i] === w));
  if (entry === undefined) return null;
  const rest = argv.slice(entry.words.length);
  const noJob = (flag: string): boolean => flag === '--help' || flag === '-h' || entry.noJobFlags?.has(flag) === true;
  if (rest.some((a) => noJob(a.split('=')[0]!))) return null;
  // every word that may be a path: positionals, flag values, `--flag=value` values
  for (const word of rest) {
    const path = word.startsWith('--') && word.includes('=') ? word.slice(word.indexOf('=') + 1) : word;
    // `append --file -`: stdin, of unknown size, always runs in a worker (wantWorker)
    if (path === '-' && entry.job === 'append') return entry.job;
    if (path === '' || path.startsWith('-')) continue;
    if (sizeOf(path) >= JOB_WORKER_MIN_BYTES) return entry.job;
  }
  return null;
}

/**
 * A file's size, or the total of a directory's `*.seg` files: an estimate of what the
 * command's own `storeSizeBytes` will say, made without loading the engine (its modules
 * cost every command line that reaches here ~20-50 ms of start-up, job or not).
 */
function pathSizeBytes(path: string): number {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) return 0;
    if (!st.isDirectory()) return st.size;
    let total = 0;
    for (const name of readdirSync(path)) {
      if (!name.endsWith('.seg')) continue;
      total += statSync(join(path, name), { throwIfNoEntry: false })?.size ?? 0;
      if (total >= JOB_WORKER_MIN_BYTES) break;
    }
    return total;
  } catch {
    return 0;
  }
}

/** Starts a warm worker when `argv` looks like a large job (see the top of this file). */
export function prewarm(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  if (env.SEGLOG_JOB_WORKER === '0' || env.SEGLOG_JOB_PREWARM === '0' || warm !== null) return;
  const job = guessJob(argv);
  if (job === null) return;
  // verify's and dump's precheck worker: started here too, beside the job worker (warm-precheck.ts)
  const beside = precheckBeside(job, env);
  const data: WarmJobData = { warm: job, inputBytes: job === 'append' ? pathSizeBytes(fileFlagValue(argv)) : 0, precheckPort: beside?.jobPort };
  holdWarm(job, new Worker(new URL('./job-worker.js', import.meta.url), { workerData: data, transferList: beside ? [beside.jobPort] : [] }));
  beside?.start();
}

/** `worker`, waiting for a `start` message, becomes the warm worker for `job`. */
function holdWarm(job: JobName, worker: Worker): void {
  // never keeps the process alive by itself: a command that ends without a job just exits
  worker.unref();
  worker.on('error', () => undefined);
  const entry = { job, worker, exited: false };
  // a worker that died while warming (it never should) is not handed out: its exit event is gone
  worker.once('exit', () => {
    entry.exited = true;
  });
  warm = entry;
}

/**
 * Makes a worker that just finished a job the warm worker for `job` (run-job.ts `then`):
 * it waits for a `start` message (job-worker.ts), as a prewarmed one does. With
 * SEGLOG_JOB_PREWARM=0 (or an earlier warm worker still unclaimed) it is stopped instead.
 */
export function keepWarm(job: JobName, worker: Worker, env: NodeJS.ProcessEnv = process.env): void {
  if (env.SEGLOG_JOB_PREWARM === '0' || warm !== null) {
    void worker.terminate();
    return;
  }
  holdWarm(job, worker);
}

/** The warm worker, if one was started for `job`; it is then the caller's. Any other warm worker is stopped. */
export function takeWarmWorker(job: JobName): Worker | null {
  const w = warm;
  warm = null;
  if (w === null) return null;
  if (w.job === job && !w.exited) {
    w.worker.ref();
    return w.worker;
  }
  void w.worker.terminate();
  return null;
}

/** Stops a warm worker nobody took (a job ran inline). */
export function dropWarmWorker(): void {
  if (warm !== null) void warm.worker.terminate();
  warm = null;
}
