/**
 * The drill's prune steps (issue 17 item 5): the `bounded` workload (workload.ts) mixes
 * writes with snapshots and prunes, with an archive in every other episode; the crash
 * checker (crash-check.ts) holds its invariants across a prune: committed events after
 * the cut stay visible and those before it count as pruned only up to the cut a prune
 * planned (invariants.ts checkVisible), verify from the base is clean, replay finds a
 * snapshot that fits and every fitting one agrees, the archive and the store make one
 * log (archive-parity). Crash states here are taken at every operation of the prunes
 * themselves, not sampled. A failure names the seed, point and mode: reproduce with
 * `seglog drill --workload bounded --seed S --point P --modes M` and read crash-check.ts.
 */
import { describe, expect, it } from 'vitest';
import { AckRecorder } from '../../../src/tools/drill/ack-recorder.js';
import { judge, recoverCrashedStore } from '../../../src/tools/drill/crash-check.js';
import { countCrashPoints, type DrillSpec, episodeOffsets, explorePoints, prepareStart, recoveryOf } from '../../../src/tools/drill/crash-explorer.js';
import { runDrill } from '../../../src/tools/drill/drill-runner.js';
import { mixSeed, SIM_STORE_DIR, SimMachine } from '../../../src/tools/drill/sim-env.js';
import { WorkloadRunner } from '../../../src/tools/drill/workload-runner.js';
import { buildWorkload, episodeCount, SIM_ARCHIVE_DIR } from '../../../src/tools/drill/workload.js';
import { exists, readWhole, writeFileAtomic } from '../../../src/engine/io/fs-util.js';
import { loadBase } from '../../../src/engine/segment/prune-base.js';
import { SimFs } from '../../../src/sim/sim-fs.js';
import { ALL_MODES, hasher } from './sim-helpers.js';

const H = await hasher();
const SEED = 7;

/** Runs every episode once; per episode, the mutating operations of its prune steps (local numbering) and its total. */
function pruneOps(spec: DrillSpec): { total: number[]; inPrune: number[][]; pruned: number[] } {
  const start = prepareStart(spec, H);
  const total: number[] = [];
  const inPrune: number[][] = [];
  const pruned: number[] = [];
  start.episodes.forEach((w, e) => {
    // the seeds the explorer runs episode e with (crash-explorer.ts explorePoints)
    const sim = SimFs.fromSnapshot(start.snapshot, mixSeed(spec.seed, 2, e));
    const runner = new WorkloadRunner(sim, w, new SimMachine(mixSeed(spec.seed, e)), H, new AckRecorder());
    const ops: number[] = [];
    let basesWritten = 0;
    for (let i = 0; i < w.steps.length; i++) {
      const before = sim.mutatingOpCount - start.baseOps;
      const baseBefore = loadBase(sim, SIM_STORE_DIR)?.nextSeq ?? 0;
      runner.runStep(i);
      if (w.steps[i]!.kind !== 'prune') continue;
      // the prune's own operations: after the writer's clean close, which the step begins with
      for (let k = before; k < sim.mutatingOpCount - start.baseOps; k++) ops.push(k);
      if ((loadBase(sim, SIM_STORE_DIR)?.nextSeq ?? 0) > baseBefore) basesWritten++;
    }
    total.push(sim.mutatingOpCount - start.baseOps);
    inPrune.push(ops);
    pruned.push(basesWritten);
  });
  return { total, inPrune, pruned };
}

