import { expect } from 'vitest';
import { AckRecorder } from '../../../src/tools/drill/ack-recorder.js';
import { type DrillSpec, prepareStart, type StartState } from '../../../src/tools/drill/crash-explorer.js';
import { PointFs } from '../../../src/sim/point-fs.js';
import { mixSeed, SimMachine } from '../../../src/tools/drill/sim-env.js';
import { WorkloadRunner } from '../../../src/tools/drill/workload-runner.js';
import { CRASH_MODES, type CrashMode, SimFs } from '../../../src/sim/sim-fs.js';
import { exists } from '../../../src/engine/io/fs-util.js';
import type { Blake3 } from '../../../src/format/hash/blake3.js';
import { DIR } from './sim-helpers.js';

/**
 * The first crash point of the spec's first episode whose crashed disk (crashed in
 * `mode` with the crash seed the explorer uses for that point) satisfies `shape`. Tests
 * pin a regression to the shape of the state that exposed a bug, not to a point number,
 * so they survive workload changes.
 */
export function firstPoint(
  spec: DrillSpec,
  mode: CrashMode,
  h: Blake3,
  shape: (fs: SimFs, ctx: { crashSeed: number; start: StartState }) => boolean,
): number {
  const start = prepareStart(spec, h);
  const sim = SimFs.fromSnapshot(start.snapshot, mixSeed(spec.seed, 2, 0));
  let found = -1;
  const hook = (point: number): void => {
    if (found >= 0) return;
    const crashSeed = mixSeed(spec.seed, point, CRASH_MODES.indexOf(mode));
    const fork = SimFs.fromSnapshot(sim.snapshot(), crashSeed);
    fork.crash(mode, crashSeed);
    if (exists(fork, DIR) && shape(fork, { crashSeed, start })) found = point;
  };
  new WorkloadRunner(new PointFs(sim, start.baseOps, hook), start.episodes[0]!, new SimMachine(mixSeed(spec.seed, 0)), h, new AckRecorder()).runAll();
  expect(found, `no crash point of seed ${spec.seed} has the shape this regression needs: pick another seed`).toBeGreaterThanOrEqual(0);
  return found;
}
