/**
 * Issue 12's regression: batches that cross a read chunk or a segment boundary are
 * printed from their own bytes, not from a read buffer that was refilled before their
 * COMMIT arrived.
 *
 * The fixture `test/fixtures/chunk-crossing` (scripts/make-fixtures.js) has batches of
 * 1-40 items in 16 KiB segments; read with `SEGLOG_READ_CHUNK_BYTES` of 1 KiB or 4 KiB,
 * nearly every batch crosses a chunk. Before the fix (committed-stream.ts and cursor.ts
 * "copied" items with `Buffer.slice`, a view), `dump` printed garbage with exit 0 here.
 *
 * If this fails: some reader keeps bytes of a frame beyond the walker's callback without
 * copying them (see copyBytes in src/format/bytes.ts and test/format/no-byte-slice.test.ts),
 * or the expected dump is stale (regenerate with `node scripts/make-fixtures.js
 * chunk-crossing chunk-crossing.dump.jsonl` ONLY if the format changed on purpose).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, copyFixture, describeRun, FIXTURES_DIR, jsonOf, removeTempDirs, runCli } from './cli-helpers.js';

const EXPECTED = readFileSync(join(FIXTURES_DIR, 'chunk-crossing.dump.jsonl'), 'utf8');
const EXPECTED_EVENTS = EXPECTED.split('\n').filter((l) => l.length > 0).length;
const STORE = join(FIXTURES_DIR, 'chunk-crossing');

beforeAll(assertBuilt);
afterAll(removeTempDirs);

describe('chunk-crossing fixture: every reader prints the batches as written', () => {
  for (const chunk of ['1024', '4096', '']) {
    for (const workers of ['0', '']) {
      it(`dump --format jsonl equals the expected dump (read chunk ${chunk || 'default'}, dump workers ${workers || 'default'})`, async () => {
        const r = await runCli(['dump', STORE, '--format', 'jsonl'], { env: { SEGLOG_READ_CHUNK_BYTES: chunk, SEGLOG_DUMP_WORKERS: workers } });
        expect(r.code, describeRun(r)).toBe(0);
        expect(r.stdout === EXPECTED, `dump differs from chunk-crossing.dump.jsonl\n${describeRun(r)}`).toBe(true);
      }, CLI_TEST_TIMEOUT_MS);
    }
  }

  it('dump --json is one document with the same events as the jsonl dump (read chunk 1 KiB)', async () => {
    const r = await runCli(['dump', STORE, '--json'], { env: { SEGLOG_READ_CHUNK_BYTES: '1024' } });
    expect(r.code, describeRun(r)).toBe(0);
    const doc = jsonOf<{ events: { seq: number; eventHash: string }[] }>(r);
    const want = EXPECTED.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; eventHash: string });
    expect(doc.events.map((e) => [e.seq, e.eventHash])).toEqual(want.map((e) => [e.seq, e.eventHash]));
  }, CLI_TEST_TIMEOUT_MS);

  it('cursor read --commit in steps of 100 delivers every event exactly once, in order (read chunk 1 KiB)', async () => {
    const dir = copyFixture('chunk-crossing');
    const seen: number[] = [];
    for (let round = 0; round < 50; round++) {
      const r = await runCli(['cursor', 'read', dir, 'c1', '--max', '100', '--commit', '--json'], { env: { SEGLOG_READ_CHUNK_BYTES: '1024' } });
      expect(r.code, describeRun(r)).toBe(0);
      const doc = jsonOf<{ events: { seq: number }[]; more: boolean }>(r);
      seen.push(...doc.events.map((e) => e.seq));
      if (!doc.more) break;
    }
    expect(seen).toEqual(Array.from({ length: EXPECTED_EVENTS }, (_, i) => i));
  }, CLI_TEST_TIMEOUT_MS);

  it('verify says the store is clean with a 1 KiB read chunk', async () => {
    const r = await runCli(['verify', STORE, '--json'], { env: { SEGLOG_READ_CHUNK_BYTES: '1024' } });
    expect(r.code, describeRun(r)).toBe(0);
  }, CLI_TEST_TIMEOUT_MS);

  it('an unusable SEGLOG_READ_CHUNK_BYTES is a usage error (exit 2), not an internal error', async () => {
    const r = await runCli(['dump', STORE], { env: { SEGLOG_READ_CHUNK_BYTES: '12' } });
    expect(r.code, describeRun(r)).toBe(2);
    expect(r.stderr).toContain('SEGLOG_READ_CHUNK_BYTES');
    expect(r.stderr).not.toContain('internal error');
  }, CLI_TEST_TIMEOUT_MS);
});