describe('drill: prune steps', () => {
  it('the bounded workload prunes (with and without an archive) between its writes, snapshots and transactions', () => {
    let prunes = 0;
    for (let e = 0; e < episodeCount('bounded'); e++) {
      const w = buildWorkload('bounded', SEED, e);
      const kinds = new Set(w.steps.map((s) => s.kind));
      for (const k of ['prune', 'snapshot', 'txnOp', 'txnCommit', 'batch', 'append'] as const) expect(kinds.has(k), `episode ${e}: ${k} steps`).toBe(true);
      prunes += w.steps.filter((s) => s.kind === 'prune').length;
      expect(new Set(w.steps.filter((s) => s.kind === 'prune').map((s) => (s as { archive: boolean }).archive)), `episode ${e}: one archive choice per episode`).toEqual(new Set([e % 2 === 1]));
    }
    expect(prunes).toBeGreaterThan(12);
  });

  it('every crash state inside a prune (all four modes; every other one without an archive, and crashes of the recovery after some) holds every invariant', () => {
    const spec: DrillSpec = { seed: SEED, workload: 'bounded', modes: ALL_MODES, canary: false };
    const { total, inPrune, pruned } = pruneOps(spec);
    expect(pruned[0], 'episode 0 (no archive) must actually prune: see workload.ts bounded and the refusals in tools/prune.ts').toBeGreaterThan(1);
    expect(pruned[1], 'episode 1 (archive) must actually prune').toBeGreaterThan(1);
    const start = prepareStart(spec, H);
    expect(total, 'the prune operations were counted on the runs the explorer makes').toEqual(countCrashPoints(start, spec, H));
    const offsets = episodeOffsets(total);
    // episode 1 (archive): every operation of every prune; episode 0 (no archive, fewer
    // kinds of operation): every other one, to keep this test to seconds
    const points = [...inPrune[0]!.filter((_, i) => i % 2 === 0).map((k) => offsets[0]! + k), ...inPrune[1]!.map((k) => offsets[1]! + k)];
    const recoveryPoints = points.filter((_, i) => i % 120 === 60);
    const r = explorePoints(start, spec, total, points, H, undefined, recoveryPoints);
    expect(r.crashStates).toBe(points.length * ALL_MODES.length);
    expect(r.recoveryCrashStates).toBeGreaterThan(0);
    expect(r.violations, JSON.stringify(r.failures.slice(0, 4), null, 1)).toBe(0);
  }, 120_000);

  // sampled crash states of the whole bounded workload: explorer.test.ts (every workload)
  it('the canary is still caught on the bounded workload', async () => {
    const c = await runDrill({ seed: SEED, workload: 'bounded', modes: ['cut', 'torn'], canary: true, points: 30, workers: 1 });
    expect(c.violations, 'the canary (a recovery that keeps incomplete batches, canary.ts) must be caught on the bounded workload').toBeGreaterThan(0);
  }, 120_000);
});

describe('the prune invariants can fail (the checks bite)', () => {
  /** Episode 1 of the bounded workload (it archives) run to its end, and its recorder. */
  function finished(): { sim: SimFs; recorder: AckRecorder } {
    const spec: DrillSpec = { seed: SEED, workload: 'bounded', modes: ['cut'], canary: false };
    const start = prepareStart(spec, H);
    const sim = SimFs.fromSnapshot(start.snapshot, 1);
    const recorder = new AckRecorder();
    new WorkloadRunner(sim, start.episodes[1]!, new SimMachine(1), H, recorder).runAll();
    expect(loadBase(sim, SIM_STORE_DIR), 'episode 1 must end pruned').not.toBeNull();
    return { sim, recorder };
  }
  const check = (sim: SimFs, recorder: AckRecorder): string[] => {
    const spec: DrillSpec = { seed: SEED, workload: 'bounded', modes: ['cut'], canary: false };
    const outcome = recoverCrashedStore(SimFs.fromSnapshot(sim.snapshot(), 9), { hasher: H, storeOptions: {}, recover: recoveryOf(spec), machine: new SimMachine(9, 900_000) });
    return judge(outcome, recorder, false).violations.map((v) => v.invariant);
  };

  it('the finished store is clean', () => {
    const { sim, recorder } = finished();
    expect(check(sim, recorder)).toEqual([]);
  });

  it('a base past every cut a prune planned is events lost, not pruned (durable-survives)', () => {
    const { sim, recorder } = finished();
    recorder.pruneAllowedSeq = loadBase(sim, SIM_STORE_DIR)!.nextSeq - 1;
    expect(check(sim, recorder)).toContain('durable-survives');
  });

  it('a pruned key/value store without a snapshot that fits (snapshot-replay)', () => {
    const { sim, recorder } = finished();
    for (const n of sim.readdir(`${SIM_STORE_DIR}/snapshots`)) sim.unlink(`${SIM_STORE_DIR}/snapshots/${n}`);
    expect(check(sim, recorder)).toContain('snapshot-replay');
  });

  it('an archived segment that no longer matches its manifest (archive-parity)', () => {
    const { sim, recorder } = finished();
    const victim = sim.readdir(SIM_ARCHIVE_DIR).find((n) => n.endsWith('.seg'))!;
    expect(exists(sim, `${SIM_ARCHIVE_DIR}/${victim}`)).toBe(true);
    const b = readWhole(sim, `${SIM_ARCHIVE_DIR}/${victim}`);
    b[b.length - 1] = b[b.length - 1]! ^ 1;
    writeFileAtomic(sim, `${SIM_ARCHIVE_DIR}/${victim}`, b);
    expect(check(sim, recorder)).toContain('archive-parity');
  });
});
