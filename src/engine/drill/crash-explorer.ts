/**
 * The crash explorer: runs a workload on the simulated disk and checks the crash states
 * at a list of crash points, in every requested mode.
 *
 * A crash point k is the workload's k-th mutating file-system operation (0-based,
 * counted from the workload's start): the state a power cut right after it completes
 * leaves, exactly what `SimFs.crashAfter(k)` gives. The workload runs once through a
 * PointFs; after each selected operation the explorer snapshots the disk and, for each
 * mode, forks the snapshot, applies `crash(mode, seed)`, and hands the fork to the
 * crash checker with the recorder's view of what was acknowledged at that moment.
 *
 * Runs in one thread; `drill-runner.ts` splits the points across worker threads.
 */
import { createHash } from 'node:crypto';
import type { Blake3 } from '../../format/blake3.js';
import { CRASH_MODES, type CrashMode, Prng, SimFs, type SimSnapshot } from '../fs/sim-fs.js';
import { exists } from '../fs/util.js';
import { storePaths } from '../layout.js';
import { Store } from '../store.js';
import { AckRecorder } from './ack-recorder.js';
import { brokenRecoveryKeepingIncompleteBatches } from './canary.js';
import { checkCrashedStore, describe, engineRecovery } from './crash-check.js';
import { INVARIANT_IDS, type InvariantId } from './invariants.js';
import { PointFs } from './point-fs.js';
import { mixSeed, SIM_EPOCH_MS, SIM_STORE_DIR, SimMachine } from './sim-env.js';
import { WorkloadRunner } from './workload-runner.js';
import { buildWorkload, type Workload, type WorkloadName } from './workload.js';

export interface DrillSpec {
  seed: number;
  workload: WorkloadName;
  /** A real store directory to start from: copied into the simulated disk, never written. */
  fromStore?: string;
  modes: readonly CrashMode[];
  /** Run against the deliberately broken recovery (see canary.ts). */
  canary: boolean;
}

export interface DrillFailure {
  seed: number;
  point: number;
  mode: CrashMode;
  invariant: InvariantId;
  detail: string;
}

export interface ModeTally {
  crashStates: number;
  /** Crash states with at least one violation. */
  violations: number;
  invariants: Record<InvariantId, number>;
}

/** One explored crash state, for the digest. */
export interface StateLine {
  point: number;
  mode: CrashMode;
  line: string;
}

export interface ShardResult {
  crashStates: number;
  violations: number;
  byMode: Record<string, ModeTally>;
  failures: DrillFailure[];
  states: StateLine[];
}

/** Failures kept with their details; the counts cover them all. */
export const MAX_FAILURES_KEPT = 200;
/** Checker pids start here, far from the workload's, so no checker owns a workload lock. */
const CHECKER_PID_BASE = 900_000;
/** Checker clocks run a day ahead of the workload's. */
const CHECKER_CLOCK_OFFSET_MS = 86_400_000;

export interface StartState {
  snapshot: SimSnapshot;
  /** Mutating operations done before the workload (loading a fixture). */
  baseOps: number;
  workload: Workload;
  /** Committed events of the starting store (a fixture's), all durable. */
  baseline: ReturnType<Store['query']>;
}

/** The simulated disk the workload starts on: empty, or a copy of a real store. */
export function prepareStart(spec: DrillSpec, hasher: Blake3): StartState {
  const sim = new SimFs(mixSeed(spec.seed, 1));
  let baseline: ReturnType<Store['query']> = [];
  if (spec.fromStore !== undefined) {
    sim.loadFromReal(spec.fromStore, SIM_STORE_DIR);
    const lock = storePaths(SIM_STORE_DIR).lock;
    // The copy starts on a freshly booted machine: whoever held the lock is gone.
    if (exists(sim, lock)) {
      sim.unlink(lock);
      sim.fsyncDir(SIM_STORE_DIR);
    }
    const reader = Store.openSync(SIM_STORE_DIR, { fs: SimFs.fromSnapshot(sim.snapshot()), readOnly: true }, hasher);
    baseline = reader.query();
    reader.close();
  }
  return { snapshot: sim.snapshot(), baseOps: sim.mutatingOpCount, workload: buildWorkload(spec.workload, spec.seed), baseline };
}

