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
 * At the points chosen for it, each crash state is also recovered with a power cut at
 * every operation of the recovery itself (recovery-crash.ts): those are the recovery
 * crash states, counted apart and checked with the same invariants.
 *
 * Runs in one thread; `drill-runner.ts` splits the points across worker threads.
 */
import { createHash } from 'node:crypto';
import type { Blake3 } from '../../format/hash/blake3.js';
import { CRASH_MODES, type CrashMode, Prng, SimFs, type SimSnapshot } from '../../sim/sim-fs.js';
import { ioError, SeglogError } from '../../engine/io/errors.js';
import { isFsError } from '../../engine/io/fs-types.js';
import { exists } from '../../engine/io/fs-util.js';
import { storePaths } from '../../engine/io/layout.js';
import { Store } from '../../engine/store/store.js';
import { AckRecorder } from './ack-recorder.js';
import { BROKEN_RECOVERIES, type CanaryKind } from './canary.js';
import { describe, engineRecovery, judge, type RecoverFn, type RecoveryOutcome, recoverCrashedStore, verifyProblemKeys } from './crash-check.js';
import { INVARIANT_IDS, type InvariantId, type Violation } from './invariants.js';
import { PointFs } from '../../sim/point-fs.js';
import { countRecoveryOps, crashDuringRecovery, type RecoveryRun } from './recovery-crash.js';
import { mixSeed, SIM_EPOCH_MS, SIM_STORE_DIR, SimMachine } from './sim-env.js';
import { WorkloadRunner } from './workload-runner.js';
import { buildWorkload, episodeCount, type Workload, type WorkloadName } from './workload.js';

export interface DrillSpec {
  seed: number;
  workload: WorkloadName;
  /** A real store directory to start from: copied into the simulated disk, never written. */
  fromStore?: string;
  modes: readonly CrashMode[];
  /** Run against the deliberately broken recovery (see canary.ts). */
  canary: boolean;
  /** Which broken recovery the canary runs (default: the one keeping incomplete batches). */
  canaryKind?: CanaryKind;
}

export interface DrillFailure {
  seed: number;
  point: number;
  mode: CrashMode;
  invariant: InvariantId;
  detail: string;
  /** Set for a recovery crash state: the power was cut again after this recovery operation (0-based). */
  recoveryOp?: number;
}

export interface ModeTally {
  crashStates: number;
  /** Crash states with at least one violation (recovery crash states included). */
  violations: number;
  /** Crash states of a recovery that crashed, at every operation of it (not in crashStates). */
  recoveryCrashStates: number;
  /** Recovery crash states with at least one violation (also counted in violations). */
  recoveryViolations: number;
  invariants: Record<InvariantId, number>;
}

/** Recovery outcomes kept for reuse; identical crash states come in runs of nearby points. */
const RECOVERY_CACHE_ENTRIES = 128;

/**
 * Recovery outcomes by crash-disk digest. Several crash points often leave the same disk
 * (lose-unsynced between two fsyncs, cut before and after an fsync): recovery is a
 * function of the disk's bytes, so it runs once per image, while invariants 1-3 are
 * still judged against each point's own acknowledgements. Oldest entries go first.
 */
class RecoveryCache {
  private readonly map = new Map<string, RecoveryOutcome>();
  get(digest: string): RecoveryOutcome | undefined {
    return this.map.get(digest);
  }
  set(digest: string, outcome: RecoveryOutcome): void {
    if (this.map.size >= RECOVERY_CACHE_ENTRIES) this.map.delete(this.map.keys().next().value as string);
    this.map.set(digest, outcome);
  }
}

/** One explored crash state, for the digest. */
export interface StateLine {
  point: number;
  mode: CrashMode;
  /** -1 for the crash state itself, k for the crash after its recovery's operation k. */
  recoveryOp: number;
  line: string;
}

export interface ShardResult {
  crashStates: number;
  /** Recovery crash states (recovery-crash.ts), not in crashStates. */
  recoveryCrashStates: number;
  /** Points whose crash states got recovery crashes, times modes. */
  recoveryPointStates: number;
  /** Distinct disk images among the crash states: recovery ran once per image. */
  distinctStates: number;
  violations: number;
  recoveryViolations: number;
  byMode: Record<string, ModeTally>;
  failures: DrillFailure[];
  states: StateLine[];
}

/** Failures kept with their details; the counts cover them all. */
export const MAX_FAILURES_KEPT = 200;
/** Checker pids start here, far from the workload's, so no checker owns a workload lock. */
const CHECKER_PID_BASE = 900_000;
/** The process that recovers a starting store once, to learn its events. */
const START_PID_BASE = 800_000;
/** Checker clocks run a day ahead of the workload's. */
const CHECKER_CLOCK_OFFSET_MS = 86_400_000;

