/**
 * Crashes during recovery. A crash state is recovered once without a crash, counting the
 * recovery's own mutating operations (lock takeover, the tail copy to lost+found/ and the
 * truncate, the checkpoint removal, the footer fsync, and at close the footer and
 * checkpoint writes and the lock release); then, for every k of them, the same crashed
 * disk is recovered again with the power cut right after the recovery's k-th operation
 * (`SimFs.crashAfter`), crashed in the same mode, and handed to the crash checker: the
 * normal reopen must still meet every invariant against what the workload had
 * acknowledged, as no recovery acknowledges anything.
 *
 * Everything derives from the crash state's seed: the recovering process runs on a
 * machine of its own (pids far from the checker's, so its LOCK is a dead process's,
 * and a clock of its own), identical for the counting run and each crashed run, so
 * operation k is the same operation in both.
 */
import type { Blake3 } from '../../format/hash/blake3.js';
import { type CrashMode, SimFs, type SimSnapshot } from '../../sim/sim-fs.js';
import type { StoreOptions } from '../../engine/io/options.js';
import type { RecoverFn } from './crash-check.js';
import { mixSeed, SIM_EPOCH_MS, SimMachine } from './sim-env.js';

/** Pids of the recovering process that crashes: neither the workload's nor the checker's. */
const RECOVERING_PID_BASE = 950_000;
/** Its clock runs half a day ahead of the workload's, half a day behind the checker's. */
const RECOVERING_CLOCK_OFFSET_MS = 43_200_000;
/** Tag mixed into seeds of the recovery crashes (the first crash uses point and mode). */
const RECOVERY_CRASH_TAG = 0x7ec0;

export interface RecoveryRun {
  hasher: Blake3;
  storeOptions: Partial<StoreOptions>;
  recover: RecoverFn;
}

/** The machine the recovering process runs on, the same for the counting run and each crashed one. */
function recoveringMachine(crashSeed: number): SimMachine {
  return new SimMachine(mixSeed(crashSeed, RECOVERY_CRASH_TAG), RECOVERING_PID_BASE, SIM_EPOCH_MS + RECOVERING_CLOCK_OFFSET_MS);
}

/** Recovery as a process runs it: a read-write open, then a clean close. */
function recoverAndClose(fs: SimFs, run: RecoveryRun, machine: SimMachine): void {
  const store = run.recover(fs, machine, run.hasher, run.storeOptions);
  store.close();
}

/**
 * How many mutating operations the recovery of `crashed` does (open and close), counted
 * on a fork. A recovery that fails (the store does not reopen) counts what it did before
 * failing: a crash in there must not make things worse either.
 */
export function countRecoveryOps(crashed: SimSnapshot, crashSeed: number, run: RecoveryRun): number {
  const fs = SimFs.fromSnapshot(crashed, crashSeed);
  const before = fs.mutatingOpCount;
  try {
    recoverAndClose(fs, run, recoveringMachine(crashSeed));
  } catch {
    // the crash checker reports a store that does not reopen; here only the count matters
  }
  return fs.mutatingOpCount - before;
}

/** The seed of the crash after recovery operation `k` of a crash state. */
export function recoveryCrashSeed(crashSeed: number, k: number): number {
  return mixSeed(crashSeed, RECOVERY_CRASH_TAG, k);
}

/**
 * The disk a power cut right after recovery operation `k` (0-based) leaves, crashed in
 * `mode`: the recovering process ran on a fork of `crashed` and died there.
 */
export function crashDuringRecovery(crashed: SimSnapshot, crashSeed: number, k: number, mode: CrashMode, run: RecoveryRun): SimFs {
  const seed = recoveryCrashSeed(crashSeed, k);
  const fs = SimFs.fromSnapshot(crashed, seed);
  fs.crashAfter(fs.mutatingOpCount + k);
  try {
    recoverAndClose(fs, run, recoveringMachine(crashSeed));
  } catch (err) {
    // the power cut is the point (the engine may wrap SimCrash in its own error); a recovery
    // that failed before operation k would have failed there when counted too: it is
    // deterministic, so that is a bug of the drill, not a finding
    if (!fs.isHalted) throw new Error(`recovery failed before its operation ${k}, unlike when it was counted: ${String(err)}`);
  }
  fs.crash(mode, seed);
  return fs;
}
