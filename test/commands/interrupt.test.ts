/**
 * Ctrl-C and progress at a real terminal (issue 15): the built CLI runs in a
 * pseudo-terminal (test/support/pty-run.py, python3's pty module), a Ctrl-C keypress is
 * typed once a progress frame has been drawn, and the test checks the exit status
 * (130), that the store is closed cleanly (verify clean, no LOCK left), that what was
 * done is reported, and that progress frames were drawn. No speed is asserted: the
 * inputs are large enough that the job cannot have finished when the key is typed; the
 * only time bound is a generous one on the answer to Ctrl-C (EXIT_BOUND_MS; the 200 ms
 * target is measured apart, scripts in docs/DECISIONS.md).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * A generous bound on Ctrl-C to exit (the target is 200 ms on an idle machine): past it,
 * the job is not looking at its cancel flag (a loop without a cancel point) or the close
 * after it is slow; see the job's module in src/ui/job/.
 */
const EXIT_BOUND_MS = 2000;

/** interrupt: see test/support/pty-run.py ('after:<text on the terminal>', 'afterbytes:<n>', 'aftergrow:<file>', 'afterms:<n>'). */
function ptyRun(cmd: string[], interrupt: string, stdoutFile = '-', cols = 80, typed?: string): PtyRun {
  const options = typed === undefined ? [] : [`type:${JSON.stringify(typed)}`];
  const out = execFileSync('python3', [PTY, String(cols), '30', interrupt, stdoutFile, ...options, '--', ...cmd], {
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

/** Ctrl-C to exit, bounded generously (EXIT_BOUND_MS). */
function expectPromptExit(r: PtyRun, what: string): void {
  expect(r.interruptedAtMs, `${what}: the Ctrl-C was never typed (its trigger did not show):\n${r.output.slice(-2000)}`).not.toBeNull();
  expect(r.exitedAtMs - r.interruptedAtMs!, `${what}: Ctrl-C took over ${EXIT_BOUND_MS} ms to end the command`).toBeLessThan(EXIT_BOUND_MS);
}

/** sha256 of every segment file: "nothing changed" is checked byte for byte. */
function segmentDigests(store: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(store).filter((n) => n.endsWith('.seg')).sort()) out[f] = createHash('sha256').update(readFileSync(join(store, f))).digest('hex');
  return out;
}

describe('Ctrl-C stops maintenance, repair, drills and builds at a safe point with exit 130', () => {
  let small = '';
  beforeAll(async () => {
    // many small segments: sidx strip/rebuild look at Ctrl-C between segments
    small = join(dir, 'small');
    expect((await runCli(['init', small, '--segment-max-bytes', String(2 * 1024 * 1024)])).code).toBe(0);
    const r = await runCli(['append', small, '--file', input], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
  }, 180_000);

  it('sidx strip: an interrupted strip changes no segment (temp files abandoned), releases the lock, exit 130', async () => {
    const store = join(dir, 'strip');
    cpSync(small, store, { recursive: true });
    const before = segmentDigests(store);
    const r = ptyRun(seglog('sidx', 'strip', store, '--yes'), 'after:stripping footers');
    expectPromptExit(r, 'sidx strip');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(frames(r.output, 'stripping footers').length, 'progress frames on the terminal').toBeGreaterThan(0);
    expect(segmentDigests(store), 'an interrupted strip must change nothing: does sidx-maintenance rename before its last segment is done?').toEqual(before);
    expect(readdirSync(store).filter((n) => n.includes('tmp')), 'temp files left behind').toEqual([]);
    await expectCleanStore(store);
  }, CLI_TEST_TIMEOUT_MS * 2);

  it('sidx rebuild: an interrupted rebuild of stripped footers changes nothing, exit 130, the store still verifies without errors', async () => {
    const store = join(dir, 'rebuild');
    cpSync(small, store, { recursive: true });
    expect((await runCli(['sidx', 'strip', store, '--yes'], { timeoutMs: 120_000 })).code).toBe(0);
    const before = segmentDigests(store);
    const r = ptyRun(seglog('sidx', 'rebuild', store, '--yes'), 'after:rebuilding footers');
    expectPromptExit(r, 'sidx rebuild');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(segmentDigests(store), 'an interrupted rebuild must change nothing').toEqual(before);
    expect(existsSync(join(store, 'LOCK')), 'the lock is released').toBe(false);
    const v = await runCli(['verify', store, '--json'], { timeoutMs: 60_000 });
    expect({ code: v.code, errors: jsonOf<{ errors: number }>(v).errors }, 'verify after the interrupted rebuild').toEqual({ code: 0, errors: 0 });
  }, CLI_TEST_TIMEOUT_MS * 2);

  it('wal replay --state: stops at once, exit 130, no state file written, the store untouched', async () => {
    // twice the input: a replay of bigStore alone once ended before the key was read (exit 0)
    const store = join(dir, 'wal');
    cpSync(bigStore, store, { recursive: true });
    expect((await runCli(['append', store, '--file', input], { timeoutMs: 120_000 })).code).toBe(0);
    const state = join(dir, 'state.json');
    const r = ptyRun(seglog('wal', 'replay', store, '--state', state), 'after:replaying');
    expectPromptExit(r, 'wal replay');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(r.output).toContain('seglog: interrupted');
    expect(existsSync(state), 'a replay stopped mid-way must not write its state').toBe(false);
    await expectCleanStore(store);
  }, CLI_TEST_TIMEOUT_MS * 2);

  it('repair --yes: interrupted while writing the repaired segment, the store is byte for byte unchanged, the lock released, it says so; a second repair finishes', async () => {
    const store = join(dir, 'damaged');
    cpSync(bigStore, store, { recursive: true });
    const seg = join(store, '0000000000.seg');
    const bytes = readFileSync(seg);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(seg, bytes);
    const before = segmentDigests(store);
    const r = ptyRun(seglog('repair', store, '--yes'), 'after:repairing: writing');
    expectPromptExit(r, 'repair');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(r.output).toContain('the store is unchanged');
    expect(segmentDigests(store), 'repair must stop before its renames: see cancelPoint in tools/repair/executor.ts').toEqual(before);
    expect(existsSync(join(store, 'LOCK')), 'the lock is released').toBe(false);
    expect(readdirSync(store).filter((n) => n.endsWith('.repair.tmp')), 'temp files removed').toEqual([]);
    const again = await runCli(['repair', store, '--yes'], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    await expectCleanStore(store);
  }, CLI_TEST_TIMEOUT_MS * 3);

  it('repair --output: interrupted while copying, the partial copy is removed, the original only read, exit 130', () => {
    const before = segmentDigests(bigStore);
    const out = join(dir, 'repair-out');
    const r = ptyRun(seglog('repair', bigStore, '--output', out, '--yes'), 'after:copying');
    expectPromptExit(r, 'repair --output');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(r.output).toContain('copy interrupted and removed');
    expect(existsSync(out), 'a partial copy must not be left to be mistaken for a store (tools/repair/copy-store.ts)').toBe(false);
    expect(segmentDigests(bigStore), 'the original is only read').toEqual(before);
  }, CLI_TEST_TIMEOUT_MS);

  it('drill: stops between crash states, prints its report of what it explored, exit 130', () => {
    const r = ptyRun(seglog('drill'), 'after:crash states');
    expectPromptExit(r, 'drill');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(r.output).toMatch(/interrupted: no invariant violated in the states explored/);
    expect(r.output).toContain('seglog: interrupted');
  }, CLI_TEST_TIMEOUT_MS);

  it('drill --json: interrupted, stdout is one JSON document saying "interrupted": true', () => {
    const out = join(dir, 'drill.json');
    const r = ptyRun(seglog('drill', '--json'), 'afterms:2500', out);
    expectPromptExit(r, 'drill --json');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    const text = readFileSync(out, 'utf8');
    expect(text.trim().split('\n').length, 'one document on stdout').toBe(1);
    const doc = JSON.parse(text) as { interrupted: boolean; crashStates: number };
    expect(doc.interrupted, 'a drill that ran to its end in 2.5 s: make it longer (it takes ~25 s)').toBe(true);
  }, CLI_TEST_TIMEOUT_MS);

  it('fixture build: stops at a spec-line boundary, writes what it read, closes the store (lock released), says how much, exit 130', async () => {
    const spec = join(dir, 'spec.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(JSON.stringify({ type: 'event', entity: `e:${i % 300}`, scope: 's', payload: { i, pad: 'y'.repeat(60) } }));
    writeFileSync(spec, `${lines.join('\n')}\n`);
    const store = join(dir, 'fixture');
    const r = ptyRun(seglog('fixture', 'build', store, '--spec', spec), 'after:writing frames');
    expectPromptExit(r, 'fixture build');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    const said = /wrote ([\d,]+) frames? \(([\d,]+) events?.* before the interrupt/.exec(r.output);
    expect(said, r.output.slice(-1000)).not.toBeNull();
    const events = Number(said![2]!.replace(/,/g, ''));
    expect(events).toBeLessThan(200_000);
    expect(await expectCleanStore(store), 'the store holds exactly what was reported').toBe(events);
  }, CLI_TEST_TIMEOUT_MS * 2);
});

describe('append --file - typed at a terminal', () => {
  it('Ctrl-C exits 130 at once, keeps the lines entered, never appends the line being typed', async () => {
    const store = join(dir, 'typed');
    expect((await runCli(['append', store, '--create', '--entity', 'a:0', '--scope', 't', '--payload', '0'])).code).toBe(0);
    const typed = '{"entity":"a:1","scope":"t","payload":1}\n{"entity":"a:2","scope":"t","pay';
    // Ctrl-C once the first line is committed (the segment grew): the second is half typed
    const r = ptyRun(seglog('append', store, '--file', '-'), `aftergrow:${join(store, '0000000000.seg')}`, '-', 80, typed);
    expectPromptExit(r, 'append --file - at a terminal');
    expect(r.exit, r.output.slice(-2000)).toBe(130);
    expect(r.output, 'what was done is said').toContain('appended 1 event before the interrupt');
    expect(existsSync(join(store, 'LOCK')), 'the lock is released').toBe(false);
    const dump = await runCli(['dump', store, '--format', 'jsonl']);
    const entities = dump.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { entity: string }).entity);
    expect(entities, 'the entered line is kept, the half-typed one is not (ui/base-command.ts interrupt handler, tools/ingest/ingest-stream.ts)').toEqual(['a:0', 'a:1']);
    await expectCleanStore(store);
  }, CLI_TEST_TIMEOUT_MS);
});