export interface StartState {
  snapshot: SimSnapshot;
  /** Mutating operations done before the workload (loading a fixture). */
  baseOps: number;
  /** The workload's episodes, each run on its own copy of the starting disk. */
  episodes: Workload[];
  /** Committed events of the starting store (a fixture's), all durable. */
  baseline: ReturnType<Store['query']>;
  /** Verify problems the starting store already had (see verifyProblemKeys). */
  baselineProblems: string[];
}

/** The simulated disk the workload starts on: empty, or a copy of a real store. */
export function prepareStart(spec: DrillSpec, hasher: Blake3): StartState {
  const sim = new SimFs(mixSeed(spec.seed, 1));
  let baseline: ReturnType<Store['query']> = [];
  let baselineProblems: string[] = [];
  if (spec.fromStore !== undefined) {
    try {
      sim.loadFromReal(spec.fromStore, SIM_STORE_DIR);
    } catch (err) {
      // the copy only reads the real store: a missing or unreadable one is an operational
      // failure naming the path (exit 2), never a raw Node error (test/engine/faults-misc.test.ts)
      const file = (err as { path?: unknown }).path;
      throw ioError(err, typeof file === 'string' ? file : spec.fromStore, 'cannot copy the starting store into the simulated disk');
    }
    const lock = storePaths(SIM_STORE_DIR).lock;
    // The copy starts on a freshly booted machine: whoever held the lock is gone.
    try {
      if (exists(sim, lock)) {
        sim.unlink(lock);
        sim.fsyncDir(SIM_STORE_DIR);
      }
    } catch (err) {
      // a LOCK that is a directory: named as the real store's file, never the copy's
      if (!isFsError(err)) throw err;
      throw withRealPaths(ioError(err, lock, 'remove the LOCK from the copy'), spec, 'the starting store cannot be drilled: ');
    }
    // What the starting store is once recovered: its events must survive every crash,
    // and its own damage (a fixture's) is not the drill's finding. A store that cannot
    // be opened read-write (it needs repair) cannot be drilled: its error goes up as is.
    const probe = SimFs.fromSnapshot(sim.snapshot());
    let store: Store;
    try {
      store = new SimMachine(spec.seed, START_PID_BASE).openStore(probe, hasher, {});
    } catch (err) {
      // a file the real store has but the engine cannot use (a segment that is a directory):
      // an I/O error naming the real file, never a raw error about the simulated copy
      const known = err instanceof SeglogError ? err : isFsError(err) ? ioError(err, (err as { path?: string }).path ?? SIM_STORE_DIR, 'open') : undefined;
      throw known !== undefined ? withRealPaths(known, spec, 'the starting store cannot be opened read-write: ') : err;
    }
    baseline = store.query({ includeSystem: true });
    store.close();
    baselineProblems = [...verifyProblemKeys(probe, hasher)];
  }
  const episodes = Array.from({ length: episodeCount(spec.workload) }, (_, e) => buildWorkload(spec.workload, spec.seed, e));
  return { snapshot: sim.snapshot(), baseOps: sim.mutatingOpCount, episodes, baseline, baselineProblems };
}

/** An engine error about the simulated copy, told in terms of the real store it came from. */
function withRealPaths(err: SeglogError, spec: DrillSpec, prefix: string): SeglogError {
  const real = (text: string): string => (spec.fromStore === undefined ? text : text.split(SIM_STORE_DIR).join(spec.fromStore));
  return new SeglogError(err.code, real(`${prefix}${err.message}`), { file: err.file === undefined ? undefined : real(err.file), offset: err.offset });
}

/** Runs each episode once, without checks: how many crash points each has. */
export function countCrashPoints(start: StartState, spec: DrillSpec, hasher: Blake3): number[] {
  return start.episodes.map((workload, e) => {
    const sim = SimFs.fromSnapshot(start.snapshot, mixSeed(spec.seed, 2, e));
    const runner = new WorkloadRunner(sim, workload, new SimMachine(mixSeed(spec.seed, e)), hasher, new AckRecorder());
    try {
      runner.runAll();
    } catch (err) {
      // a starting store whose damage shows only once the workload reopens it (a footer
      // hid it until the last segment was continued) keeps its own error and exit code
      if (err instanceof SeglogError) throw withRealPaths(err, spec, `episode ${e} of the drill workload, without any crash: `);
      throw new Error(`episode ${e} of the drill workload failed without any crash: ${describe(err)}`);
    }
    return sim.mutatingOpCount - start.baseOps;
  });
}

