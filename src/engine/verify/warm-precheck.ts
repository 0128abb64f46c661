/**
 * A precheck worker (verify-worker.ts) started before its job is known, so that its boot
 * (a thread, ~30 modules, hash-wasm and the SIMD kernel compiled: 0.2-0.25 s on the loaded
 * 2-vCPU bench VM) overlaps the job worker's own start-up instead of following it.
 *
 * Why: the job worker created verify's precheck worker only once the job had opened the
 * store (~0.37 s into a `verify` of the 1M-event bench store); the worker then booted
 * until ~0.6 s, so the walk had already claimed segment 0 and checked it alone (CRCs,
 * hashes one event at a time with hash-wasm, its footer: 0.55 s, the slowest segment of
 * the run) while the worker took segments 1-5 (docs/DECISIONS.md, round five).
 *
 * The job worker starts one at its own boot when its job is `verify` or `dump` (job-worker.ts);
 * `ParallelVerdicts` adopts it as its first worker and posts it the `WorkerJob` a new
 * worker would get as `workerData`. It runs the same `runPrecheckWorker`, so only when the
 * work starts changes, never what it computes. Not adopted (a small store, a lone
 * segment file, `SEGLOG_VERIFY_WORKERS=0`): `startParallelVerdicts` stops it.
 * `SEGLOG_VERIFY_PREWARM=0` turns this off (the worker is created with its job, as before).
 *
 * dump (round six): the same for dump's precheck (CRCs and the payloads' canonical-JSON
 * test, dump-verdicts.ts). Its job thread writes the output and is the critical path; it
 * checked segment 0 itself (sometimes 1 too: CRCs and payload tests, ~0.08 s of CPU per
 * 64 MiB) while its precheck worker was still booting. `SEGLOG_DUMP_PREWARM=0` turns this
 * off (it also stays off with `SEGLOG_DUMP_WORKERS=0`).
 */
import type { Worker } from 'node:worker_threads';
import { type WarmData, WarmWorker } from '../io/warm-worker.js';

/** What a warm precheck worker is started with, instead of its `WorkerJob`. */
export interface WarmPrecheckData extends WarmData {
  /** Its job hashes (verify): the hashers are made ready before the job comes. */
  hashes: boolean;
}

const warm = new WarmWorker();

/** Jobs whose precheck worker starts warm, with their switches (off: '0'). */
const SWITCHES = {
  verify: { prewarm: 'SEGLOG_VERIFY_PREWARM', workers: 'SEGLOG_VERIFY_WORKERS' },
  dump: { prewarm: 'SEGLOG_DUMP_PREWARM', workers: 'SEGLOG_DUMP_WORKERS' },
} as const;

/** Starts the warm precheck worker for `job` (once; from the built JS only: the worker file is dist/'s). */
export function startWarmPrecheck(job: keyof typeof SWITCHES = 'verify', env: NodeJS.ProcessEnv = process.env): void {
  const sw = SWITCHES[job];
  if (env[sw.prewarm] === '0' || env[sw.workers] === '0' || !import.meta.url.endsWith('.js')) return;
  const data: WarmPrecheckData = { warm: true, hashes: job === 'verify' };
  warm.start(new URL('./verify-worker.js', import.meta.url), data);
}

/** Whether `job` may start its precheck worker warm (job-worker.ts asks with the job's name). */
export function prewarmsPrecheck(job: string): job is keyof typeof SWITCHES {
  return Object.hasOwn(SWITCHES, job);
}

/** The warm precheck worker, if one is up; it is then the caller's, to post a `WorkerJob` to. */
export function takeWarmPrecheck(job: keyof typeof SWITCHES): Worker | null {
  return warm.take(`${job} precheck`);
}

/** Stops a warm precheck worker nobody took. */
export function dropWarmPrecheck(): void {
  warm.drop();
}
