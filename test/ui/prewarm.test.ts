/**
 * The prewarmed job worker (src/ui/job/prewarm.ts): bin/run.js guesses from the raw
 * command line that a large job is coming and starts its worker before oclif loads.
 *
 * Properties protected:
 * - the guess names the job the command would run, and none for small inputs, help and
 *   live dumps (a wrong guess costs a worker boot, so the table below is what the guess
 *   is for; if it fails, compare COMMAND_JOBS with the commands' runJob calls);
 * - a command run with the warm worker prints exactly what it prints without it, and the
 *   warm worker is really used (SEGLOG_DEBUG=1 says "prewarmed"); a guess for another
 *   job (`repair --output` runs repairCopy, the guess is repairPlan) still works, in a new
 *   worker. If these fail, look at takeWarmWorker and the `start` message in job-worker.ts;
 * - repair's plan worker is kept for its execution (run-job.ts `then`, prewarm.ts
 *   keepWarm): the execution says "prewarmed", and the report, the exit status and the
 *   repaired store are what a new worker per job gives (SEGLOG_JOB_PREWARM=0). If this
 *   fails, look at the listeners startJob removes before keepWarm, and at job-worker.ts
 *   waiting for its next `start` after a job.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guessJob, JOB_WORKER_MIN_BYTES } from '../../src/ui/job/prewarm.js';
import { assertBuilt, BIN, CLI_TEST_TIMEOUT_MS, removeTempDirs, runCli, tempDir } from '../commands/cli-helpers.js';

describe('guessJob: which job a command line will run in a worker', () => {
  const BIG = JOB_WORKER_MIN_BYTES;
  const sizes: Record<string, number> = { big: BIG, small: BIG - 1, 'in.jsonl': BIG * 4, 'tiny.jsonl': 10 };
  const sizeOf = (p: string): number => sizes[p] ?? 0;
  const table: Array<[string, string | null]> = [
    ['dump big', 'dump'],
    ['dump big --format jsonl', 'dump'],
    ['dump --format jsonl big', 'dump'],
    ['dump small', null],
    ['dump big --follow', null],
    ['dump big -f', null],
    ['dump big --since=1m', null],
    ['dump big --last 10', null],
    ['dump big --help', null],
    ['verify big --json', 'verify'],
    ['verify small', null],
    ['append store --file in.jsonl', 'append'],
    ['append store --file=in.jsonl', 'append'],
    ['append store -f in.jsonl', 'append'],
    ['append store --file tiny.jsonl', null],
    ['append store --file -', 'append'],
    ['wal replay big', null],
    ['wal dump big', 'walDump'],
    ['wal snapshot big', null],
    ['sidx rebuild big', 'sidx'],
    ['sidx strip big --dry-run', 'sidx'],
    ['sidx show big', null],
    ['repair big --dry-run', 'repairPlan'],
    ['stats big', null],
    ['head big', null],
  ];
  for (const [line, job] of table) {
    it(`${line} -> ${job ?? 'no worker'}`, () => {
      expect(guessJob(line.split(' '), sizeOf)).toBe(job);
    });
  }
});

/** Runs the CLI with SEGLOG_DEBUG=1 and sends one SIGINT (a second means "exit now") once it says job `job` started in its worker. */
async function interruptWhenStarted(args: string[], job: string, env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, NODE_ENV: 'production', SEGLOG_DEBUG: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let sent = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (!sent && err.includes(`job ${job} in a`)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, out, err };
}

