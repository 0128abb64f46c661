/**
 * `seglog drill` without the CLI: prepares the start state, picks the crash points,
 * explores them (split across worker threads when the built worker is available, in
 * this thread otherwise, e.g. under vitest), and merges the results into one report
 * whose digest does not depend on how the work was split.
 */
import { snapshotHasher } from '../../engine/wal/snapshot.js';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createHasher } from '../../format/hash/blake3.js';
import { SeglogError } from '../../engine/io/errors.js';
import type { CrashMode } from '../../sim/sim-fs.js';
import {
  countCrashPoints,
  digestStates,
  type DrillFailure,
  type DrillSpec,
  emptyShardResult,
  emptyTally,
  explorePoints,
  MAX_FAILURES_KEPT,
  type ModeTally,
  prepareStart,
  selectPoints,
  type ShardResult,
} from './crash-explorer.js';
import { INVARIANT_IDS } from './invariants.js';
import { mixSeed } from './sim-env.js';

export interface DrillOptions extends DrillSpec {
  /** 'all' (every mutating operation) or a seeded sample of N points. */
  points: 'all' | number;
  /** Explore only this one point (to reproduce a failure). */
  onlyPoint?: number;
  /**
   * Crash points (a seeded sample of the explored ones) whose crash states also get a
   * power cut at every operation of their recovery, in every mode (recovery-crash.ts).
   * Default 0: none. With onlyPoint, any value above 0 means that point.
   */
  recoveryPoints?: number;
  /** Worker threads; default: up to 2, as many as the machine has cores. 1 = in this thread. */
  workers?: number;
  /** statesTotal counts crash states only: recovery crash states are known as they are explored. */
  onProgress?: (statesDone: number, statesTotal: number) => void;
  /**
   * Stop flag (Ctrl-C): the drill stops once `stop[0]` is non-zero, before its next crash
   * state, and reports what it explored (`interrupted: true`). Shared memory, so the
   * drill's own worker threads see it too.
   */
  stop?: Int32Array;
}

export interface DrillReport {
  crashStates: number;
  /** States left by a power cut during a recovery, at every operation of it (not in crashStates). */
  recoveryCrashStates: number;
  /** Crash points whose recovery was crashed (each in every mode). */
  recoveryPoints: number;
  /** Recovery crash states with at least one invariant violated (also in violations). */
  recoveryViolations: number;
  /** Distinct disk images among the crash states (recovery ran once for each). */
  distinctStates: number;
  /** Crash states (recovery crash states included) with at least one invariant violated. */
  violations: number;
  digest: string;
  byMode: Record<string, ModeTally>;
  failures: DrillFailure[];
  seed: number;
  workload: string;
  modes: CrashMode[];
  canary: boolean;
  /** Mutating operations of the workload: the crash points `--points all` explores. */
  operations: number;
  points: number;
  workers: number;
  elapsedMs: number;
  /** Stopped by `stop` before every point was explored: the counts are of what was. */
  interrupted: boolean;
}

/** Messages a drill worker posts. */
export type WorkerMessage = { type: 'progress'; statesDone: number } | { type: 'done'; result: ShardResult } | { type: 'error'; message: string };

/** What a drill worker gets as workerData. */
export interface WorkerJob {
  spec: DrillSpec;
  opsPerEpisode: number[];
  points: number[];
  recoveryPoints: number[];
  stop?: Int32Array;
}

const DEFAULT_MAX_WORKERS = 2;
/** Below this many crash states a worker's start-up costs more than it saves. */
const MIN_STATES_FOR_WORKERS = 200;
/** Seed tag of the sample of points whose recoveries are crashed. */
const RECOVERY_SAMPLE_TAG = 0x7ec;

