/**
 * Differential property: on stores of random shapes, every read path of the CLI prints
 * exactly what the reference reader (test/support/reference-reader.ts, written from
 * docs/FORMAT.md) sees. See test/differential/README.md for the seeds and the long mode.
 *
 *   SEGLOG_DIFF_SEED=N   replay a run (the seed is printed on failure)
 *   SEGLOG_DIFF_RUNS=N   shapes per property (long mode: npm run test:long:diff)
 */
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Repair from '../../src/commands/repair.js';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { ReferenceReader } from '../support/reference-reader.js';
import { removeTempDirs, tempDir } from '../engine/test-store.js';
import { checkReadPaths, type CursorStep, type Filter, Mismatch, run, useReadChunk } from './harness.js';
import { buildShape, ENTITIES, KINDS, SCOPES, type Shape, shapeArb } from './shapes.js';
import { REGRESSION_SHAPES } from './regressions.js';

const SEED = process.env.SEGLOG_DIFF_SEED !== undefined ? Number(process.env.SEGLOG_DIFF_SEED) : 0x5e6_d1ff;
const RUNS = process.env.SEGLOG_DIFF_RUNS !== undefined ? Number(process.env.SEGLOG_DIFF_RUNS) : 300;
const LONG = RUNS > 1000;

const filterArb: fc.Arbitrary<Filter> = fc.record(
  {
    entity: fc.nat(ENTITIES.length - 1),
    prefix: fc.nat(ENTITIES.length - 1),
    scope: fc.nat(SCOPES.length - 1),
    kind: fc.integer({ min: -1, max: KINDS.length - 1 }),
    kindCategoryOnly: fc.boolean(),
    from: fc.nat(300),
    to: fc.nat(400),
    limit: fc.integer({ min: 1, max: 60 }),
    system: fc.boolean(),
  },
  { requiredKeys: ['system'] },
);
const cursorArb: fc.Arbitrary<CursorStep[]> = fc.array(fc.record({ max: fc.integer({ min: 1, max: 40 }), commit: fc.boolean() }), { maxLength: 5 });

let hasher: Blake3;
let reader: ReferenceReader;
let scratch: string;
let shapes = 0;
let started = 0;

beforeAll(async () => {
  hasher = await createHasher();
  reader = await ReferenceReader.create();
  scratch = tempDir('seglog-diff-');
  started = performance.now();
});
afterAll(() => {
  if (shapes > 0) process.stderr.write(`differential read paths: ${shapes} shapes, ${(shapes / ((performance.now() - started) / 1000)).toFixed(1)} shapes/s\n`);
  removeTempDirs();
});

const repairWith = async (dir: string): Promise<void> => {
  await run(Repair, [dir, '--yes', '--no-backup', '--json'], {});
};

async function checkShape(shape: Shape, filters: Filter[], cursor: CursorStep[], n: number, rotation = LONG ? -1 : n): Promise<void> {
  const dir = join(scratch, 'store');
  await buildShape(shape, hasher, dir, n + 1, repairWith);
  const ref = reader.readStore(dir);
  const env = await useReadChunk(shape.readChunkBytes);
  await checkReadPaths({ dir, ref, env, filters, cursor, hasher, workers: n % 4 === 0, spawn: n % 60 === 7, scratch, rotation });
  shapes++;
  if (LONG && shapes % 250 === 0) process.stderr.write(`differential read paths: ${shapes} shapes, ${(shapes / ((performance.now() - started) / 1000)).toFixed(1)} shapes/s\n`);
  rmSync(dir, { recursive: true, force: true });
}

function property(limits: Parameters<typeof shapeArb>[0]) {
  let n = 0;
  return fc.asyncProperty(shapeArb(limits), fc.array(filterArb, { minLength: 1, maxLength: LONG ? 3 : 1 }), cursorArb, async (shape, filters, cursor) => {
    await checkShape(shape, filters, cursor, n++);
  });
}

/** Shrinking costs hundreds of store builds: opt in with SEGLOG_DIFF_SHRINK=1 when a failure needs a smaller shape. */
const SHRINK = process.env.SEGLOG_DIFF_SHRINK === '1';

function assertProperty(p: ReturnType<typeof property>, numRuns: number, seed: number, shrink = SHRINK): Promise<void> {
  return fc.assert(p, {
    seed,
    numRuns,
    // big stores take seconds each: report the first failure as it is rather than shrink it
    endOnFailure: !shrink,
    // a failure is reported with the seed that replays it and the shrunk shape
    reporter: (out) => {
      if (out.failed) {
        const err = out.errorInstance;
        const detail = err instanceof Mismatch ? err.message : String((err as Error)?.stack ?? err);
        throw new Error(`differential mismatch: replay with SEGLOG_DIFF_SEED=${out.seed} (path ${out.counterexamplePath})\nshape: ${JSON.stringify(out.counterexample?.[0])}\nfilters: ${JSON.stringify(out.counterexample?.[1])} cursor: ${JSON.stringify(out.counterexample?.[2])}\n${detail}`);
      }
    },
  });
}

describe('differential: every read path equals the reference reader', () => {
  it('regression shapes (each found a bug once) still read exactly as the reference says', async () => {
    for (const [i, r] of REGRESSION_SHAPES.entries()) {
      try {
        await checkShape(r.shape, r.filters, r.cursor, i, -1);
      } catch (err) {
        throw new Error(`regression shape "${r.name}" (${r.bug}) fails again:\n${(err as Error).message}`);
      }
    }
  });

  it('small stores (segments of a few frames to 8 MiB, read chunks of 4-64 KiB): dump, cursor, wal, verify, stats, repair --dry-run and open agree with the reference', async () => {
    await assertProperty(property({ maxOps: LONG ? 40 : 25, big: false, raw: true }), RUNS, SEED);
  }, LONG ? 24 * 3600_000 : 300_000);

  it('stores over 4 MiB (batches cross the default 4 MiB read chunk and segment boundaries): every read path agrees with the reference', async () => {
    await assertProperty(property({ maxOps: 6, big: true, raw: false }), LONG ? Math.max(3, Math.floor(RUNS / 200)) : 1, SEED + 1, false);
  }, LONG ? 24 * 3600_000 : 600_000);

});