/** Where each episode's points start in the drill's global point numbering. */
export function episodeOffsets(opsPerEpisode: readonly number[]): number[] {
  const offsets = [0];
  for (const n of opsPerEpisode) offsets.push(offsets[offsets.length - 1]! + n);
  return offsets;
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
  return { crashStates: 0, violations: 0, recoveryCrashStates: 0, recoveryViolations: 0, invariants: Object.fromEntries(INVARIANT_IDS.map((i) => [i, 0])) as Record<InvariantId, number> };
}

/** The recovery a drill checks: the engine's, or the canary's broken one. */
export function recoveryOf(spec: DrillSpec): RecoverFn {
  return spec.canary ? BROKEN_RECOVERIES[spec.canaryKind ?? 'keeps-incomplete-batches'] : engineRecovery;
}

/**
 * Explores the crash states at `points` (global numbering, ascending) for every mode of
 * the spec, and the recovery crash states of those at `recoveryPoints` (any points of
 * the workload, ascending). `onProgress` is called with the number of states done so far.
 */
/** A shard that explored nothing (also what a drill stopped before it began reports). */
export function emptyShardResult(spec: DrillSpec): ShardResult {
  const result: ShardResult = {
    crashStates: 0,
    recoveryCrashStates: 0,
    recoveryPointStates: 0,
    distinctStates: 0,
    violations: 0,
    recoveryViolations: 0,
    byMode: {},
    failures: [],
    states: [],
  };
  for (const mode of spec.modes) result.byMode[mode] = emptyTally();
  return result;
}

export function explorePoints(
  start: StartState,
  spec: DrillSpec,
  opsPerEpisode: readonly number[],
  points: readonly number[],
  hasher: Blake3,
  onProgress?: (statesDone: number) => void,
  recoveryPoints: readonly number[] = [],
  /** Checked before each crash state: once true, the rest is skipped (Ctrl-C) and the result holds what was explored. */
  shouldStop: () => boolean = () => false,
): ShardResult {
  const result = emptyShardResult(spec);
  const offsets = episodeOffsets(opsPerEpisode);
  const recover = recoveryOf(spec);
  const knownProblems = new Set(start.baselineProblems);
  const inEpisode = (list: readonly number[], e: number): Set<number> => new Set(list.filter((p) => p >= offsets[e]! && p < offsets[e + 1]!).map((p) => p - offsets[e]!));
  for (let e = 0; e < start.episodes.length; e++) {
    const wanted = inEpisode(points, e);
    const wantedRecovery = inEpisode(recoveryPoints, e);
    if (wanted.size === 0 && wantedRecovery.size === 0) continue;
    const workload = start.episodes[e]!;
    const recorder = new AckRecorder();
    recorder.setBaseline(start.baseline);
    const sim = SimFs.fromSnapshot(start.snapshot, mixSeed(spec.seed, 2, e));
    const cache = new RecoveryCache();
    const run: RecoveryRun = { hasher, storeOptions: workload.storeOptions, recover };
    /** Recovers a crashed disk (once per distinct image) and judges it against the acknowledgements. */
    const checkDisk = (fork: SimFs, machineSeed: number, clockOffsetMs: number): { digest: string; check: ReturnType<typeof judge> } => {
      const crashDigest = fork.digest();
      let outcome = cache.get(crashDigest);
      if (!outcome) {
        const machine = new SimMachine(machineSeed, CHECKER_PID_BASE, SIM_EPOCH_MS + clockOffsetMs);
        outcome = recoverCrashedStore(fork, { hasher, storeOptions: workload.storeOptions, recover, machine, knownProblems });
        cache.set(crashDigest, outcome);
        result.distinctStates++;
      }
      return { digest: crashDigest, check: judge(outcome, recorder, false) };
    };
    const checkPoint = (local: number): void => {
      const plain = wanted.has(local);
      const withRecovery = wantedRecovery.has(local);
      if (!plain && !withRecovery) return;
      if (shouldStop()) return;
      const point = offsets[e]! + local;
      const snapshot = sim.snapshot();
      for (const mode of spec.modes) {
        if (shouldStop()) return;
        const crashSeed = mixSeed(spec.seed, point, CRASH_MODES.indexOf(mode));
        const fork = SimFs.fromSnapshot(snapshot, crashSeed);
        fork.crash(mode, crashSeed);
        // the crashed disk, before any recovery writes to it
        const crashed = withRecovery ? fork.snapshot() : null;
        if (plain) {
          const { digest, check } = checkDisk(fork, crashSeed, CHECKER_CLOCK_OFFSET_MS);
          tallyState(result, spec, point, mode, -1, check.violations);
          result.states.push({ point, mode, recoveryOp: -1, line: `${point} ${mode} ${digest} ${check.visibleCount} ${check.nextSeq} ${check.violations.length}` });
          onProgress?.(result.crashStates + result.recoveryCrashStates);
        }
        if (crashed) {
          result.recoveryPointStates++;
          const ops = countRecoveryOps(crashed, crashSeed, run);
          for (let k = 0; k < ops; k++) {
            if (shouldStop()) return;
            const again = crashDuringRecovery(crashed, crashSeed, k, mode, run);
            // the checker's clock runs after the crashed recovery's (lost+found names, wall times)
            const { digest, check } = checkDisk(again, mixSeed(crashSeed, k), 2 * CHECKER_CLOCK_OFFSET_MS);
            tallyState(result, spec, point, mode, k, check.violations);
            result.states.push({ point, mode, recoveryOp: k, line: `${point} ${mode} r${k} ${digest} ${check.visibleCount} ${check.nextSeq} ${check.violations.length}` });
            onProgress?.(result.crashStates + result.recoveryCrashStates);
          }
        }
      }
    };
    const fs = new PointFs(sim, start.baseOps, checkPoint);
    new WorkloadRunner(fs, workload, new SimMachine(mixSeed(spec.seed, e)), hasher, recorder).runAll();
    if (shouldStop()) break;
  }
  return result;
}

