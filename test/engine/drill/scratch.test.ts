import { test } from 'vitest';
import { runDrill } from '../../../src/engine/drill/drill-runner.js';
test('scratch', async () => {
  const t0 = performance.now();
  const r = await runDrill({ seed: 1, workload: 'default', modes: ['cut','lose-unsynced','torn','reorder'], canary: false, points: 300, workers: 1 });
  console.log(JSON.stringify({ ...r, failures: r.failures.slice(0, 20) }, null, 1));
  console.log('ms', performance.now() - t0);
}, 600000);
