/**
 * The bench harness's run order (bench/lib/runner.js `runSides`). Protects the ratio
 * targets of issue 18 from this VM's speed drift: in an interleaved case, run i of every
 * side comes before run i + 1 of any side, so ours and the peer sample the same minutes.
 * If it fails: look at `runSides` (the loop order, and a side that failed being skipped,
 * not retried, while the others go on).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JS module of the bench harness, without types
import { runSides } from '../../bench/lib/runner.js';

interface FakeSide {
  step: (i: number) => Promise<boolean>;
  finish: () => { name: string; steps: number[] };
}

function fakeSides(names: string[], log: string[], failAt: Record<string, number> = {}): FakeSide[] {
  return names.map((name) => {
    const steps: number[] = [];
    return {
      step: async (i: number) => {
        log.push(`${name}${i}`);
        steps.push(i);
        return failAt[name] !== i;
      },
      finish: () => ({ name, steps }),
    };
  });
}

describe('bench runSides', () => {
  const ctx = { warmup: 1, runs: 2 };

  it('interleaved: run i of ours, then of each peer, before run i + 1', async () => {
    const log: string[] = [];
    const out = await runSides(ctx, fakeSides(['ours', 'p', 'q'], log), true);
    expect(log).toEqual(['ours0', 'p0', 'q0', 'ours1', 'p1', 'q1', 'ours2', 'p2', 'q2']);
    expect(out.map((o: { name: string }) => o.name)).toEqual(['ours', 'p', 'q']);
  });

  it('not interleaved: every run of one side, then the next side', async () => {
    const log: string[] = [];
    await runSides(ctx, fakeSides(['ours', 'p'], log), false);
    expect(log).toEqual(['ours0', 'ours1', 'ours2', 'p0', 'p1', 'p2']);
  });

  it('a side that fails stops; the others run all their runs, in either order', async () => {
    for (const interleave of [true, false]) {
      const log: string[] = [];
      const out = await runSides(ctx, fakeSides(['ours', 'p'], log, { p: 1 }), interleave);
      expect(out[0].steps).toEqual([0, 1, 2]);
      expect(out[1].steps).toEqual([0, 1]);
    }
  });
});
