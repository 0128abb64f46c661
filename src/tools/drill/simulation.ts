/**
 * Seeded random simulation (in the style of TigerBeetle's VOPR): one seed picks a
 * workload, store options, injected faults (EIO, ENOSPC, short writes on any kind of
 * operation) and power cuts at random operations, all on its own SimFs; half the power
 * cuts are followed by another one within the next recovery's operations (a crash while
 * recovering: lock takeover, tail copy to lost+found, truncate). After every
 * power cut, and after every process death without one (a write that could not be
 * undone, a failed open or close), the disk is forked and checked with the drill's
 * invariants; the run then goes on from what survived. Everything derives from the
 * seed: a failing seed replays exactly.
 */
import type { Blake3 } from '../../format/hash/blake3.js';
import { CRASH_MODES, type FaultCode, Prng, SimCrash, SimFs } from '../../sim/sim-fs.js';
import type { FsOpKind } from '../../engine/io/fs-types.js';
import { exists } from '../../engine/io/fs-util.js';
import type { StoreOptions, SyncMode } from '../../engine/io/options.js';
import { AckRecorder } from './ack-recorder.js';
import { checkCrashedStore, describe, engineRecovery } from './crash-check.js';
import type { InvariantId } from './invariants.js';
import { mixSeed, SIM_EPOCH_MS, SIM_STORE_DIR, SimMachine } from './sim-env.js';
import { isPoisoned, WorkloadRunner } from './workload-runner.js';
import { buildWorkload, SIMULATION_WORKLOADS } from './workload.js';

export interface SimulationFailure {
  seed: number;
  /** The workload step running when the checked event happened. */
  step: number;
  /** What was checked: 'power cut (mode) after operation k', or 'process restart'. */
  event: string;
  invariant: InvariantId;
  detail: string;
}

export interface SimulationResult {
  seed: number;
  workload: string;
  options: Partial<StoreOptions>;
  steps: number;
  /** Power cuts, each checked: the crash states this seed explored. */
  powerCuts: number;
  /** Power cuts that hit a store being opened (recovery crashed, then ran again). */
  cutsDuringOpen: number;
  /** Process deaths without a power cut, each checked. */
  restarts: number;
  faultsArmed: number;
  /** Steps that threw (a fault or a power cut hit them). */
  failedSteps: number;
  failures: SimulationFailure[];
}

/** Per step: chance (in percent) to arm a fault, and to arm a power cut. */
const FAULT_PERCENT = 9;
const CRASH_PERCENT = 7;
/** A power cut is armed within this many mutating operations. */
const CRASH_WINDOW_OPS = 40;
/** Mutating operations of a recovering open (lock, tail copy to lost+found, truncate, checkpoint removal). */
const RECOVERY_WINDOW_OPS = 14;
const FAULT_KINDS: readonly FsOpKind[] = ['write', 'fsync', 'truncate', 'open', 'rename', 'unlink', 'fsyncDir', 'read', 'mkdir', 'stat', 'readdir'];
const SEGMENT_SIZES_BYTES = [4096, 8192, 32768];
const SYNC_MODES: readonly SyncMode[] = ['always', 'batch', 'none'];
/** Opens retried after faults before the seed gives up (faults are consumed as they fire). */
const MAX_OPEN_ATTEMPTS = 8;
const CHECKER_PID_BASE = 900_000;
const CHECKER_CLOCK_OFFSET_MS = 86_400_000;

export interface SimulationOptions {
  /** Cut the workload to this many steps (plus a final close); the test suite runs short seeds. */
  maxSteps?: number;
  /** Receives one line per step, fault, power cut and check: to understand a failing seed. */
  trace?: (line: string) => void;
}