export async function runDrill(opts: DrillOptions): Promise<DrillReport> {
  const startedMs = performance.now();
  const stop = opts.stop;
  const stopped = (): boolean => stop !== undefined && Atomics.load(stop, 0) !== 0;
  const spec: DrillSpec = { seed: opts.seed, workload: opts.workload, fromStore: opts.fromStore, modes: opts.modes, canary: opts.canary, canaryKind: opts.canaryKind };
  const report = (shards: readonly ShardResult[], operations: number, points: number, recoveryPoints: number, workers: number): DrillReport => ({
    ...merge(shards, spec),
    recoveryPoints,
    seed: spec.seed,
    workload: spec.workload,
    modes: [...spec.modes],
    canary: spec.canary,
    operations,
    points,
    workers,
    elapsedMs: Math.round(performance.now() - startedMs),
    interrupted: stopped(),
  });
  // each preparing step takes ~0.1 s (more from a large store): a Ctrl-C is looked at between them
  if (stopped()) return report([emptyShardResult(spec)], 0, 0, 0, 0);
  const hasher = await createHasher();
  await snapshotHasher(); // the workloads' snapshot steps and the snapshot-replay check use it synchronously
  const start = prepareStart(spec, hasher);
  if (stopped()) return report([emptyShardResult(spec)], 0, 0, 0, 0);
  const opsPerEpisode = countCrashPoints(start, spec, hasher);
  const operations = opsPerEpisode.reduce((a, b) => a + b, 0);
  let points: number[];
  if (opts.onlyPoint !== undefined) {
    if (opts.onlyPoint >= operations) throw new SeglogError('usage', `crash point ${opts.onlyPoint} is past the workload's ${operations} operations (0..${operations - 1})`);
    points = [opts.onlyPoint];
  } else {
    points = selectPoints(operations, opts.points, opts.seed);
  }
  const wantRecovery = Math.max(0, opts.recoveryPoints ?? 0);
  const recoveryPoints = wantRecovery === 0 ? [] : selectPoints(points.length, wantRecovery, mixSeed(opts.seed, RECOVERY_SAMPLE_TAG)).map((i) => points[i]!);
  const total = points.length * spec.modes.length;
  const workerUrl = new URL('./drill-worker.js', import.meta.url);
  const wantWorkers = Math.max(1, opts.workers ?? Math.min(DEFAULT_MAX_WORKERS, availableParallelism()));
  const workers = wantWorkers > 1 && total + recoveryPoints.length * spec.modes.length >= MIN_STATES_FOR_WORKERS && existsSync(fileURLToPath(workerUrl)) ? wantWorkers : 1;

  let shards: ShardResult[];
  if (stopped()) {
    shards = [emptyShardResult(spec)];
  } else if (workers === 1) {
    shards = [explorePoints(start, spec, opsPerEpisode, points, hasher, (done) => opts.onProgress?.(done, total), recoveryPoints, stopped)];
  } else {
    const done = new Array<number>(workers).fill(0);
    // Interleaved split: later points cost more (the store has grown), so each worker
    // gets every n-th point rather than a contiguous half; the recovery points, each
    // worth many crash states, are dealt out the same way on their own.
    const jobs = Array.from({ length: workers }, (_, w) => ({
      points: points.filter((_, i) => i % workers === w),
      recoveryPoints: recoveryPoints.filter((_, i) => i % workers === w),
    }));
    shards = await Promise.all(
      jobs.map((job, w) =>
        runWorker(workerUrl, { spec, opsPerEpisode, ...job, ...(opts.stop ? { stop: opts.stop } : {}) }, (n) => {
          done[w] = n;
          opts.onProgress?.(done.reduce((a, b) => a + b, 0), total);
        }),
      ),
    );
  }
  return report(shards, operations, points.length, recoveryPoints.length, workers);
}

function runWorker(url: URL, job: WorkerJob, onProgress: (statesDone: number) => void): Promise<ShardResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: job });
    let settled = false;
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress(m.statesDone);
      else if (m.type === 'done') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        reject(new Error(m.message));
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`drill worker exited with code ${code} before finishing`));
    });
  });
}

function merge(
  shards: readonly ShardResult[],
  spec: DrillSpec,
): Pick<DrillReport, 'crashStates' | 'recoveryCrashStates' | 'recoveryViolations' | 'distinctStates' | 'violations' | 'digest' | 'byMode' | 'failures'> {
  const byMode: Record<string, ModeTally> = {};
  for (const mode of spec.modes) byMode[mode] = emptyTally();
  let crashStates = 0;
  let recoveryCrashStates = 0;
  let recoveryViolations = 0;
  let distinctStates = 0;
  let violations = 0;
  const failures: DrillFailure[] = [];
  for (const s of shards) {
    crashStates += s.crashStates;
    recoveryCrashStates += s.recoveryCrashStates;
    recoveryViolations += s.recoveryViolations;
    distinctStates += s.distinctStates;
    violations += s.violations;
    failures.push(...s.failures);
    for (const [mode, t] of Object.entries(s.byMode)) {
      const m = byMode[mode]!;
      m.crashStates += t.crashStates;
      m.violations += t.violations;
      m.recoveryCrashStates += t.recoveryCrashStates;
      m.recoveryViolations += t.recoveryViolations;
      for (const inv of INVARIANT_IDS) m.invariants[inv] += t.invariants[inv];
    }
  }
  failures.sort((a, b) => a.point - b.point || spec.modes.indexOf(a.mode) - spec.modes.indexOf(b.mode) || (a.recoveryOp ?? -1) - (b.recoveryOp ?? -1));
  const digest = digestStates(
    shards.flatMap((s) => s.states),
    spec.modes,
  );
  return { crashStates, recoveryCrashStates, recoveryViolations, distinctStates, violations, digest, byMode, failures: failures.slice(0, MAX_FAILURES_KEPT) };
}
