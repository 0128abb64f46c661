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
 *
 * Beside the job worker (round seven): when the main thread prewarms the job worker
 * (prewarm.ts), it starts this worker too, at the same moment, instead of leaving it to the
 * job worker's top level (~0.1 s later: that thread's boot and static imports come first).
 * The job worker adopts it by a MessagePort (`precheckBeside`, `adoptWarmPrecheck`): the
 * job, its result port inside, goes through that port, and closing the port stops it.
 * `SEGLOG_PRECHECK_BESIDE=0` turns this off. Measured on the 1M-event bench store, 11
 * alternated runs per round, medians: dump 1.179 → 1.134 s, 1.183 → 1.152 s, 1.181 →
 * 1.135 s; verify 1.093 → 1.069 s, 1.097 → 1.081 s, 1.194 → 1.141 s (one round of four
 * each showed no gain: dump 1.352/1.354 s, verify 1.090/1.112 s).
 */
import type { MessagePort } from 'node:worker_threads';
import { startBeside, type WarmData, type WarmHandle, WarmWorker } from '../io/warm-worker.js';

/** What a warm precheck worker is started with, instead of its `WorkerJob`. */
export interface WarmPrecheckData extends WarmData {
  /** Its job hashes (verify): the hashers are made ready before the job comes. */
  hashes: boolean;
}

const warm = new WarmWorker();
const WORKER_URL = new URL('./verify-worker.js', import.meta.url);

/** Jobs whose precheck worker starts warm, with their switches (off: '0'). */
const SWITCHES = {
  verify: { prewarm: 'SEGLOG_VERIFY_PREWARM', workers: 'SEGLOG_VERIFY_WORKERS' },
  dump: { prewarm: 'SEGLOG_DUMP_PREWARM', workers: 'SEGLOG_DUMP_WORKERS' },
} as const;

/** Whether `job`'s precheck worker may start warm (its switches; from the built JS only: the worker file is dist/'s). */
function warmAllowed(job: keyof typeof SWITCHES, env: NodeJS.ProcessEnv): boolean {
  const sw = SWITCHES[job];
  return env[sw.prewarm] !== '0' && env[sw.workers] !== '0' && import.meta.url.endsWith('.js');
}

/** Starts the warm precheck worker for `job` (once). */
export function startWarmPrecheck(job: keyof typeof SWITCHES = 'verify', env: NodeJS.ProcessEnv = process.env): void {
  if (!warmAllowed(job, env)) return;
  const data: WarmPrecheckData = { warm: true, hashes: job === 'verify' };
  warm.start(WORKER_URL, data);
}

/**
 * On the main thread, beside the warm job worker (prewarm.ts): a precheck worker for
 * `job` started by this thread, ~0.1 s before the job worker could start one (it does once
 * its own modules are loaded). `jobPort` goes to the job worker, which adopts the worker
 * by it (adoptWarmPrecheck); `start()` starts the worker, after the job worker (whose
 * boot is the longer path). Null: no such worker (the switches, not a precheck job).
 * `SEGLOG_PRECHECK_BESIDE=0` turns this off: the job worker starts its own, as before.
 */
export function precheckBeside(job: string, env: NodeJS.ProcessEnv = process.env): { jobPort: MessagePort; start(): void } | null {
  if (!prewarmsPrecheck(job) || env.SEGLOG_PRECHECK_BESIDE === '0' || !warmAllowed(job, env)) return null;
  const data: WarmPrecheckData = { warm: true, hashes: job === 'verify' };
  return startBeside(WORKER_URL, data);
}

/** On the job thread: the precheck worker the main thread started (its port) is the warm one. */
export function adoptWarmPrecheck(port: MessagePort): void {
  warm.adopt(port);
}

/** Whether `job` may start its precheck worker warm (job-worker.ts asks with the job's name). */
export function prewarmsPrecheck(job: string): job is keyof typeof SWITCHES {
  return Object.hasOwn(SWITCHES, job);
}

/** The warm precheck worker, if one is up; it is then the caller's, to post a `WorkerJob` to. */
export function takeWarmPrecheck(job: keyof typeof SWITCHES): WarmHandle | null {
  return warm.take(`${job} precheck`);
}

/** Stops a warm precheck worker nobody took. */
export function dropWarmPrecheck(): void {
  warm.drop();
}