export function simulateSeed(seed: number, hasher: Blake3, opts: SimulationOptions = {}): SimulationResult {
  const rng = new Prng(mixSeed(seed, 0x51a1));
  const name = SIMULATION_WORKLOADS[rng.nextInt(SIMULATION_WORKLOADS.length)]!;
  const base = buildWorkload(name, seed, 0);
  const options: Partial<StoreOptions> = {
    segmentMaxBytes: SEGMENT_SIZES_BYTES[rng.nextInt(SEGMENT_SIZES_BYTES.length)]!,
    sync: SYNC_MODES[rng.nextInt(SYNC_MODES.length)]!,
    syncEveryNEvents: 1 + rng.nextInt(6),
  };
  const steps = opts.maxSteps !== undefined && opts.maxSteps < base.steps.length ? [...base.steps.slice(0, opts.maxSteps), { kind: 'close' as const }] : base.steps;
  const workload = { ...base, steps, storeOptions: options };
  const sim = new SimFs(mixSeed(seed, 1));
  const recorder = new AckRecorder();
  const runner = new WorkloadRunner(sim, workload, new SimMachine(seed), hasher, recorder);
  const result: SimulationResult = {
    seed,
    workload: name,
    options,
    steps: workload.steps.length,
    powerCuts: 0,
    cutsDuringOpen: 0,
    restarts: 0,
    faultsArmed: 0,
    failedSteps: 0,
    failures: [],
  };
  let crashArmed = false;
  let checks = 0;
  const trace = opts.trace ?? ((): void => {});
  // listed from a fork: the fork carries no armed fault or crash, so tracing changes nothing
  const files = (fs: SimFs): string => {
    if (!exists(fs, SIM_STORE_DIR)) return '(no store directory)';
    return fs
      .readdir(SIM_STORE_DIR)
      .map((n) => {
        const st = fs.stat(`${SIM_STORE_DIR}/${n}`);
        return st.isDirectory ? `${n}/` : `${n}:${st.sizeBytes}`;
      })
      .join(' ');
  };

  /** Forks the disk, checks it, and makes what survived the recorder's new truth. */
  const check = (step: number, event: string, processOnly: boolean): boolean => {
    const fork = SimFs.fromSnapshot(sim.snapshot());
    const before = opts.trace ? files(fork) : '';
    const machine = new SimMachine(mixSeed(seed, 0xc4ec, checks++), CHECKER_PID_BASE, SIM_EPOCH_MS + CHECKER_CLOCK_OFFSET_MS);
    const r = checkCrashedStore(fork, { hasher, storeOptions: options, recorder, recover: engineRecovery, machine, processOnly });
    trace(`check after ${event}: ${before} -> ${r.visibleCount} visible, ${r.violations.length} violations`);
    for (const v of r.violations) result.failures.push({ seed, step, event, invariant: v.invariant, detail: v.detail });
    if (r.visibleCount < 0) return false;
    recorder.rebase(r.visibleSteps, !processOnly);
    return true;
  };

  const powerCut = (step: number): boolean => {
    const mode = CRASH_MODES[rng.nextInt(CRASH_MODES.length)]!;
    const after = sim.isHalted ? sim.mutatingOpCount - 1 : sim.mutatingOpCount;
    if (sim.isHalted && runner.store === null) result.cutsDuringOpen++;
    runner.abandon();
    sim.crash(mode, mixSeed(seed, 0xc7a5, step, result.powerCuts));
    crashArmed = false;
    if (rng.nextBool()) sim.clearFaults();
    result.powerCuts++;
    const ok = check(step, `power cut (${mode}) after operation ${after}`, false);
    // half the time the next power cut comes while the store recovers from this one
    if (ok && rng.nextBool()) {
      sim.crashAfter(sim.mutatingOpCount + rng.nextInt(RECOVERY_WINDOW_OPS));
      crashArmed = true;
    }
    return ok;
  };

  const restart = (step: number): boolean => {
    runner.abandon();
    result.restarts++;
    return check(step, 'process restart', true);
  };

  for (let i = 0; i < workload.steps.length; i++) {
    if (rng.nextInt(100) < FAULT_PERCENT) {
      trace(`fault armed: ${armRandomFault(sim, rng)}`);
      result.faultsArmed++;
    }
    if (!crashArmed && rng.nextInt(100) < CRASH_PERCENT) {
      const at = sim.mutatingOpCount + rng.nextInt(CRASH_WINDOW_OPS);
      trace(`power cut armed after operation ${at}`);
      sim.crashAfter(at);
      crashArmed = true;
    }
    trace(`step ${i} ${workload.steps[i]!.kind} (operation ${sim.mutatingOpCount})`);
    const store = runner.store && !isPoisoned(runner.store) ? runner.store : null;
    const seqBefore = store?.snapshotState().nextSeq;
    let attempts = 0;
    for (;;) {
      try {
        runner.runStep(i);
        break;
      } catch (err) {
        result.failedSteps++;
        trace(`step ${i} failed: ${describe(err)}`);
        if (err instanceof SimCrash || sim.isHalted) {
          if (!powerCut(i)) return result;
        } else if (runner.store && !isPoisoned(runner.store)) {
          // a clean failure: the store goes on, and must not have moved
          const after = runner.store.snapshotState().nextSeq;
          if (seqBefore !== undefined && runner.store === store && after !== seqBefore) {
            result.failures.push({ seed, step: i, event: 'failed append', invariant: 'failed-no-trace', detail: `next sequence moved from ${seqBefore} to ${after} after: ${describe(err)}` });
          }
        } else if (!restart(i)) {
          return result;
        }
        // an open that failed is retried (the step needs a store); anything else moves on
        const step = workload.steps[i]!;
        if (step.kind !== 'open' || ++attempts >= MAX_OPEN_ATTEMPTS) break;
      }
    }
  }
  // every seed ends with a power cut, so each explores at least one crash state
  powerCut(workload.steps.length);
  return result;
}

function armRandomFault(sim: SimFs, rng: Prng): string {
  const kind = FAULT_KINDS[rng.nextInt(FAULT_KINDS.length)]!;
  const codes: FaultCode[] = kind === 'write' || kind === 'read' ? ['EIO', 'ENOSPC', 'SHORT'] : ['EIO', 'ENOSPC'];
  const fault = { code: codes[rng.nextInt(codes.length)], after: rng.nextInt(6), times: 1 + (rng.nextInt(4) === 0 ? rng.nextInt(3) : 0) };
  sim.failNext(kind, fault);
  return `${kind} ${JSON.stringify(fault)}`;
}
