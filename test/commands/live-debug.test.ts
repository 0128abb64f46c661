/**
 * The switches the bench's live cases rely on (bench/lib/live.js, cases `since` and
 * `follow-latency`): SEGLOG_DEBUG=1 makes `dump --since` say what its locate read, and
 * SEGLOG_FOLLOW_WATCH=0 makes a follower poll only. If the located line changes, update
 * the `since` case's pattern in bench/lib/cases.js with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ChangeWaiter, followWatchEnabled } from '../../src/engine/log/follow.js';
import { assertBuilt, freshStorePath, removeTempDirs, runCli } from './cli-helpers.js';

beforeAll(() => assertBuilt());
afterAll(() => removeTempDirs());

describe('live-read switches for the bench', () => {
  test('SEGLOG_DEBUG=1 dump --since prints where the start was located and the bytes read, on stderr only', async () => {
    const store = freshStorePath();
    expect((await runCli(['init', store, '--segment-max-bytes', '4096'])).code).toBe(0);
    for (let i = 0; i < 3; i++) expect((await runCli(['append', store, '--entity', `e:${i}`, '--scope', 's', '--payload', `{"pad":"${'x'.repeat(3000)}"}`])).code).toBe(0);
    const r = await runCli(['dump', store, '--since', '1h', '--format', 'jsonl'], { env: { SEGLOG_DEBUG: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr).toMatch(/^seglog: located start in segment 0 of \d+ \(\d+ to read\) after reading \d+ bytes$/m);
    const quiet = await runCli(['dump', store, '--since', '1h', '--format', 'jsonl']);
    expect(quiet.stderr, 'without SEGLOG_DEBUG the locate says nothing').toBe('');
  });

  test('SEGLOG_FOLLOW_WATCH=0 turns notifications off: the waiter polls only', async () => {
    expect(followWatchEnabled({ SEGLOG_FOLLOW_WATCH: '0' })).toBe(false);
    expect(followWatchEnabled({})).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'seglog-watch-'));
    try {
      const polling = new ChangeWaiter(dir, 20, false);
      expect(polling.watching).toBe(false);
      await polling.wait(); // dirty at first
      const t0 = Date.now();
      await polling.wait(); // then the poll
      expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
      polling.close();
      const watching = new ChangeWaiter(dir, 20, true);
      expect(watching.watching).toBe(true);
      watching.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
