/**
 * The committed repair fixtures (test/fixtures/repair-*, made by scripts/make-fixtures.js,
 * described in test/fixtures/README.md): each one's plan is exactly its
 * expected-plan.json, and after the repair verify has no error and readers see exactly
 * `eventsAfter` events. Fixtures are copied first, never repaired in place.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../../src/format/hash/blake3.js';
import { RealFs } from '../../../src/engine/io/real-fs.js';
import { planRepair } from '../../../src/tools/repair/planner.js';
import { RepairSession } from '../../../src/tools/repair/session.js';
import { verifySegments } from '../../../src/engine/verify/verify.js';
import { listSegments } from '../../../src/engine/segment/walker.js';
import { committed } from './repair-helpers.js';
import { copyFixture, FIXTURES_DIR, REPO_ROOT, removeTempDirs, tempDir } from '../test-store.js';

export const REPAIR_FIXTURES = ['repair-corrupt-batch', 'repair-lost-begin', 'repair-header-footer'] as const;

interface ExpectedPlan {
  actions: { action: string; segment: string; offset: number | null; reason: string }[];
  lostEvents: { seq: number; entity: string | null; segment: string; offset: number }[];
  affectedEvents: { seq: number; reason: string }[];
  eventsAfter: number;
}

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});
afterAll(removeTempDirs);

describe('repair fixtures plan and repair exactly as test/fixtures/README.md says', () => {
  it.each(REPAIR_FIXTURES.map((n) => [n] as const))('%s', (name) => {
    const want = JSON.parse(readFileSync(join(FIXTURES_DIR, name, 'expected-plan.json'), 'utf8')) as ExpectedPlan;
    const store = join(copyFixture(name), 'store');
    const fs = new RealFs();
    const plan = planRepair(fs, store, { hasher });
    const where = `test/fixtures/${name}/expected-plan.json (made by scripts/make-fixtures.js)`;
    expect(plan.actions.map(({ action, segment, offset, reason }) => ({ action, segment, offset, reason })), where).toEqual(want.actions);
    expect(plan.lostEvents.map(({ seq, entity, segment, offset }) => ({ seq, entity, segment, offset })), where).toEqual(want.lostEvents);
    expect(plan.affectedEvents.map(({ seq, reason }) => ({ seq, reason })), where).toEqual(want.affectedEvents);
    expect(plan.unfixable).toEqual([]);

    const session = RepairSession.open(fs, store, {});
    try {
      session.execute(session.plan(hasher), { nowMs: 1_800_000_000_000 });
    } finally {
      session.close();
    }
    const v = verifySegments(fs, listSegments(fs, store), hasher);
    expect(v.problems.filter((p) => p.severity !== 'info' && p.code !== 'sidx_missing'), `verify after repairing ${name}`).toEqual([]);
    expect(committed(fs, store).size, `events readers see after repairing ${name}`).toBe(want.eventsAfter);
    expect(planRepair(fs, store, { hasher }).clean, 'a second repair has nothing to do').toBe(true);
  });
});

describe('repair fixtures are reproducible', () => {
  it('scripts/make-fixtures.js makes byte-identical copies of test/fixtures/repair-*', () => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test builds first)');
    const out = tempDir('seglog-repair-fixtures-');
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'make-fixtures.js'), '--out', out, ...REPAIR_FIXTURES], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const files = (p: string, rel = ''): string[] => (statSync(p).isDirectory() ? readdirSync(p).sort().flatMap((n) => files(join(p, n), `${rel}/${n}`)) : [rel]);
    for (const name of REPAIR_FIXTURES) {
      expect(files(join(out, name)), `files of test/fixtures/${name}`).toEqual(files(join(FIXTURES_DIR, name)));
      for (const rel of files(join(out, name))) {
        expect(readFileSync(join(out, name + rel)).equals(readFileSync(join(FIXTURES_DIR, name + rel))), `test/fixtures/${name}${rel} differs from what the script makes: rerun it and review`).toBe(true);
      }
    }
  }, 60_000);
});
