/**
 * The drill's snapshot steps (workload.ts) and its snapshot-replay invariant
 * (crash-check.ts): crash states taken while snapshots are written, or after, replay
 * through them to what a full replay gives; the canary is still caught.
 */
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../../src/tools/drill/drill-runner.js';
import { buildWorkload, episodeCount } from '../../../src/tools/drill/workload.js';

describe('drill: snapshot steps', () => {
  it('the txn and default workloads take snapshots between their writes', () => {
    for (const name of ['txn', 'default'] as const) {
      let n = 0;
      for (let e = 0; e < episodeCount(name); e++) n += buildWorkload(name, 5, e).steps.filter((s) => s.kind === 'snapshot').length;
      expect(n, `${name}: snapshot steps`).toBeGreaterThan(2);
    }
  });

  it('crash states around snapshot writes hold every invariant, snapshot-replay included; the canary is caught', async () => {
    const r = await runDrill({ seed: 5, workload: 'txn', modes: ['cut', 'torn', 'reorder', 'lose-unsynced'], canary: false, points: 80, workers: 1 });
    expect(r.violations, JSON.stringify(r.failures.slice(0, 3))).toBe(0);
    const c = await runDrill({ seed: 5, workload: 'txn', modes: ['cut', 'torn'], canary: true, points: 40, workers: 1 });
    expect(c.violations, 'the canary (a recovery that keeps incomplete batches) is still caught').toBeGreaterThan(0);
  }, 120_000);
});
