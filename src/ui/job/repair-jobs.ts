/**
 * `seglog repair` as two jobs (control.ts), with the confirmation between them on the
 * main thread, which holds the store lock (RepairSession) from before the plan until
 * after the execution:
 * - `repairPlan` reads only: on Ctrl-C its worker is stopped at once (read-only job);
 * - `repairExecute` carries the plan out and sees a Ctrl-C at executor.ts's cancel
 *   points, all before the renames: it stops there with the store untouched (temp files
 *   removed; backups and lost+found/ copies already made stay, copies of bytes still in
 *   the store) and returns what it did with `interrupted: true`. A Ctrl-C after the last
 *   cancel point lets the renames finish: a repair is never left half-applied.
 */
import { createHasher } from '../../format/hash/blake3.js';
import { RealFs } from '../../engine/io/real-fs.js';
import { liveSegments } from '../../engine/segment/prune-base.js';
import { startParallelVerdicts } from '../../engine/verify/verify-parallel.js';
import { copyStoreForRepair } from '../../tools/repair/copy-store.js';
import { emptyRepairResult, executeRepair, type RepairResult } from '../../tools/repair/executor.js';
import type { RepairPlan } from '../../tools/repair/plan-types.js';
import { planRepair } from '../../tools/repair/planner.js';
import { JobCancelled, type JobControl } from './control.js';

/**
 * `repair --output DIR`'s copy of the store: a Ctrl-C between chunks removes the partial
 * copy (copy-store.ts) and returns `interrupted: true`; the original was only read.
 */
export async function repairCopyJob(input: { dir: string; output: string }, ctl: JobControl): Promise<{ interrupted: boolean }> {
  try {
    copyStoreForRepair(new RealFs(), input.dir, input.output, () => ctl.checkpoint());
  } catch (err) {
    if (!(err instanceof JobCancelled)) throw err;
    return { interrupted: true };
  }
  return { interrupted: false };
}

export async function repairPlanJob(input: { dir: string }, ctl: JobControl): Promise<RepairPlan> {
  const fs = new RealFs();
  // the segments the plan walks (a pruned store's from its base): verdicts are by segment index
  const segments = liveSegments(fs, input.dir);
  let total = 0;
  for (const s of segments) {
    try {
      total += fs.stat(s.path).sizeBytes;
    } catch {
      // the plan reports what it cannot read
    }
  }
  ctl.setTotalBytes(total);
  const hasher = await createHasher();
  // worker threads hash sealed segments ahead of the plan's walk, as verify does
  const verdicts = startParallelVerdicts(fs, segments);
  try {
    return planRepair(fs, input.dir, {
      hasher,
      hashVerdicts: verdicts ?? undefined,
      onProgress: (bytes) => {
        ctl.progress(bytes, bytes);
        ctl.checkpoint();
      },
    });
  } finally {
    verdicts?.close();
  }
}

export interface RepairExecuteInput {
  plan: RepairPlan;
  /** backupRootOf(...) of session.ts: null with --no-backup. */
  backupRoot: string | null;
  nowMs: number;
}

export interface RepairExecuteOutput {
  /** What was done; when interrupted, nothing in the store changed (see above). */
  result: RepairResult;
  interrupted: boolean;
}

export async function repairExecuteJob(input: RepairExecuteInput, ctl: JobControl): Promise<RepairExecuteOutput> {
  const fs = new RealFs();
  const result = emptyRepairResult();
  let steps = 0;
  try {
    executeRepair(
      fs,
      input.plan,
      {
        backupRoot: input.backupRoot,
        nowMs: input.nowMs,
        onStep: (m) => {
          ctl.progress(++steps);
          ctl.step(`repairing: ${m}`);
        },
        cancelPoint: () => ctl.checkpoint(),
      },
      result,
    );
  } catch (err) {
    if (!(err instanceof JobCancelled)) throw err;
    return { result, interrupted: true };
  }
  return { result, interrupted: false };
}
