import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/test-summary.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'seglog-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summarize(report: unknown): { lastLine: string; status: number | null } {
  const file = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  if (report !== undefined) writeFileSync(file, JSON.stringify(report));
  const run = spawnSync(process.execPath, [SCRIPT, file], { encoding: 'utf8' });
  const lines = run.stdout.trimEnd().split('\n');
  return { lastLine: lines[lines.length - 1], status: run.status };
}

function report(counts: { passed: number; failed: number; pending?: number; todo?: number }, suites: unknown[] = []) {
  return {
    numTotalTests: counts.passed + counts.failed + (counts.pending ?? 0) + (counts.todo ?? 0),
    numPassedTests: counts.passed,
    numFailedTests: counts.failed,
    numPendingTests: counts.pending ?? 0,
    numTodoTests: counts.todo ?? 0,
    success: counts.failed === 0,
    testResults: suites,
  };
}

describe('scripts/test-summary.js final line', () => {
  it('all passing: "N passed, 0 failed", exit 0', () => {
    expect(summarize(report({ passed: 12, failed: 0 }))).toEqual({ lastLine: '12 passed, 0 failed', status: 0 });
  });

  it('failures: "N passed, N failed", exit 1', () => {
    expect(summarize(report({ passed: 10, failed: 2 }))).toEqual({ lastLine: '10 passed, 2 failed', status: 1 });
  });

  it('skipped and todo tests add ", N skipped"', () => {
    expect(summarize(report({ passed: 5, failed: 0, pending: 2, todo: 1 })).lastLine).toBe('5 passed, 0 failed, 3 skipped');
  });

  it('missing report file: "0 passed, 1 failed", exit 1', () => {
    expect(summarize(undefined)).toEqual({ lastLine: '0 passed, 1 failed', status: 1 });
  });

  it('unreadable (non-JSON) report counts as one failure', () => {
    const file = join(dir, 'garbage.json');
    writeFileSync(file, '{"numPassedTests": 3,');
    const run = spawnSync(process.execPath, [SCRIPT, file], { encoding: 'utf8' });
    expect(run.stdout).toBe('0 passed, 1 failed\n');
    expect(run.status).toBe(1);
  });

  it('a test file that failed to load (no failed test inside) counts as a failure, not "0 failed"', () => {
    const suites = [
      { name: 'test/a.test.ts', status: 'passed', assertionResults: [{ status: 'passed' }] },
      { name: 'test/broken.test.ts', status: 'failed', message: 'Cannot find module', assertionResults: [] },
    ];
    expect(summarize(report({ passed: 1, failed: 0 }, suites))).toEqual({ lastLine: '1 passed, 1 failed', status: 1 });
  });
});

describe('scripts/test-summary.js: failures outside tests', () => {
  it('a run vitest marks unsuccessful with no failed test (unhandled error) counts as one failure', () => {
    const unhandled = { ...report({ passed: 4, failed: 0 }), success: false };
    expect(summarize(unhandled)).toEqual({ lastLine: '4 passed, 1 failed', status: 1 });
  });
});
