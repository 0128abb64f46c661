/**
 * Ctrl-C and progress at a real terminal (issue 15): the built CLI runs in a
 * pseudo-terminal (test/support/pty-run.py, python3's pty module), a Ctrl-C keypress is
 * typed once a progress frame has been drawn, and the test checks the exit status
 * (130), that the store is closed cleanly (verify clean, no LOCK left), that what was
 * done is reported, and that progress frames were drawn. No timing is asserted: the
 * inputs are large enough that the job cannot have finished when the key is typed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, CLI_TEST_TIMEOUT_MS, jsonOf, REPO_ROOT, removeTempDirs, runCli, tempDir } from './cli-helpers.js';

const PTY = join(REPO_ROOT, 'test', 'support', 'pty-run.py');
const LINES = 400_000;

interface PtyRun {
  exit: number | null;
  signal: number | null;
  output: string;
  interruptedAtMs: number | null;
  exitedAtMs: number;
}

/** interrupt: 'none', 'after:<text on the terminal>' or 'afterbytes:<n in the stdout file>'. */
function ptyRun(cmd: string[], interrupt: string, stdoutFile = '-', cols = 80): PtyRun {
  const out = execFileSync('python3', [PTY, String(cols), '30', interrupt, stdoutFile, '--', ...cmd], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: 'production', NO_COLOR: '1', SEGLOG_DEBUG: '' },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out) as PtyRun;
}

const seglog = (...args: string[]): string[] => [process.execPath, BIN, ...args];

let dir = '';
let input = '';
let bigStore = '';

beforeAll(async () => {
  assertBuilt();
  dir = tempDir('seglog-interrupt-');
  input = join(dir, 'events.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) lines.push(JSON.stringify({ entity: `order:${i % 500}`, scope: 'tenant:acme', kind: '1:1', payload: { i, note: 'x'.repeat(i % 40) } }));
  writeFileSync(input, `${lines.join('\n')}\n`);
  bigStore = join(dir, 'big');
  const r = await runCli(['append', bigStore, '--create', '--file', input], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
}, 180_000);
afterAll(removeTempDirs);

/** Progress frames drawn before the interrupt: `<label>  N events ...` lines with N > 0. */
function frames(output: string, label: string): string[] {
  return output.split(/\r|\n|\u001b\[[0-9;?]*[A-Za-z]/).filter((s) => s.includes(label));
}

async function expectCleanStore(store: string): Promise<number> {
  expect(existsSync(join(store, 'LOCK')), 'the lock is released').toBe(false);
  const v = await runCli(['verify', store, '--json'], { timeoutMs: 60_000 });
  const report = jsonOf<{ ok: boolean; errors: number; warnings: number; events: number }>(v);
  expect({ code: v.code, errors: report.errors, warnings: report.warnings }, 'verify after the interrupt').toEqual({ code: 0, errors: 0, warnings: 0 });
  return report.events;
}

describe('Ctrl-C at a terminal stops long jobs cleanly with exit 130', () => {
  for (const extra of [[], ['--batch-size', '100']]) {
    it(`append --file ${extra.join(' ')}: stops at a boundary, keeps what it appended, closes the store, says how much`, async () => {
      const store = join(dir, `a${extra.length}`);
      const r = ptyRun(seglog('append', store, '--create', '--file', input, ...extra), 'after:ETA');
      expect(r.interruptedAtMs, `no progress frame was drawn:\n${r.output.slice(-2000)}`).not.toBeNull();
      expect(r.exit, r.output.slice(-2000)).toBe(130);
      expect(frames(r.output, 'appending').length, 'progress frames on the terminal').toBeGreaterThan(1);
      const said = /appended ([\d,]+) events?.* before the interrupt/.exec(r.output);
      expect(said, r.output.slice(-1000)).not.toBeNull();
      const appended = Number(said![1]!.replace(/,/g, ''));
      expect(appended).toBeGreaterThan(0);
      expect(appended).toBeLessThan(LINES);
      expect(r.output).toContain('seglog: interrupted');
      expect(await expectCleanStore(store), 'the store holds exactly what was reported').toBe(appended);
    }, CLI_TEST_TIMEOUT_MS * 2);
  }

  it('verify: stops at once, exit 130, progress drawn', () => {
    const r = ptyRun(seglog('verify', bigStore), 'after:verifying  ');
    expect(r.interruptedAtMs, r.output.slice(-2000)).not.toBeNull();
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(r.output).toContain('seglog: interrupted');
    expect(r.output).not.toContain('problems found');
  }, CLI_TEST_TIMEOUT_MS);

  it('dump --json: interrupted mid-stream, stdout is still exactly one JSON document ending in an "interrupted" error', () => {
    const out = join(dir, 'dump.json');
    const r = ptyRun(seglog('dump', bigStore, '--json'), 'afterbytes:200000', out);
    expect(r.interruptedAtMs, r.output).not.toBeNull();
    expect(r.exit, r.output).toBe(130);
    expect(r.output).toContain('seglog: interrupted');
    const text = readFileSync(out, 'utf8');
    const lines = text.split('\n').filter((l) => l.length > 0);
    expect(lines.length, 'one document on stdout').toBe(1);
    const doc = JSON.parse(lines[0]!) as { events: unknown[]; error?: { code: string } };
    expect(doc.error?.code).toBe('interrupted');
    expect(doc.events.length).toBeGreaterThan(0);
    expect(doc.events.length).toBeLessThan(LINES);
  }, CLI_TEST_TIMEOUT_MS * 2);
});
