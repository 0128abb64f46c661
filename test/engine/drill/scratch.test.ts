import { test } from 'vitest';
import { createHasher } from '../../../src/format/blake3.js';
import { simulateSeed } from '../../../src/engine/drill/simulation.js';
test('scratch', async () => {
  const h = await createHasher();
  let bad = 0;
  for (const seed of [83, 111, ...Array.from({length: 400}, (_, i) => 2000 + i)]) { const r = simulateSeed(seed, h); if (r.failures.length) { bad++; if (bad < 5) console.log(seed, r.workload, JSON.stringify(r.options), JSON.stringify(r.failures.slice(0, 3))); } }
  console.log('sim bad', bad);
}, 600000);
