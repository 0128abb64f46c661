import { it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import Repair from '../../src/commands/repair.js';
import Verify from '../../src/commands/verify.js';
import { createHasher } from '../../src/format/blake3.js';
import { run } from './harness.js';
import { buildShape } from './shapes.js';
it('repro', async () => {
  const shape = JSON.parse(process.env.SHAPE!);
  const h = await createHasher();
  const dir = '/tmp/rd/store';
  await buildShape(shape, h, dir, Number(process.env.N ?? 1), async (d) => {
    console.log('before repair', readdirSync(d), (await run(Verify, [d, '--json'], {})).stdout.slice(0, 1500));
    const r = await run(Repair, [d, '--yes', '--no-backup', '--json'], {});
    console.log('repair', r.exitCode, r.stdout.slice(0, 3000), r.stderr.slice(0, 1000));
  });
  console.log(readdirSync(dir), (await run(Verify, [dir, '--json'], {})).stdout.slice(0, 2000));
});
