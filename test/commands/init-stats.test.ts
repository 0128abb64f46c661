import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, expectOneLineError, freshStorePath, jsonOf, removeTempDirs, runCli } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

describe('seglog init', () => {
  it(
    'creates a store whose options persist in seglog.json; a second init of the same place exits 2',
    async () => {
      const store = freshStorePath();
      const r = await runCli(['init', store, '--segment-max-bytes', '4096', '--batch-max-size', '50', '--batch-max-bytes', '65536', '--sync', 'none', '--json']);
      expect(r.code, describeRun(r)).toBe(0);
      const options = { segmentMaxBytes: 4096, batchMaxSize: 50, batchMaxBytes: 65536, sync: 'none', syncEveryNEvents: 100 };
      expect(jsonOf(r)).toEqual({ store, created: true, options });
      expect(JSON.parse(readFileSync(join(store, 'seglog.json'), 'utf8'))).toEqual({ format: 'seglog', version: 1, options });
      const again = await runCli(['init', store]);
      expectOneLineError(again, { exitCode: 2, file: store, at: 'a store already exists here' });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('seglog stats', () => {
  it(
    'reports segments and totals of the clean fixture, and a store made by append in a table',
    async () => {
      const store = freshStorePath();
      const input = Array.from({ length: 12 }, (_, i) => JSON.stringify({ entity: `e${i % 3}`, scope: 's', payload: i })).join('\n');
      const [clean, appended] = await Promise.all([
        runCli(['stats', 'test/fixtures/clean', '--json']),
        runCli(['append', store, '--create', '--file', '-', '--batch-size', '4'], { input }),
      ]);
      expect(clean.code, describeRun(clean)).toBe(0);
      const out = jsonOf<{ segments: { file: string; eventFrames: number; firstSeq: number; lastSeq: number; sealed: boolean }[]; totals: Record<string, number> }>(clean);
      expect(out.totals).toMatchObject({ events: 54, entities: 9, batches: 4, segments: 4, nextSeq: 54 });
      expect(out.segments.map((s) => s.file)).toEqual(['0000000000.seg', '0000000001.seg', '0000000002.seg', '0000000003.seg']);
      expect(out.segments.reduce((a, s) => a + s.eventFrames, 0)).toBe(54);
      expect(out.segments[0]).toMatchObject({ firstSeq: 0, sealed: true });
      expect(out.segments[3]).toMatchObject({ lastSeq: 53, sealed: false });
      expect(appended.code, describeRun(appended)).toBe(0);
      const text = await runCli(['stats', store]);
      expect(text.code, describeRun(text)).toBe(0);
      expect(text.stdout).toContain('0000000000.seg');
      expect(text.stdout.trimEnd().split('\n').at(-1)).toMatch(/^12 events, 3 entities, 3 batches, .* in 1 segment$/);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