/** Runs the workload once, without checks: how many crash points it has. */
export function countCrashPoints(start: StartState, spec: DrillSpec, hasher: Blake3): number {
  const sim = SimFs.fromSnapshot(start.snapshot, mixSeed(spec.seed, 2));
  const runner = new WorkloadRunner(sim, start.workload, new SimMachine(spec.seed), hasher, new AckRecorder());
  try {
    runner.runAll();
  } catch (err) {
    throw new Error(`the drill workload failed without any crash: ${describe(err)}`);
  }
  return sim.mutatingOpCount - start.baseOps;
}

/** All points, or a seeded sample of `count` distinct points, in ascending order. */
export function selectPoints(totalPoints: number, points: 'all' | number, seed: number): number[] {
  if (points === 'all' || points >= totalPoints) return Array.from({ length: totalPoints }, (_, i) => i);
  const rng = new Prng(mixSeed(seed, 0x9017));
  const pool = Array.from({ length: totalPoints }, (_, i) => i);
  // Partial Fisher-Yates: the first `points` slots become a uniform sample.
  for (let i = 0; i < points; i++) {
    const j = i + rng.nextInt(totalPoints - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, points).sort((a, b) => a - b);
}

export function emptyTally(): ModeTally {
  return { crashStates: 0, violations: 0, invariants: Object.fromEntries(INVARIANT_IDS.map((i) => [i, 0])) as Record<InvariantId, number> };
}

/**
 * Explores the crash states at `points` (ascending) for every mode of the spec.
 * `onProgress` is called with the number of crash states done so far.
 */
export function explorePoints(
  start: StartState,
  spec: DrillSpec,
  points: readonly number[],
  hasher: Blake3,
  onProgress?: (statesDone: number) => void,
): ShardResult {
  const result: ShardResult = { crashStates: 0, violations: 0, byMode: {}, failures: [], states: [] };
  for (const mode of spec.modes) result.byMode[mode] = emptyTally();
  const wanted = new Set(points);
  const recorder = new AckRecorder();
  recorder.setBaseline(start.baseline);
  const sim = SimFs.fromSnapshot(start.snapshot, mixSeed(spec.seed, 2));
  const recover = spec.canary ? brokenRecoveryKeepingIncompleteBatches : engineRecovery;
  const storeOptions = start.workload.storeOptions;

  const checkPoint = (point: number): void => {
    if (!wanted.has(point)) return;
    const snapshot = sim.snapshot();
    for (const mode of spec.modes) {
      const crashSeed = mixSeed(spec.seed, point, CRASH_MODES.indexOf(mode));
      const fork = SimFs.fromSnapshot(snapshot, crashSeed);
      fork.crash(mode, crashSeed);
      const crashDigest = fork.digest();
      const machine = new SimMachine(crashSeed, CHECKER_PID_BASE, SIM_EPOCH_MS + CHECKER_CLOCK_OFFSET_MS);
      const check = checkCrashedStore(fork, { hasher, storeOptions, recorder, recover, machine });
      const tally = result.byMode[mode]!;
      tally.crashStates++;
      result.crashStates++;
      if (check.violations.length > 0) {
        tally.violations++;
        result.violations++;
        const counted = new Set<InvariantId>();
        for (const v of check.violations) {
          if (!counted.has(v.invariant)) tally.invariants[v.invariant]++;
          counted.add(v.invariant);
          if (result.failures.length < MAX_FAILURES_KEPT) result.failures.push({ seed: spec.seed, point, mode, invariant: v.invariant, detail: v.detail });
        }
      }
      result.states.push({ point, mode, line: `${point} ${mode} ${crashDigest} ${check.visibleCount} ${check.nextSeq} ${check.violations.length}` });
      onProgress?.(result.crashStates);
    }
  };

  const runner = new WorkloadRunner(new PointFs(sim, start.baseOps, checkPoint), start.workload, new SimMachine(spec.seed), hasher, recorder);
  runner.runAll();
  return result;
}

/** The digest of a drill: sha256 over its crash states in (point, mode) order. */
export function digestStates(states: readonly StateLine[], modes: readonly CrashMode[]): string {
  const sorted = [...states].sort((a, b) => a.point - b.point || modes.indexOf(a.mode) - modes.indexOf(b.mode));
  const hash = createHash('sha256');
  for (const s of sorted) hash.update(`${s.line}\n`);
  return hash.digest('hex');
}
