/**
 * `dump --follow` and `cursor read --follow` against real processes: a writer process
 * (the engine, built: dist/) appending batches across several segment rotations, killed
 * with SIGKILL in the middle of a transaction, then a second writer whose open cuts that
 * tail and carries on; two follower processes, one started before the writer and one
 * in the middle. Each follower must print every committed event exactly once, in
 * commit order (the final store's `dump`, byte for byte per line), and nothing of the
 * transaction the kill left unfinished. Small read chunks make batches cross them.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { assertBuilt, BIN, freshStorePath, REPO_ROOT, removeTempDirs, runCli } from './cli-helpers.js';

const ENV = { NODE_ENV: 'production', NO_COLOR: '1', SEGLOG_READ_CHUNK_BYTES: '256' };
const STORE_JS = pathToFileURL(join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js')).href;

/** A writer process: `units` units (every third a batch of 2-4), `pauseMs` apart; then, with `crash`, an unfinished transaction and a line `MIDBATCH`. */
const WRITER = `
const [dir, units, crash, tag] = process.argv.slice(1);
const { Store } = await import(${JSON.stringify(STORE_JS)});
const s = await Store.open(dir);
const pad = 'p'.repeat(120);
for (let i = 0; i < Number(units); i++) {
  if (i % 3 === 0) s.appendBatch(Array.from({ length: 2 + (i % 3) + (i % 2) }, (_, j) => ({ entity: tag + 'b' + i, scope: 't', payload: { i, j, pad } })));
  else s.append({ entity: tag + 'e' + (i % 4), scope: 't' }, { i, pad });
  if (i === Math.floor(Number(units) / 2)) process.stdout.write('HALF\\n');
  await new Promise((r) => setTimeout(r, 4));
}
if (crash === 'crash') {
  const t = s.beginTxn();
  t.put('unfinished-1', { never: 'visible' });
  s.append({ entity: tag + 'after-begin', scope: 't' }, { pad });
  t.put('unfinished-2', { never: 'visible' });
  process.stdout.write('MIDBATCH\\n');
  await new Promise((r) => setTimeout(r, 600_000));
}
s.close();
process.stdout.write('DONE\\n');
`;

interface Proc {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Proc {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ENV };
  delete env.SEGLOG_DEBUG;
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.on('error', () => {});
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, err: () => err, exit };
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l.length > 0);

let dir = '';
const live: Proc[] = [];

beforeAll(async () => {
  assertBuilt();
  dir = freshStorePath();
  const r = await runCli(['init', dir, '--segment-max-bytes', '4096']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(() => {
  for (const p of live) p.child.kill('SIGKILL');
  removeTempDirs();
});

describe('following a store (real writer and follower processes)', () => {
  test('two followers print every committed event exactly once, across rotations and a writer killed mid-transaction', async () => {
    const follow = ['--follow', '--format', 'jsonl', '--system', '--poll-interval', '250'];
    const f1 = start([BIN, 'dump', dir, ...follow]);
    live.push(f1);
    const w1 = start(['--input-type=module', '-e', WRITER, dir, '60', 'crash', 'a']);
    live.push(w1);
    await until('the first writer to get halfway', () => w1.out().includes('HALF'));
    const f2 = start([BIN, 'dump', dir, ...follow]);
    live.push(f2);
    await until('the first writer to stop mid-transaction', () => w1.out().includes('MIDBATCH'));
    w1.child.kill('SIGKILL');
    await w1.exit;
    // followers meanwhile see a tail whose transaction never ends: they must wait, not print it
    await new Promise((r) => setTimeout(r, 600));
    const w2 = start(['--input-type=module', '-e', WRITER, dir, '45', 'clean', 'b']);
    live.push(w2);
    expect((await w2.exit).code, w2.err()).toBe(0);
    const want = await runCli(['dump', dir, '--format', 'jsonl', '--system'], { env: ENV });
    expect(want.code, want.stderr).toBe(0);
    const expected = lines(want.stdout);
    const segs = await runCli(['stats', dir, '--json']);
    const stats = JSON.parse(segs.stdout) as { segments: unknown[] };
    expect(stats.segments.length, 'the writers must rotate at least 3 times').toBeGreaterThanOrEqual(4);
    expect(want.stdout, 'the unfinished transaction must not be in the log').not.toContain('never');
    for (const [name, f] of [['first follower', f1], ['second follower (started mid-write)', f2]] as const) {
      await until(`${name} to catch up`, () => lines(f.out()).length >= expected.length);
      await new Promise((r) => setTimeout(r, 300)); // anything extra would show now
      const got = lines(f.out());
      expect(got.length, `${name}: printed ${got.length} lines, the store has ${expected.length} events: a repeat or a phantom`).toBe(expected.length);
      expect(got, `${name}: output differs from the final dump (order, or content)`).toEqual(expected);
      expect(f.out(), `${name}: printed the unfinished transaction`).not.toContain('never');
      f.child.kill('SIGINT');
      const e = await f.exit;
      expect(e.code, `${name}: Ctrl-C must exit 130; stderr: ${f.err()}`).toBe(130);
      expect(f.err()).not.toMatch(/^\s+at /m);
    }
  });

  test('a follower whose pipe reader goes away exits 0 at the next commit, with no EPIPE trace', async () => {
    const f = start([BIN, 'dump', dir, '--follow', '--format', 'jsonl', '--poll-interval', '100']);
    live.push(f);
    await until('the follower to print', () => f.out().length > 0);
    f.child.stdout.destroy();
    const w = start(['--input-type=module', '-e', WRITER, dir, '3', 'clean', 'c']);
    expect((await w.exit).code, w.err()).toBe(0);
    const e = await f.exit;
    expect(e.code, f.err()).toBe(0);
    expect(f.err()).not.toMatch(/EPIPE|^\s+at /m);
  });

  test('cursor read --follow waits until an event arrives, then returns it', async () => {
    const end = await runCli(['cursor', 'reset', dir, 'waiter', '--to', 'end']);
    expect(end.code, end.stderr).toBe(0);
    const r = start([BIN, 'cursor', 'read', dir, 'waiter', '--follow', '--json', '--poll-interval', '100']);
    live.push(r);
    await new Promise((res) => setTimeout(res, 1500));
    expect(r.child.exitCode, 'cursor read --follow returned before anything was committed').toBeNull();
    const w = start(['--input-type=module', '-e', WRITER, dir, '1', 'clean', 'd']);
    expect((await w.exit).code, w.err()).toBe(0);
    expect((await r.exit).code, r.err()).toBe(0);
    const doc = JSON.parse(r.out()) as { events: { entity: string }[] };
    expect(doc.events.map((e) => e.entity)).toEqual(['db0', 'db0']);
  });
});