describe('a prewarmed worker runs the job exactly as a new one does', () => {
  let dir = '';
  let store = '';
  beforeAll(async () => {
    assertBuilt();
    dir = tempDir('seglog-prewarm-');
    const input = join(dir, 'events.jsonl');
    const lines: string[] = [];
    // ~14 MiB of input, more of segments: above JOB_WORKER_MIN_BYTES, so the commands use a worker
    for (let i = 0; i < 60_000; i++) lines.push(JSON.stringify({ entity: `e:${i % 97}`, scope: 'tenant:t', kind: '1:1', payload: { i, pad: 'p'.repeat(100 + (i % 50)) } }));
    writeFileSync(input, `${lines.join('\n')}\n`);
    store = join(dir, 'store');
    const r = await runCli(['append', store, '--create', '--file', input, '--json'], { timeoutMs: 120_000, env: { SEGLOG_DEBUG: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr, 'append of a 14 MiB file took the warm worker').toContain('job append in a prewarmed worker');
  }, 180_000);
  afterAll(removeTempDirs);

  it('dump --format jsonl: same bytes with and without the warm worker, and the warm one was used', async () => {
    const warm = await runCli(['dump', store, '--format', 'jsonl'], { env: { SEGLOG_DEBUG: '1' }, timeoutMs: 120_000 });
    const cold = await runCli(['dump', store, '--format', 'jsonl'], { env: { SEGLOG_DEBUG: '1', SEGLOG_JOB_PREWARM: '0' }, timeoutMs: 120_000 });
    expect([warm.code, cold.code]).toEqual([0, 0]);
    expect(warm.stderr).toContain('job dump in a prewarmed worker');
    expect(cold.stderr).toContain('job dump in a new worker');
    expect(warm.stdout.split('\n').length).toBe(60_001);
    expect(warm.stdout === cold.stdout, 'dump output differs with the warm worker').toBe(true);
  }, CLI_TEST_TIMEOUT_MS);

  /**
   * dump's precheck worker started by the main thread beside the warm job worker
   * (warm-precheck.ts precheckBeside, adopted by the job worker through a port) checks what
   * the one the job worker starts checks: same bytes out, with it (adopted: the debug line
   * says so), with the job worker's own (SEGLOG_PRECHECK_BESIDE=0), and with none. Without
   * SEGLOG_DUMP_WORKERS=1 this 14 MiB store is below PARALLEL_MIN_BYTES: the worker started
   * beside is dropped unused (its port closed), and the dump must end as usual. If the
   * debug line is missing, look at prewarm.ts `prewarm` and job-worker.ts (adoptWarmPrecheck).
   */
  it('dump --format jsonl: a precheck worker started beside the job worker gives the same bytes', async () => {
    // the same events in 4 MiB segments: precheck workers take whole sealed segments
    const cut = join(dir, 'cut-dump');
    expect((await runCli(['init', cut, '--segment-max-bytes', String(4 * 1024 * 1024)])).code).toBe(0);
    const a = await runCli(['append', cut, '--file', join(dir, 'events.jsonl')], { timeoutMs: 120_000 });
    expect(a.code, a.stderr).toBe(0);
    const none = await runCli(['dump', cut, '--format', 'jsonl'], { env: { SEGLOG_DUMP_WORKERS: '0' }, timeoutMs: 120_000 });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout.split('\n').length).toBe(60_001);
    for (const env of [{}, { SEGLOG_PRECHECK_BESIDE: '0' }]) {
      const r = await runCli(['dump', cut, '--format', 'jsonl'], { env: { SEGLOG_DEBUG: '1', SEGLOG_DUMP_WORKERS: '1', ...env }, timeoutMs: 120_000 });
      const what = JSON.stringify(env);
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stderr, what).toContain('job dump in a prewarmed worker');
      expect(r.stderr, what).toContain('dump precheck in a prewarmed worker');
      if (env.SEGLOG_PRECHECK_BESIDE === '0') expect(r.stderr, what).not.toContain('(started beside the job worker)');
      else expect(r.stderr, what).toContain('dump precheck in a prewarmed worker (started beside the job worker)');
      expect(r.stdout === none.stdout, `${what}: dump output differs from the walk alone`).toBe(true);
    }
    // one segment: no precheck; the worker started beside is dropped (its port closed) and the dump ends as usual
    const one = await runCli(['dump', store, '--format', 'jsonl'], { env: { SEGLOG_DEBUG: '1' }, timeoutMs: 120_000 });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toContain('job dump in a prewarmed worker');
    expect(one.stderr).not.toContain('precheck in a prewarmed worker');
    const oneAlone = await runCli(['dump', store, '--format', 'jsonl'], { env: { SEGLOG_DUMP_WORKERS: '0' }, timeoutMs: 120_000 });
    expect(one.stdout === oneAlone.stdout, 'dump output differs with an unused precheck worker').toBe(true);
  }, CLI_TEST_TIMEOUT_MS);

  it('dump --format jsonl (the fast path, without oclif) stopped by SIGINT: what was printed are whole lines, "seglog: interrupted", exit 130', async () => {
    // If this fails, look at the SIGINT handling of src/ui/dump-fast.ts (the job's cancel flag, then exit 130).
    const child = spawn(process.execPath, [BIN, 'dump', store, '--format', 'jsonl'], { env: { ...process.env, NODE_ENV: 'production', SEGLOG_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!sent && out.length > 100_000) {
        sent = true;
        child.kill('SIGINT');
      }
      // read slowly enough that the dump cannot finish before the signal lands
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 5);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(sent, 'the dump ended before it could be interrupted').toBe(true);
    expect(code, err).toBe(130);
    expect(err).toContain('seglog: interrupted');
    const lines = out.split('\n');
    expect(lines.pop(), 'output ends at a line end').toBe('');
    expect(lines.length).toBeLessThan(60_000);
    for (const l of lines) JSON.parse(l);
  }, CLI_TEST_TIMEOUT_MS);

  it('verify --json (the fast path, without oclif) stopped by SIGINT: exit 130, "seglog: interrupted", stdout one JSON document with the "interrupted" error', async () => {
    // If this fails, look at src/ui/fast-job.ts (a read-only job in a worker is stopped at once) and FastOutput.fail.
    const attempt = () => interruptWhenStarted([BIN, 'verify', store, '--json'], 'verify', {});
    let interrupted = 0;
    for (let i = 0; i < 5 && interrupted === 0; i++) {
      const r = await attempt();
      const doc = JSON.parse(r.out) as { ok?: boolean; error?: { code: string } };
      if (r.code === 0) {
        // the walk won the race: then the whole report
        expect(doc.ok, r.err).toBe(true);
        continue;
      }
      interrupted++;
      expect(r.code, r.err).toBe(130);
      expect(r.err).toContain('seglog: interrupted');
      expect(doc, 'one JSON document: the interruption').toEqual({ error: { code: 'interrupted', message: expect.any(String) } });
    }
    expect(interrupted, 'verify finished every time before SIGINT landed').toBeGreaterThan(0);
  }, CLI_TEST_TIMEOUT_MS);

  it('repair --yes --json (the fast path, without oclif) stopped by SIGINT during its plan: exit 130, one JSON error document, the store unchanged and unlocked, as with oclif', async () => {
    // If this fails, look at src/ui/job-host.ts (Ctrl-C during a read-only job) and the session's close in ui/repair-flow.ts.
    const d = join(dir, 'sigint');
    cpSync(store, d, { recursive: true });
    const seg = join(d, readdirSync(d).filter((n) => n.endsWith('.seg')).sort()[0]!);
    const bytes = readFileSync(seg);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    writeFileSync(seg, bytes);
    const before = readFileSync(seg);
    const stopped = async (env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> => {
      const { code, out, err } = await interruptWhenStarted([BIN, 'repair', d, '--yes', '--json'], 'repairPlan', env);
      // SEGLOG_DEBUG's lines (where the job ran, the stack of the interruption) are not the output compared
      return { code, stdout: out, stderr: err.replace(/^seglog: job .*\n|^JobCancelled.*\n|^\s+at .*\n/gm, '') };
    };
    const fast = await stopped({});
    const slow = await stopped({ SEGLOG_FAST_PATH: '0' });
    expect(fast.code, fast.stderr).toBe(130);
    expect(fast.stderr).toContain('seglog: interrupted');
    expect(JSON.parse(fast.stdout)).toHaveProperty('error');
    expect(fast).toEqual(slow);
    expect(readFileSync(seg).equals(before), 'the store changed').toBe(true);
    expect(readdirSync(d).filter((n) => n === 'LOCK' || n.endsWith('.repair.tmp')), 'lock released, no temp file').toEqual([]);
  }, CLI_TEST_TIMEOUT_MS);

  it('append --file (the fast path, without oclif) stopped by SIGINT: keeps what it appended, says how much, "seglog: interrupted", exit 130, the store clean', async () => {
    // If this fails, look at src/ui/fast-job.ts and job-host.ts (the job's cancel flag, then the result and exit 130).
    const target = join(dir, 'interrupted');
    expect((await runCli(['init', target])).code).toBe(0);
    const child = spawn(process.execPath, [BIN, 'append', target, '--file', join(dir, 'events.jsonl'), '--batch-size', '100'], { env: { ...process.env, NODE_ENV: 'production', SEGLOG_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    // the signal once the first batches are in the segment
    const seg = join(target, '0000000000.seg');
    let sent = false;
    for (let i = 0; i < 2000 && child.exitCode === null; i++) {
      if (existsSync(seg) && statSync(seg).size > 64 * 1024) {
        sent = child.kill('SIGINT');
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const code = await closed;
    expect(sent, 'the append ended before it could be interrupted').toBe(true);
    expect(code, err).toBe(130);
    expect(err).toContain('seglog: interrupted');
    const said = /^appended ([\d,]+) events? in [\d,]+ batch(es)? before the interrupt\n$/.exec(out);
    expect(said, out).not.toBeNull();
    const appended = Number(said![1]!.replace(/,/g, ''));
    expect(appended).toBeLessThan(60_000);
    const v = await runCli(['verify', target, '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const stats = await runCli(['stats', target, '--json']);
    expect((JSON.parse(stats.stdout) as { totals: { events: number } }).totals.events, 'the store holds exactly what was reported').toBe(appended);
  }, CLI_TEST_TIMEOUT_MS);

  it('verify --json: same report, warm worker used', async () => {
    const warm = await runCli(['verify', store, '--json'], { env: { SEGLOG_DEBUG: '1' } });
    const cold = await runCli(['verify', store, '--json'], { env: { SEGLOG_JOB_PREWARM: '0' } });
    expect([warm.code, cold.code]).toEqual([0, 0]);
    expect(warm.stderr).toContain('job verify in a prewarmed worker');
    const strip = (s: string): unknown => {
      const d = JSON.parse(s) as Record<string, unknown>;
      delete d.elapsedMs;
      delete d.durationMs;
      return d;
    };
    expect(strip(warm.stdout)).toEqual(strip(cold.stdout));
  }, CLI_TEST_TIMEOUT_MS);

  /**
   * verify's precheck worker started warm beside the job worker by the main thread
   * (src/engine/verify/warm-precheck.ts precheckBeside; SEGLOG_PRECHECK_BESIDE=0: by the job worker)
   * and the walk following its streamed progress (verify-parallel.ts `stream`): the same
   * report as with neither (SEGLOG_VERIFY_PREWARM=0, SEGLOG_VERIFY_STREAM=0) and as the walk
   * alone (SEGLOG_VERIFY_WORKERS=0), on the store cut into 4 MiB segments, clean and with a
   * flipped byte in segment 0 (the one the warm worker takes and the walk streams). If the
   * debug line is missing, look at startWarmPrecheck in job-worker.ts and takeWarmPrecheck in
   * ParallelVerdicts; if the reports differ, at the worker's progress and the walk's follow.
   */
  it('append --file: a warm scan worker and write-behind thread append the same events as those started with the input and the first chunk (SEGLOG_APPEND_PREWARM=0)', async () => {
    // what each store holds, less what differs run to run (ids, wall times: the events' hashes follow them)
    const events = async (target: string): Promise<string[]> => {
      const d = await runCli(['dump', target, '--format', 'jsonl'], { timeoutMs: 120_000 });
      expect(d.code, d.stderr).toBe(0);
      return d.stdout.trim().split('\n').map((l) => {
        const e = JSON.parse(l) as Record<string, unknown>;
        return JSON.stringify([e.seq, e.entity, e.scope, e.kind, e.clock, e.payload]);
      });
    };
    const runs: string[][] = [];
    for (const env of [{ SEGLOG_DEBUG: '1' }, { SEGLOG_APPEND_PREWARM: '0' }]) {
      const target = join(dir, `scan-${runs.length}`);
      const r = await runCli(['append', target, '--create', '--file', join(dir, 'events.jsonl')], { timeoutMs: 120_000, env: { SEGLOG_APPEND_WORKERS: '1', ...env } });
      expect(r.code, r.stderr).toBe(0);
      if (env.SEGLOG_DEBUG === '1') {
        expect(r.stderr, 'the warm scan worker (scan-pool.ts startWarmScan) was not taken').toContain('append scan in a prewarmed worker');
        expect(r.stderr, 'the warm write-behind thread (write-behind.ts startWarmWriteBehind) was not taken').toContain('append write-behind in a prewarmed worker');
      }
      runs.push(await events(target));
    }
    expect(runs[0]!.length).toBe(60_000);
    expect(runs[0], 'the events appended with the warm scan worker differ: see scan-pool.ts readLinesWithWorker').toEqual(runs[1]);
  }, CLI_TEST_TIMEOUT_MS);

  it('verify --json: a warm precheck worker and streamed progress give the same report as without them', async () => {
    const cut = join(dir, 'cut');
    expect((await runCli(['init', cut, '--segment-max-bytes', String(4 * 1024 * 1024)])).code).toBe(0);
    const a = await runCli(['append', cut, '--file', join(dir, 'events.jsonl')], { timeoutMs: 120_000 });
    expect(a.code, a.stderr).toBe(0);
    const damaged = join(dir, 'cut-damaged');
    cpSync(cut, damaged, { recursive: true });
    const seg0 = join(damaged, readdirSync(damaged).filter((n) => n.endsWith('.seg')).sort()[0]!);
    const bytes = readFileSync(seg0);
    bytes[bytes.length >> 1] ^= 0x10;
    writeFileSync(seg0, bytes);
    for (const target of [cut, damaged]) {
      const warm = await runCli(['verify', target, '--json'], { env: { SEGLOG_DEBUG: '1', SEGLOG_VERIFY_WORKERS: '1' } });
      expect(warm.stderr).toContain('verify precheck in a prewarmed worker (started beside the job worker)');
      for (const env of [{ SEGLOG_PRECHECK_BESIDE: '0' }, { SEGLOG_VERIFY_PREWARM: '0' }, { SEGLOG_VERIFY_STREAM: '0' }, { SEGLOG_VERIFY_WORKERS: '0' }]) {
        const other = await runCli(['verify', target, '--json'], { env: { SEGLOG_VERIFY_WORKERS: '1', ...env } });
        expect(other.code, `${target} ${JSON.stringify(env)}`).toBe(warm.code);
        expect(other.stdout, `${target} ${JSON.stringify(env)}`).toBe(warm.stdout);
      }
      expect(warm.code).toBe(target === cut ? 0 : 1);
    }
  }, CLI_TEST_TIMEOUT_MS);

  it('repair --yes --json: the plan\'s worker runs the execution too; report, exit status and repaired store as with a new worker per job', async () => {
    // a flipped byte mid-file and a torn tail, in two copies of the 14 MiB store (a worker each)
    const damaged = (name: string): string => {
      const d = join(dir, name, 'store');
      cpSync(store, d, { recursive: true });
      const seg = join(d, readdirSync(d).filter((n) => n.endsWith('.seg')).sort()[0]!);
      const bytes = readFileSync(seg);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
      writeFileSync(seg, bytes.subarray(0, bytes.length - 37));
      rmSync(join(d, 'index.ckpt'), { force: true });
      return d;
    };
    const kept = damaged('kept');
    const fresh = damaged('fresh');
    const a = await runCli(['repair', 'store', '--yes', '--json'], { cwd: join(kept, '..'), env: { SEGLOG_DEBUG: '1' }, timeoutMs: 120_000 });
    const b = await runCli(['repair', 'store', '--yes', '--json'], { cwd: join(fresh, '..'), env: { SEGLOG_DEBUG: '1', SEGLOG_JOB_PREWARM: '0' }, timeoutMs: 120_000 });
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(a.stderr).toContain('job repairPlan in a prewarmed worker');
    expect(a.stderr).toContain('job repairExecute in a prewarmed worker');
    expect(b.stderr).toContain('job repairExecute in a new worker');
    // the same report but for where each store is and the repair's time in lost+found names
    const norm = (out: string, d: string): string => out.split(join(d, '..')).join('<dir>').replace(/\b\d{13}\b|\d{8}T\d{9}Z/g, '<time>');
    expect(norm(a.stdout, kept)).toBe(norm(b.stdout, fresh));
    const dumpA = await runCli(['dump', kept, '--format', 'jsonl']);
    const dumpB = await runCli(['dump', fresh, '--format', 'jsonl']);
    expect(dumpA.code).toBe(0);
    expect(dumpA.stdout === dumpB.stdout, 'the repaired stores differ').toBe(true);
    expect((await runCli(['verify', kept])).code).toBe(0);
  }, CLI_TEST_TIMEOUT_MS);

  it('a wrong guess (repair --output runs repairCopy, the guess was repairPlan) runs in a new worker', async () => {
    const r = await runCli(['repair', store, '--output', join(dir, 'copy'), '--yes', '--json'], { env: { SEGLOG_DEBUG: '1' }, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('job repairCopy in a new worker');
    const v = await runCli(['verify', join(dir, 'copy')]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, CLI_TEST_TIMEOUT_MS);
  it('sidx rebuild --yes of stripped footers, stopped by SIGINT once its job started, with and without the fast path: the same output, exit 130, every segment as it was, no temp file', async () => {
    // If this fails, look at the SIGINT handling of src/ui/fast-job.ts (the job's cancel flag,
    // then JobCancelled through FastOutput.fail) and at SegmentReplacements.abandon.
    const stripped = join(dir, 'stripped');
    cpSync(store, stripped, { recursive: true });
    const s = await runCli(['sidx', 'strip', stripped, '--yes']);
    expect(s.code, s.stderr).toBe(0);
    const segs = (d: string): Record<string, string> => Object.fromEntries(readdirSync(d).sort().map((n) => [n, n.endsWith('.seg') ? readFileSync(join(d, n)).toString('base64') : '']));
    const before = segs(stripped);
    const results: { code: number | null; stdout: string; stderr: string }[] = [];
    for (const env of [{}, { SEGLOG_FAST_PATH: '0' }] as Record<string, string>[]) {
      // the job is in its worker: its first segment's scan takes far longer than the signal
      const { code, out, err } = await interruptWhenStarted([BIN, 'sidx', 'rebuild', stripped, '--yes', '--json'], 'sidx', env);
      results.push({ code, stdout: out, stderr: err });
      expect(segs(stripped), 'an interrupted rebuild must change nothing and leave no temp file').toEqual(before);
    }
    expect(results[0]!.code, results[0]!.stderr).toBe(130);
    expect(results[0]!.stderr).toContain('seglog: interrupted');
    expect(JSON.parse(results[0]!.stdout)).toEqual({ error: { code: 'interrupted', message: 'interrupted' } });
    expect(results[1], 'oclif says the same').toEqual(results[0]);
  }, CLI_TEST_TIMEOUT_MS);
});
