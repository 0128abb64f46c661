import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_EXPECTATIONS, problemKey } from '../engine/fixture-expectations.js';
import {
  assertBuilt,
  CLI_TEST_TIMEOUT_MS,
  describeRun,
  freshStorePath,
  jsonOf,
  removeTempDirs,
  runCli,
  stackLines,
} from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

interface VerifyJson {
  ok: boolean;
  events: number;
  segments: number;
  problems: VerifyProblem[];
}

interface VerifyProblem {
  code: string;
  severity: string;
  segment: string;
  offset: number;
  message: string;
  seq?: number;
  entity?: string;
  causedBy?: VerifyProblem[];
}

/** Every problem, consequences (causedBy) included, in file order as the engine reports them. */
function flatProblems(ps: VerifyProblem[]): VerifyProblem[] {
  const all = ps.flatMap((p) => [p, ...(p.causedBy ?? [])]);
  const segs = [...new Set(all.map((p) => p.segment))];
  return all.map((p, i) => ({ p, i })).sort((a, b) => segs.indexOf(a.p.segment) - segs.indexOf(b.p.segment) || a.p.offset - b.p.offset || a.i - b.i).map((x) => x.p);
}

const fixturePath = (name: string): string => join('test', 'fixtures', name);

describe('seglog verify on every fixture (test/fixtures/README.md)', () => {
  it(
    'prints one JSON document with exactly the README problems and exits with the README status',
    async () => {
      const runs = await Promise.all(FIXTURE_EXPECTATIONS.map((f) => runCli(['verify', fixturePath(f.name), '--json'])));
      for (const [i, want] of FIXTURE_EXPECTATIONS.entries()) {
        const r = runs[i]!;
        const where = describeRun(r);
        expect(r.timedOut, where).toBe(false);
        expect(r.code, where).toBe(want.exitCode);
        const out = jsonOf<VerifyJson>(r);
        expect({ ok: out.ok, events: out.events, segments: out.segments }, where).toEqual({ ok: want.ok, events: want.events, segments: want.segments });
        expect(flatProblems(out.problems).map(problemKey), where).toEqual(want.problems);
        const groups = Object.fromEntries(out.problems.filter((p) => p.causedBy).map((p) => [p.code, p.causedBy!.map((c) => c.code)]));
        expect(groups, `root causes (src/engine/verify-causes.ts): ${where}`).toEqual(want.causes ?? {});
        expect(stackLines(r.stderr), where).toEqual([]);
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    "--strict turns warnings into exit 1; text output ends with the problem count; the README's main command `seglog verify test/fixtures/clean` exits 0",
    async () => {
      const warned = FIXTURE_EXPECTATIONS.filter((f) => f.exitCode !== f.strictExitCode);
      expect(warned.map((f) => f.name)).toEqual(['torn-tail', 'incomplete-batch', 'stripped-footers', 'stale-checkpoint']);
      const [clean, ...strict] = await Promise.all([
        runCli(['verify', fixturePath('clean')]),
        ...warned.map((f) => runCli(['verify', fixturePath(f.name), '--strict'])),
      ]);
      expect(clean!.code, describeRun(clean!)).toBe(0);
      expect(clean!.stdout.trimEnd().split('\n').at(-1)).toBe('no problems found');
      for (const [i, f] of warned.entries()) {
        const r = strict[i]!;
        expect(r.code, describeRun(r)).toBe(f.strictExitCode);
        const n = f.problems.length;
        const s = n === 1 ? '' : 's';
        expect(r.stdout.trimEnd().split('\n').at(-1), describeRun(r)).toBe(`0 errors, ${n} warning${s}: ${n} problem${s} found`);
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'verifies single segment files: a sealed one alone is clean, a damaged one names itself and the offset',
    async () => {
      const [lone, flipped] = await Promise.all([
        runCli(['verify', fixturePath('clean/0000000001.seg'), '--json']),
        runCli(['verify', fixturePath('flipped-bit/0000000000.seg'), '--json', '--max-errors', '1']),
      ]);
      expect(lone.code, describeRun(lone)).toBe(0);
      expect(jsonOf<VerifyJson>(lone).problems).toEqual([]);
      expect(flipped.code, describeRun(flipped)).toBe(1);
      expect(jsonOf<VerifyJson & { stoppedEarly: boolean }>(flipped)).toMatchObject({ stoppedEarly: true, problems: [{ code: 'crc_mismatch', segment: '0000000000.seg', offset: 1232 }] });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a store made by append verifies clean',
    async () => {
      const store = freshStorePath();
      const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ entity: `e${i % 4}`, scope: 't', payload: { i } })).join('\n');
      const a = await runCli(['append', store, '--create', '--file', '-', '--batch-size', '7'], { input: `${lines}\n` });
      expect(a.code, describeRun(a)).toBe(0);
      const v = await runCli(['verify', store, '--json']);
      expect(v.code, describeRun(v)).toBe(0);
      expect(jsonOf<VerifyJson>(v)).toMatchObject({ ok: true, events: 40, problems: [] });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--format json prints the same one JSON document as --json, through oclif and the fast path (it printed nothing at all once: check commands/verify.ts and ui/verify-action.ts)',
    async () => {
      const damaged = fixturePath('flipped-bit');
      for (const target of [fixturePath('clean'), damaged]) {
        const runs = await Promise.all([
          runCli(['verify', target, '--json']),
          runCli(['verify', target, '--format', 'json']),
          runCli(['verify', target, '--format', 'json'], { env: { SEGLOG_FAST_PATH: '0' } }),
        ]);
        const [json, ...formats] = runs;
        for (const r of formats) {
          expect(r!.code, describeRun(r!)).toBe(json!.code);
          expect(r!.stdout, describeRun(r!)).toBe(json!.stdout);
          expect(jsonOf<VerifyJson>(r!).problems.length > 0, describeRun(r!)).toBe(target === damaged);
        }
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