/** Counts one crash state (recoveryOp -1) or recovery crash state (recoveryOp k). */
function tallyState(result: ShardResult, spec: DrillSpec, point: number, mode: CrashMode, recoveryOp: number, violations: readonly Violation[]): void {
  const tally = result.byMode[mode]!;
  const inRecovery = recoveryOp >= 0;
  if (inRecovery) {
    tally.recoveryCrashStates++;
    result.recoveryCrashStates++;
  } else {
    tally.crashStates++;
    result.crashStates++;
  }
  if (violations.length === 0) return;
  tally.violations++;
  result.violations++;
  if (inRecovery) {
    tally.recoveryViolations++;
    result.recoveryViolations++;
  }
  const counted = new Set<InvariantId>();
  for (const v of violations) {
    if (!counted.has(v.invariant)) tally.invariants[v.invariant]++;
    counted.add(v.invariant);
    if (result.failures.length < MAX_FAILURES_KEPT) {
      result.failures.push({ seed: spec.seed, point, mode, invariant: v.invariant, detail: v.detail, ...(inRecovery ? { recoveryOp } : {}) });
    }
  }
}

/** The digest of a drill: sha256 over its crash states in (point, mode, recovery operation) order. */
export function digestStates(states: readonly StateLine[], modes: readonly CrashMode[]): string {
  const sorted = [...states].sort((a, b) => a.point - b.point || modes.indexOf(a.mode) - modes.indexOf(b.mode) || a.recoveryOp - b.recoveryOp);
  const hash = createHash('sha256');
  for (const s of sorted) hash.update(`${s.line}\n`);
  return hash.digest('hex');
}

/** The disk right after the drill's mutating operation `point` (global), crashed in `mode` (for debugging and regression tests). */
export function crashStateAt(start: StartState, spec: DrillSpec, opsPerEpisode: readonly number[], point: number, mode: CrashMode, hasher: Blake3): SimFs {
  const offsets = episodeOffsets(opsPerEpisode);
  const e = offsets.findIndex((o, i) => i < opsPerEpisode.length && point >= o && point < offsets[i + 1]!);
  if (e < 0) throw new RangeError(`point ${point} is past the drill's ${offsets[offsets.length - 1]} operations`);
  const sim = SimFs.fromSnapshot(start.snapshot, mixSeed(spec.seed, 2, e));
  let snapshot: SimSnapshot | undefined;
  const hook = (local: number): void => {
    if (local === point - offsets[e]!) snapshot = sim.snapshot();
  };
  new WorkloadRunner(new PointFs(sim, start.baseOps, hook), start.episodes[e]!, new SimMachine(mixSeed(spec.seed, e)), hasher, new AckRecorder()).runAll();
  const crashSeed = mixSeed(spec.seed, point, CRASH_MODES.indexOf(mode));
  const fork = SimFs.fromSnapshot(snapshot!, crashSeed);
  fork.crash(mode, crashSeed);
  return fork;
}
