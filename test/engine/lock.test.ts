import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freshStorePath, openStore, REPO_ROOT, removeTempDirs, seglogErrorOf } from './test-store.js';

afterAll(removeTempDirs);

const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')) as { pid: number; host: string; sinceMs: number };

describe('store lock: one writer at a time', () => {
  it('a second writer gets `locked` naming the holder; the lock is free again after close', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, host: hostname() });
    const err = await seglogErrorOf(() => openStore(dir));
    expect(err.code).toBe('locked');
    expect(err.exitCode).toBe(2);
    expect(err.file).toBe(join(dir, 'LOCK'));
    expect(err.message).toContain(`pid ${process.pid} on ${hostname()}`);
    store.close();
    expect(existsSync(join(dir, 'LOCK')), 'close must remove LOCK').toBe(false);
    const { store: second } = await openStore(dir);
    second.close();
  });

  it('read-only opens neither need nor touch the lock', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    store.append({ entity: 'e', scope: 's' }, {});
    const lock = readFileSync(join(dir, 'LOCK'), 'utf8');
    const { store: ro } = await openStore(dir, { readOnly: true });
    expect(ro.query()).toHaveLength(1);
    ro.close();
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(lock);
    store.close();
  });

  const stale: [string, string, RegExp][] = [
    ['left by a dead pid on this host', `${JSON.stringify({ pid: 4_000_000, host: hostname(), sinceMs: 1 })}\n`, /lock left by dead process 4000000/],
    ['torn (unreadable JSON)', '{"pid": 12', /lock file is unreadable/],
    ['empty', '', /lock file is unreadable/],
  ];
  it.each(stale)('a LOCK %s is taken over with a warning', async (_what, content, warning) => {
    const dir = freshStorePath();
    (await openStore(dir)).store.close();
    writeFileSync(join(dir, 'LOCK'), content);
    const { store, warnings } = await openStore(dir, { lockEnv: { pid: process.pid, host: hostname(), nowMs: () => 5, isAlive: (pid) => pid === process.pid } });
    expect(warnings.join('\n')).toMatch(warning);
    expect(lockOf(dir)).toEqual({ pid: process.pid, host: hostname(), sinceMs: 5 });
    store.close();
  });

  it('a LOCK with this process\'s own pid but another incarnation (pid reused after a reboot or a container restart) is taken over; one this process wrote is not', async () => {
    // lock.ts isEarlierIncarnation: without the nonce, a CLI that runs as pid 1 in a
    // container would find its own pid "alive" in the LOCK its previous run left, forever
    const env = { pid: process.pid, host: hostname(), nowMs: () => 7, isAlive: () => true, nonce: 'now' };
    for (const left of [{ pid: process.pid, host: hostname(), sinceMs: 1 }, { pid: process.pid, host: hostname(), sinceMs: 1, nonce: 'before' }]) {
      const dir = freshStorePath();
      (await openStore(dir)).store.close();
      writeFileSync(join(dir, 'LOCK'), `${JSON.stringify(left)}\n`);
      const { store, warnings } = await openStore(dir, { lockEnv: env });
      expect(warnings.join('\n'), `LOCK ${JSON.stringify(left)} must be taken over`).toMatch(/earlier process with this pid/);
      expect(lockOf(dir)).toEqual({ pid: process.pid, host: hostname(), sinceMs: 7, nonce: 'now' });
      const again = await seglogErrorOf(() => openStore(dir, { lockEnv: env }));
      expect(again.code, 'a LOCK this incarnation holds must lock out a second open in the same process').toBe('locked');
      store.close();
    }
  });

  it('a LOCK held from another host is never taken over (its pid means nothing here)', async () => {
    const dir = freshStorePath();
    (await openStore(dir)).store.close();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 4_000_000, host: 'elsewhere', sinceMs: 0 }));
    const err = await seglogErrorOf(() => openStore(dir, { lockEnv: { pid: process.pid, host: hostname(), nowMs: () => 0, isAlive: () => false } }));
    expect(err.code).toBe('locked');
    expect(err.message).toContain('pid 4000000 on elsewhere');
  });
});

describe('store lock across processes', () => {
  let child: ChildProcess | null = null;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = null;
  });

  /** Starts a process that opens the store read-write through the built engine and waits. */
  async function holdLockInChild(dir: string): Promise<ChildProcess> {
    const storeModule = join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js');
    if (!existsSync(storeModule)) throw new Error('dist/engine/store/store.js is missing: run `npm run build` (npm test builds first)');
    const code = `
      const { Store } = await import(${JSON.stringify(pathToFileURL(storeModule).href)});
      await Store.open(${JSON.stringify(dir)});
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    `;
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lock holder did not start within 10 s: ${err}`)), 10_000);
      p.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.on('exit', (c) => {
        clearTimeout(timer);
        reject(new Error(`lock holder exited with ${c}: ${err}`));
      });
    });
    return p;
  }

  it('a live writer in another process locks others out; once it is killed, its LOCK is taken over with a warning', async () => {
    const dir = freshStorePath();
    (await openStore(dir)).store.close();
    child = await holdLockInChild(dir);
    const pid = child.pid!;
    const err = await seglogErrorOf(() => openStore(dir));
    expect(err.code).toBe('locked');
    expect(err.message).toContain(`pid ${pid} on ${hostname()}`);
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(lockOf(dir).pid, 'a killed writer leaves its LOCK behind').toBe(pid);
    const { store, warnings } = await openStore(dir);
    expect(warnings.join('\n')).toContain(`lock left by dead process ${pid}`);
    expect(lockOf(dir).pid).toBe(process.pid);
    store.close();
  }, 20_000);
});
