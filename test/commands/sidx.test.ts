/**
 * `seglog sidx show|strip|rebuild` end to end (the built CLI): JSON shapes, exit codes,
 * the --yes rule without a terminal, and strip → rebuild giving back the same bytes.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, expectOneLineError, freshStorePath, jsonOf, removeTempDirs, runCli } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

async function makeStore(): Promise<string> {
  const store = freshStorePath();
  const init = await runCli(['init', store, '--segment-max-bytes', '4096']);
  expect(init.code, describeRun(init)).toBe(0);
  const input = Array.from({ length: 40 }, (_, i) => JSON.stringify({ entity: `order:${i % 4}`, scope: 't', payload: { i, note: 'x'.repeat(150) } })).join('\n');
  const r = await runCli(['append', store, '--create', '--file', '-', '--batch-size', '5'], { input });
  expect(r.code, describeRun(r)).toBe(0);
  return store;
}

function segmentsOf(store: string): Map<string, Buffer> {
  return new Map(
    readdirSync(store)
      .filter((n) => /^\d{10}\.seg$/.test(n))
      .sort()
      .map((n) => [n, readFileSync(join(store, n))]),
  );
}

interface ShowJson {
  segment: string;
  present: boolean;
  valid: boolean;
  entries: number;
  markers: number;
  entryList?: { seq: number; offset: number; entity: string; eventHash: string }[];
  message: string | null;
}

describe('seglog sidx', () => {
  it(
    'show: every segment of a cleanly closed store has a valid footer; --entries lists them; a damaged one exits 1',
    async () => {
      const store = await makeStore();
      const all = await runCli(['sidx', 'show', store, '--json']);
      expect(all.code, describeRun(all)).toBe(0);
      const doc = jsonOf<{ segments: ShowJson[]; checkpoint: { status: string } }>(all);
      expect(doc.segments.length).toBeGreaterThan(2);
      expect(doc.segments.every((s) => s.present && s.valid)).toBe(true);
      expect(doc.segments.reduce((a, s) => a + s.entries, 0)).toBe(40);
      expect(doc.checkpoint.status).toBe('valid');
      const seg = join(store, '0000000001.seg');
      const one = await runCli(['sidx', 'show', seg, '--entries', '--json']);
      expect(one.code, describeRun(one)).toBe(0);
      const s = jsonOf<ShowJson>(one);
      expect(s).toMatchObject({ segment: '0000000001.seg', present: true, valid: true });
      expect(s.entryList!.length).toBe(s.entries);
      expect(s.entryList![0]).toMatchObject({ entity: expect.stringMatching(/^order:\d$/), eventHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const text = await runCli(['sidx', 'show', seg, '--entries']);
      expect(text.stdout).toMatch(/0000000001\.seg: SIDX footer valid: \d+ entries/);
      // one byte of the footer's string table changed
      const bytes = readFileSync(seg);
      bytes[bytes.length - 40]! ^= 0x20;
      writeFileSync(seg, bytes);
      const bad = await runCli(['sidx', 'show', seg, '--json']);
      expect(bad.code, describeRun(bad)).toBe(1);
      expect(jsonOf<ShowJson>(bad)).toMatchObject({ present: true, valid: false });
      const verify = await runCli(['verify', store, '--json']);
      expect(verify.code, describeRun(verify)).toBe(1);
      const problems = jsonOf<{ problems: { code: string; severity: string; segment: string }[] }>(verify).problems;
      expect(problems.map((p) => [p.code, p.severity, p.segment])).toContainEqual(['sidx_mismatch', 'error', '0000000001.seg']);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'strip then rebuild gives back every segment byte for byte; stats and verify say what is missing in between',
    async () => {
      const store = await makeStore();
      const before = segmentsOf(store);
      const strip = await runCli(['sidx', 'strip', store, '--yes', '--json']);
      expect(strip.code, describeRun(strip)).toBe(0);
      const out = jsonOf<{ segments: { action: string }[]; checkpointRemoved: boolean }>(strip);
      expect(out.segments.every((s) => s.action === 'stripped')).toBe(true);
      expect(out.checkpointRemoved).toBe(true);
      expect(readdirSync(store)).not.toContain('index.ckpt');
      const verify = await runCli(['verify', store, '--json']);
      expect(verify.code, 'missing footers are warnings: exit 0').toBe(0);
      const codes = jsonOf<{ problems: { code: string }[] }>(verify).problems.map((p) => p.code);
      expect(codes).toEqual(Array(before.size - 1).fill('sidx_missing'));
      const stats = await runCli(['stats', store, '--json']);
      expect(stats.code, describeRun(stats)).toBe(0);
      const rebuild = await runCli(['sidx', 'rebuild', store, '--yes', '--json']);
      expect(rebuild.code, describeRun(rebuild)).toBe(0);
      expect(jsonOf<{ segments: { action: string }[] }>(rebuild).segments.every((s) => s.action === 'rebuilt')).toBe(true);
      const after = segmentsOf(store);
      for (const [name, b] of before) expect(after.get(name)!.equals(b), `${name} differs after strip + rebuild`).toBe(true);
      const again = await runCli(['sidx', 'rebuild', store, '--yes', '--json']);
      expect(jsonOf<{ segments: { action: string }[] }>(again).segments.every((s) => s.action === 'unchanged')).toBe(true);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'strip and rebuild refuse to change files without --yes when stdin is not a terminal (exit 2); --dry-run changes nothing',
    async () => {
      const store = await makeStore();
      const before = segmentsOf(store);
      for (const verb of ['strip', 'rebuild']) {
        const r = await runCli(['sidx', verb, store]);
        if (verb === 'rebuild') {
          // every footer already matches: nothing to ask about
          expect(r.code, describeRun(r)).toBe(0);
          continue;
        }
        expectOneLineError(r, { exitCode: 2, at: '--yes' });
      }
      const dry = await runCli(['sidx', 'strip', store, '--dry-run', '--json']);
      expect(dry.code, describeRun(dry)).toBe(0);
      expect(jsonOf<{ dryRun: boolean; segments: { action: string }[] }>(dry)).toMatchObject({ dryRun: true });
      expect(segmentsOf(store)).toEqual(before);
      expect(readdirSync(store)).toContain('index.ckpt');
      const missing = await runCli(['sidx', 'show', join(store, 'nope.seg')]);
      expectOneLineError(missing, { exitCode: 2, file: 'nope.seg' });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'rebuild gives the same answer with the footer-checking workers on and off (SEGLOG_SIDX_WORKERS), stealing on and off (SEGLOG_SIDX_STEAL) the temp files\' write-back hints off (SEGLOG_EARLY_WRITEBACK) and the kernel copy off (SEGLOG_KERNEL_COPY): intact, wrong, stripped and damaged footers',
    async () => {
      // the fast path of issue 18: stored footers checked streaming, in a worker thread, instead of
      // built and compared; if the two disagree, look at storedFooterIsExact (tools/sidx-maintenance.ts)
      const base = await makeStore();
      const names = [...segmentsOf(base).keys()];
      expect(names.length).toBeGreaterThanOrEqual(4);
      const strip = await runCli(['sidx', 'strip', join(base, names[1]!), '--yes', '--json']);
      expect(strip.code, describeRun(strip)).toBe(0);
      const wrong = readFileSync(join(base, names[2]!));
      wrong[wrong.length - 60] ^= 0x01; // inside the footer: its checksum fails
      writeFileSync(join(base, names[2]!), wrong);
      const answers: string[] = [];
      // with a worker: the walk also prechecks segments from the back while it waits (SEGLOG_SIDX_STEAL)
      // the hints (RealFs.startWritebackOf) only start the disk early, and the frames copied through
      // a buffer (SegmentReplacements.copyFrames) are the same bytes as the kernel's copy (RealFs.copyFile)
      for (const env of [{ SEGLOG_SIDX_WORKERS: '1' }, { SEGLOG_SIDX_WORKERS: '1', SEGLOG_SIDX_STEAL: '0' }, { SEGLOG_SIDX_WORKERS: '0' }, { SEGLOG_EARLY_WRITEBACK: '0' }, { SEGLOG_KERNEL_COPY: '0' }]) {
        const copy = freshStorePath();
        cpSync(base, copy, { recursive: true });
        const dry = await runCli(['sidx', 'rebuild', copy, '--dry-run', '--json'], { env });
        expect(dry.code, describeRun(dry)).toBe(0);
        const r = await runCli(['sidx', 'rebuild', copy, '--yes', '--json'], { env });
        expect(r.code, describeRun(r)).toBe(0);
        const actions = jsonOf<{ segments: { segment: string; action: string; entries: number; frameEnd: number }[] }>(r).segments;
        expect(actions.map((a) => a.action).filter((a) => a === 'rebuilt').length, 'the stripped and the damaged footer').toBe(2);
        const v = await runCli(['verify', copy, '--json']);
        expect(v.code, describeRun(v)).toBe(0);
        answers.push(JSON.stringify({ dry: jsonOf<{ segments: unknown[] }>(dry).segments.map((x) => ({ ...(x as object), path: '' })), actions: actions.map((a) => ({ ...a, path: '' })), files: [...segmentsOf(copy).values()].map((b) => b.toString('base64')) }));
      }
      expect(answers[1], 'stealing off: same actions, same files').toBe(answers[0]);
      expect(answers[2], 'workers off: same actions, same files').toBe(answers[0]);
      expect(answers[3], 'write-back hints off: same actions, same files').toBe(answers[0]);
      expect(answers[4], 'kernel copy off: same actions, same files').toBe(answers[0]);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
