/**
 * `append --file -` commits as lines arrive (tools/ingest/ingest-stream.ts): a real
 * appender process fed through a pipe that stays open, read by `dump` meanwhile, and
 * killed with SIGKILL: it loses at most the partial batch not yet committed.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertBuilt, BIN, freshStorePath, REPO_ROOT, removeTempDirs, runCli } from './cli-helpers.js';

const line = (i: number): string => `${JSON.stringify({ entity: `e${i % 2}`, scope: 't', payload: { i } })}\n`;

function appender(dir: string, extra: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', NO_COLOR: '1' };
  delete env.SEGLOG_DEBUG;
  const child = spawn(process.execPath, [BIN, 'append', dir, '--create', '--file', '-', ...extra], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, exit, err: () => err };
}

async function payloads(dir: string): Promise<number[]> {
  const r = await runCli(['dump', dir, '--format', 'jsonl']);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l)
    .map((l) => (JSON.parse(l) as { payload: { i: number } }).payload.i);
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(() => assertBuilt());
afterAll(() => removeTempDirs());

describe('append --file - commits as lines arrive', () => {
  test('each line is visible while the input stays open (no --batch-size)', async () => {
    const dir = freshStorePath();
    const a = appender(dir, []);
    a.child.stdin.write(line(0));
    await until('line 0 to be committed', async () => (await payloads(dir).catch(() => [])).length === 1);
    a.child.stdin.write(line(1) + line(2));
    await until('lines 1-2 to be committed', async () => (await payloads(dir)).length === 3);
    a.child.stdin.end();
    expect((await a.exit).code, a.err()).toBe(0);
    expect(await payloads(dir)).toEqual([0, 1, 2]);
  });

  test('--batch-size: whole batches at once, a partial one after --flush-interval; SIGKILL loses only the partial batch', async () => {
    const dir = freshStorePath();
    const a = appender(dir, ['--batch-size', '3', '--flush-interval', '150']);
    a.child.stdin.write(line(0) + line(1));
    await until('the idle partial batch to be committed', async () => (await payloads(dir).catch(() => [])).length === 2);
    a.child.stdin.write(line(2) + line(3) + line(4));
    await until('the full batch to be committed', async () => (await payloads(dir)).length === 5);
    // a partial batch, and the appender killed before its flush interval passes
    a.child.stdin.write(line(5));
    a.child.kill('SIGKILL');
    expect((await a.exit).signal).toBe('SIGKILL');
    const after = await payloads(dir);
    expect(after.slice(0, 5), 'committed batches must survive the kill').toEqual([0, 1, 2, 3, 4]);
    expect(after.length, 'at most the partial batch may be lost').toBeLessThanOrEqual(6);
    const v = await runCli(['verify', dir]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});
