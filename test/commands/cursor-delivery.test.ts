/**
 * The cursor delivery guarantees, with real CLI processes killed by SIGKILL at every
 * step of a consumer's loop (docs/CLI.md, "seglog cursor"):
 * - at-most-once (`cursor read --commit`): an event is never delivered twice, whatever
 *   dies when; events may be lost (the position is durable before they are printed).
 * - at-least-once (`cursor read`, process, `cursor commit --through`): no event is ever
 *   skipped; events may come again.
 * Kills: a seeded delay into a `cursor read`/`cursor commit` process, or exactly at a
 * named point inside it (SEGLOG_CRASH_AT, src/engine/io/crash-point.ts), or the consumer
 * itself "dying" after the read, after processing, after the commit (the test drops
 * what it was holding). Small segments and read chunks make batches cross both.
 * On failure: the seed and the schedule are in the message; replay with that seed.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Store } from '../../src/engine/store/store.js';
import { assertBuilt, BIN, freshStorePath, REPO_ROOT, removeTempDirs } from './cli-helpers.js';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const ENV = { NODE_ENV: 'production', NO_COLOR: '1', SEGLOG_READ_CHUNK_BYTES: '256' };

function run(args: string[], opts: { crashAt?: string; killAfterMs?: number } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ENV };
  delete env.SEGLOG_DEBUG;
  if (opts.crashAt) env.SEGLOG_CRASH_AT = opts.crashAt;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = opts.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs) : null;
  const hang = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      clearTimeout(hang);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Deterministic choices (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ReadDoc {
  more: boolean;
  through: number;
  events: { seq: number }[];
}

let dir = '';
let all: number[] = [];

beforeAll(async () => {
  assertBuilt();
  dir = freshStorePath();
  const s = await Store.open(dir, { segmentMaxBytes: 4096 });
  for (let i = 0; i < 12; i++) {
    if (i % 3 === 0) s.appendBatch([0, 1, 2, 3].map((j) => ({ entity: `b${i}`, scope: 't', payload: { i, j, pad: 'x'.repeat(200) } })));
    else s.append({ entity: `e${i % 4}`, scope: 't' }, { i });
  }
  all = s.query().map((e) => e.seq);
  s.close();
});

afterAll(() => removeTempDirs());

const MAX = '3';

describe('cursor delivery guarantees under SIGKILL (real processes)', () => {
  test('at-most-once (read --commit): never a repeat, in order, whatever is killed when', async () => {
    const seed = 1401;
    const rand = rng(seed);
    const name = 'amo';
    const ledger: number[] = [];
    const schedule: string[] = [];
    let lostToKills = 0;
    for (let round = 0; round < 200; round++) {
      const p = rand();
      const step = p < 0.15 ? 'kill-read-delay' : p < 0.3 ? 'crash-after-commit' : p < 0.4 ? 'crash-after-output' : p < 0.55 ? 'die-after-read' : p < 0.65 ? 'die-after-processing' : 'ok';
      schedule.push(step);
      const r = await run(['cursor', 'read', dir, name, '--commit', '--max', MAX, '--json'], {
        crashAt: step === 'crash-after-commit' ? 'cursor-read:after-commit' : step === 'crash-after-output' ? 'cursor-read:after-output' : undefined,
        killAfterMs: step === 'kill-read-delay' ? Math.floor(rand() * 400) : undefined,
      });
      if (r.code !== 0) {
        expect(r.signal, `seed ${seed}, round ${round}: a read failed without being killed: ${r.stderr}`).toBe('SIGKILL');
        if (step === 'crash-after-commit') lostToKills++;
        continue;
      }
      const doc = JSON.parse(r.stdout) as ReadDoc;
      if (step === 'die-after-read') {
        if (doc.events.length > 0) lostToKills++;
        continue;
      }
      ledger.push(...doc.events.map((e) => e.seq));
      if (doc.events.length === 0 && !doc.more) break;
    }
    const where = `seed ${seed}, schedule ${schedule.join(',')}`;
    expect(new Set(ledger).size, `${where}: an event was delivered twice under --commit`).toBe(ledger.length);
    expect([...ledger].sort((a, b) => a - b), `${where}: delivered out of order`).toEqual(ledger);
    for (const s of ledger) expect(all, `${where}: delivered #${s}, which is not a committed event`).toContain(s);
    expect(lostToKills, `${where}: the schedule never lost a delivery: it did not exercise at-most-once`).toBeGreaterThan(0);
    const list = JSON.parse((await run(['cursor', 'list', dir, '--json'])).stdout) as { cursors: { name: string; lagEvents: number }[] };
    expect(list.cursors.find((c) => c.name === name)?.lagEvents, `${where}: the cursor did not reach the end`).toBe(0);
  });

  test('at-least-once (read, process, commit --through): never a skip, whatever is killed when', async () => {
    const seed = 1402;
    const rand = rng(seed);
    const name = 'alo';
    const ledger: number[] = [];
    const schedule: string[] = [];
    let repeats = 0;
    let done = false;
    for (let round = 0; round < 300 && !done; round++) {
      const p = rand();
      const step =
        p < 0.1 ? 'kill-read-delay' : p < 0.2 ? 'crash-read-after-record' : p < 0.3 ? 'die-after-read' : p < 0.42 ? 'die-after-processing' : p < 0.52 ? 'kill-commit-delay' : p < 0.62 ? 'crash-after-commit' : p < 0.7 ? 'die-after-commit' : 'ok';
      schedule.push(step);
      const r = await run(['cursor', 'read', dir, name, '--max', MAX, '--json'], {
        crashAt: step === 'crash-read-after-record' ? 'cursor-read:after-record' : undefined,
        killAfterMs: step === 'kill-read-delay' ? Math.floor(rand() * 400) : undefined,
      });
      if (r.code !== 0) {
        expect(r.signal, `seed ${seed}, round ${round}: a read failed without being killed: ${r.stderr}`).toBe('SIGKILL');
        continue;
      }
      const doc = JSON.parse(r.stdout) as ReadDoc;
      if (doc.events.length === 0 && !doc.more) {
        done = true;
        break;
      }
      if (step === 'die-after-read') continue;
      for (const e of doc.events) {
        if (ledger.includes(e.seq)) repeats++;
        ledger.push(e.seq);
      }
      if (step === 'die-after-processing') continue;
      const c = await run(['cursor', 'commit', dir, name, '--through', String(doc.through), '--json'], {
        crashAt: step === 'crash-after-commit' ? 'cursor-commit:after-commit' : undefined,
        killAfterMs: step === 'kill-commit-delay' ? Math.floor(rand() * 400) : undefined,
      });
      if (c.code !== 0) expect(c.signal, `seed ${seed}, round ${round}: a commit failed without being killed: ${c.stderr}`).toBe('SIGKILL');
    }
    const where = `seed ${seed}, schedule ${schedule.join(',')}`;
    expect(done, `${where}: the consumer never reached the end`).toBe(true);
    for (const s of all) expect(ledger, `${where}: event #${s} was skipped`).toContain(s);
    const firsts = ledger.filter((s, i) => ledger.indexOf(s) === i);
    expect(firsts, `${where}: first deliveries out of commit order`).toEqual(all);
    expect(repeats, `${where}: nothing was ever delivered again: the schedule did not exercise at-least-once`).toBeGreaterThan(0);
  });

  test('commit --through inside a batch commits the batches before it only; backwards and undelivered are refused (exit 2)', async () => {
    const name = 'through';
    const r = JSON.parse((await run(['cursor', 'read', dir, name, '--max', '1', '--json'])).stdout) as ReadDoc & { events: { seq: number; txnId: number }[] };
    // the store starts with a batch of 4: a read of --max 1 delivers it whole
    expect(r.events.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
    const past = await run(['cursor', 'commit', dir, name, '--through', '4', '--json']);
    expect(past.code, past.stderr).toBe(2);
    expect(past.stderr).toMatch(/past what cursor 'through' delivered/);
    const inside = JSON.parse((await run(['cursor', 'commit', dir, name, '--through', '2', '--json'])).stdout) as { committedThrough: number; units: number };
    expect(inside, 'a sequence inside the batch must not commit it').toMatchObject({ committedThrough: -1, units: 0 });
    const whole = JSON.parse((await run(['cursor', 'commit', dir, name, '--through', '3', '--json'])).stdout) as { committedThrough: number; units: number };
    expect(whole).toMatchObject({ committedThrough: 3, units: 1 });
    const back = await run(['cursor', 'commit', dir, name, '--through', '1', '--json']);
    expect(back.code, back.stderr).toBe(2);
    expect(back.stderr).toMatch(/goes backwards/);
    expect(JSON.parse(back.stdout)).toHaveProperty('error.code', 'usage');
  });
});
