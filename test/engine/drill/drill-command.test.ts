/**
 * `seglog drill` as a command: its JSON document, its text tables, its exit codes and
 * the reproduce line (src/commands/drill.ts). Runs in-process on small samples.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import Drill from '../../../src/commands/drill.js';
import { runCommand } from '../../ui/run-command.js';
import { tempDir } from './sim-helpers.js';

describe('seglog drill', () => {
  it('--json prints one document with crashStates, recoveryCrashStates, violations, digest, byMode and failures; exit 0 when clean', async () => {
    const r = await runCommand(Drill, ['--points', '15', '--modes', 'cut,torn', '--seed', '3', '--recovery-points', '2', '--json', '--workers', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & { recoveryCrashStates: number; byMode: Record<string, { recoveryCrashStates: number }> };
    expect(doc).toMatchObject({ crashStates: 30, recoveryPoints: 2, violations: 0, recoveryViolations: 0, failures: [] });
    expect(doc.recoveryCrashStates, 'two points x two modes, each crashed at every recovery operation').toBeGreaterThan(4);
    expect(doc.byMode.cut!.recoveryCrashStates + doc.byMode.torn!.recoveryCrashStates).toBe(doc.recoveryCrashStates);
    expect(Object.keys(doc.byMode as object)).toEqual(['cut', 'torn']);
    expect(doc.digest).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it('prints a table per mode in text mode', async () => {
    const r = await runCommand(Drill, ['--points', '5', '--recovery-points', '0', '--workers', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const mode of ['cut', 'lose-unsynced', 'torn', 'reorder']) expect(r.stdout).toContain(`${mode}: 5 crash states + 0 recovery crash states, 0 violations`);
    expect(r.stdout).toContain('durable-survives');
    expect(r.stdout).toContain('no invariant violated');
  }, 60_000);

  it('--canary exits 0 when the drill catches the broken recovery, and names the command that reproduces it', async () => {
    const r = await runCommand(Drill, ['--canary', '--points', '40', '--seed', '2', '--recovery-points', '0', '--json', '--workers', '1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { canaryCaught: boolean; violations: number; reproduce: string };
    expect(doc.canaryCaught).toBe(true);
    expect(doc.reproduce).toMatch(/^seglog drill --workload default --seed 2 --point \d+ --modes [a-z-]+ --recovery-points 0 --canary$/);
  }, 60_000);

  it('--canary exits 1 when the drill cannot catch it (no batches in the singles workload)', async () => {
    const r = await runCommand(Drill, ['--canary', '--workload', 'singles', '--points', '10', '--recovery-points', '2', '--workers', '1']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('canary was not caught');
  }, 60_000);

  it('usage errors exit 2: an unknown mode, a bad --points, a directory that is not a store', async () => {
    expect((await runCommand(Drill, ['--modes', 'melt'])).exitCode).toBe(2);
    expect((await runCommand(Drill, ['--points', 'some'])).exitCode).toBe(2);
    const r = await runCommand(Drill, [tempDir(), '--json']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('not_a_store');
  });
});

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILT_WORKER = `${ROOT}dist/tools/drill/drill-worker.js`;

describe('the built CLI (dist/, after npm run build)', () => {
  beforeAll(() => {
    if (!existsSync(BUILT_WORKER)) throw new Error(`${BUILT_WORKER} is missing: run \`npm run build\` first (npm test does)`);
  });
  const drill = (workers: number): { crashStates: number; recoveryCrashStates: number; digest: string; workers: number; violations: number } =>
    JSON.parse(
      execFileSync(process.execPath, [`${ROOT}bin/run.js`, 'drill', '--points', '50', '--seed', '6', '--recovery-points', '3', '--json', '--workers', String(workers)], {
        env: { ...process.env, NODE_ENV: 'production' },
        encoding: 'utf8',
      }),
    );

  it('splits the points across worker threads and gets the same digest as one thread', () => {
    const two = drill(2);
    const one = drill(1);
    expect(two.workers, 'two workers must have run (dist/tools/drill/drill-worker.js)').toBe(2);
    expect(one.workers).toBe(1);
    expect(two.crashStates).toBe(200);
    expect(two.recoveryCrashStates).toBe(one.recoveryCrashStates);
    expect(two.violations).toBe(0);
    expect(two.digest, 'the digest must not depend on how the points were split').toBe(one.digest);
  }, 120_000);
});
