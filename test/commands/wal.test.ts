import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  CLI_TEST_TIMEOUT_MS,
  describeRun,
  expectOneLineError,
  FIXTURES_DIR,
  freshStorePath,
  jsonOf,
  removeTempDirs,
  runCli,
  stackLines,
  tempDir,
} from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

const fixture = (name: string): string => join('test', 'fixtures', name);
const MIXED_STATS = { txnsApplied: 5, writesApplied: 13, deletesApplied: 2, discardedTxns: 2, abortedTxns: 1, orphanedEntries: 3, finalVersion: 21, liveKeys: 10 };

interface ReplayJson {
  stats: typeof MIXED_STATS;
  warnings: { code: string; txn: number | null; file: string; offset: number; message: string }[];
  warningsOmitted: number;
  corruption: { code: string; file: string; offset: number; message: string } | null;
  state: string | null;
}

describe('seglog wal replay', () => {
  it(
    '--json prints {stats, warnings} with each discarded transaction located; exit 0 even with discarded transactions',
    async () => {
      const r = await runCli(['wal', 'replay', fixture('wal-mixed'), '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      const out = jsonOf<ReplayJson>(r);
      expect(out.stats).toEqual(MIXED_STATS);
      expect(out.warnings.map((w) => `${w.code} ${w.txn} ${w.offset}`)).toEqual([
        'aborted_txn 4 1519',
        'orphaned_entry 9 1536',
        'orphaned_entry 0 1722',
        'orphaned_entry 6 3745',
        'incomplete_txn 5 2116',
      ]);
      expect(out.corruption).toBeNull();
      expect(r.stderr, 'with --json, warnings are in the document only').toBe('');
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    '--state writes the final state {key: {value, version}}; text mode prints the stats and the warnings on stderr',
    async () => {
      const state = join(tempDir(), 'state.json');
      const r = await runCli(['wal', 'replay', fixture('wal-tail-incomplete'), '--state', state]);
      expect(r.code, describeRun(r)).toBe(0);
      expect(readFileSync(state, 'utf8')).toBe('{"b":{"value":2,"version":2}}\n');
      expect(r.stdout).toMatch(/^txnsApplied\s+2$/m);
      expect(r.stdout).toMatch(/^discardedTxns\s+2$/m);
      expect(r.stdout).toContain(`state written to ${state}`);
      const warnings = r.stderr.trim().split('\n');
      expect(warnings, describeRun(r)).toEqual([
        expect.stringMatching(/^seglog: warning: .*0000000000\.seg: at byte 649: transaction 3 never committed or aborted/),
        expect.stringMatching(/^seglog: warning: .*0000000000\.seg: at byte 670: transaction 4 never committed or aborted/),
      ]);
      expect(existsSync(`${state}.tmp`), 'the temp file of the atomic write is gone').toBe(false);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a corrupt log: exit 1, replay stops at the damaged frame, and no state file is written',
    async () => {
      const state = join(tempDir(), 'state.json');
      const [j, t] = await Promise.all([
        runCli(['wal', 'replay', fixture('wal-corrupt'), '--json', '--state', state]),
        runCli(['wal', 'replay', fixture('wal-corrupt')]),
      ]);
      expect(j.code, describeRun(j)).toBe(1);
      const out = jsonOf<ReplayJson>(j);
      expect(out.corruption).toMatchObject({ code: 'corrupt', offset: 1533 });
      expect(out.stats.txnsApplied).toBe(5);
      expect(out.state).toBeNull();
      expect(existsSync(state)).toBe(false);
      expect(t.code, describeRun(t)).toBe(1);
      expect(t.stderr).toMatch(/^seglog: .*0000000000\.seg: at byte 1533: frame checksum mismatch: replay stopped here$/m);
      expect(stackLines(t.stderr)).toEqual([]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'usage and operational failures exit 2 with one line: missing store, not a store, unknown flag',
    async () => {
      const missing = join(tempDir(), 'nope');
      const [a, b, c] = await Promise.all([
        runCli(['wal', 'replay', missing]),
        runCli(['wal', 'replay', tempDir(), '--json']),
        runCli(['wal', 'replay', fixture('wal-mixed'), '--bogus']),
      ]);
      expectOneLineError(a, { exitCode: 2, file: missing, at: 'no such store directory' });
      expect(b.code, describeRun(b)).toBe(2);
      expect(jsonOf<{ error: { code: string } }>(b).error.code).toBe('not_a_store');
      expect(c.code, describeRun(c)).toBe(2);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a store of plain event batches replays as committed transactions with no key/value operation',
    async () => {
      const r = await runCli(['wal', 'replay', fixture('clean'), '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      expect(jsonOf<ReplayJson>(r).stats).toMatchObject({ txnsApplied: 4, writesApplied: 0, deletesApplied: 0, liveKeys: 0, finalVersion: 0 });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('seglog wal dump', () => {
  it(
    '--json lists every transaction with status, operation counts and first/last frame; --status filters',
    async () => {
      const [all, some, bad] = await Promise.all([
        runCli(['wal', 'dump', fixture('wal-mixed'), '--json']),
        runCli(['wal', 'dump', fixture('wal-mixed'), '--status', 'incomplete,aborted', '--json']),
        runCli(['wal', 'dump', fixture('wal-mixed'), '--status', 'bogus']),
      ]);
      expect(all.code, describeRun(all)).toBe(0);
      const out = jsonOf<{ summary: Record<string, number>; txns: { txn: number; status: string; ops: number; first: { segment: string; offset: number }; last: { segment: string; offset: number } }[]; truncated: boolean }>(all);
      expect(out.summary).toEqual({ committed: 5, aborted: 1, incomplete: 1, orphaned: 3, orphanedEntries: 3 });
      expect(out.txns.map((t) => `${t.txn}:${t.status}`)).toEqual(['1:committed', '2:committed', '3:committed', '4:aborted', '9:orphaned', '0:orphaned', '5:incomplete', '6:committed', '6:orphaned', '7:committed']);
      expect(out.txns[7]).toMatchObject({ txn: 6, ops: 9, first: { segment: '0000000000.seg', offset: 2320 }, last: { segment: '0000000001.seg', offset: 3724 } });
      expect(out.truncated).toBe(false);
      expect(jsonOf<{ txns: { txn: number }[] }>(some).txns.map((t) => t.txn)).toEqual([4, 5]);
      expectOneLineError(bad, { exitCode: 2, at: "unknown status 'bogus'" });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'text: a table, then a summary line; --limit shows the first N and says how many more',
    async () => {
      const [r, limited, corrupt] = await Promise.all([
        runCli(['wal', 'dump', fixture('wal-tail-incomplete')]),
        runCli(['wal', 'dump', fixture('wal-mixed'), '--limit', '2']),
        runCli(['wal', 'dump', fixture('wal-corrupt')]),
      ]);
      expect(r.code, describeRun(r)).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines.some((l) => /\b3\b.*incomplete.*0000000000\.seg\W+649\W+1053\b/.test(l)), describeRun(r)).toBe(true);
      expect(lines.at(-1)).toBe('4 transactions: 2 committed, 0 aborted, 2 incomplete; 0 orphaned entries');
      expect(limited.stdout).toContain('... 8 more (use --limit N or --json)');
      expect(corrupt.code, describeRun(corrupt)).toBe(1);
      expect(corrupt.stderr).toMatch(/at byte 1533: frame checksum mismatch: listing stopped here/);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('seglog fixture build', () => {
  it(
    'rebuilds wal-mixed byte for byte from its spec (seed, time and segment size as in test/fixtures/README.md)',
    async () => {
      const dir = freshStorePath();
      const r = await runCli([
        'fixture',
        'build',
        dir,
        '--spec',
        fixture('wal-mixed.spec.jsonl'),
        '--seed',
        '3177567421',
        '--time',
        '1700000000000',
        '--segment-max-bytes',
        '4096',
        '--json',
      ]);
      expect(r.code, describeRun(r)).toBe(0);
      expect(jsonOf(r)).toMatchObject({ lines: 35, frames: 35, events: 22, markers: 13 });
      const segs = readdirSync(join(FIXTURES_DIR, 'wal-mixed')).filter((n) => n.endsWith('.seg'));
      expect(readdirSync(dir).filter((n) => n.endsWith('.seg'))).toEqual(segs);
      for (const s of segs) expect(readFileSync(join(dir, s)).equals(readFileSync(join(FIXTURES_DIR, 'wal-mixed', s))), `${s} differs from the fixture`).toBe(true);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'a bad spec line: exit 2, one line naming the spec file and line, nothing created',
    async () => {
      const spec = join(tempDir(), 'bad.jsonl');
      writeFileSync(spec, '{"type":"begin","txn":1}\n{"type":"put","txn":1,"key":"a"}\n');
      const dir = freshStorePath();
      const r = await runCli(['fixture', 'build', dir, '--spec', spec]);
      expectOneLineError(r, { exitCode: 2, file: spec, at: 'line 2: put: "value" is required' });
      expect(existsSync(dir)).toBe(false);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
