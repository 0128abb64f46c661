/**
 * Every reader of a pruned store starts at its base (docs/FORMAT.md section 11), not at
 * sequence 0: a transaction open at the cut (its BEGIN pruned, its COMMIT kept) is
 * shown whole by dump, by `dump --since/--last` (the unit walker) and by a cursor; and
 * `repair` plans nothing on a clean pruned store, and on a damaged one plans only what
 * the damage lost. Found when issue 17 was merged onto the issue-13 layout: the unit
 * walker, the live readers and the repair planner still started at sequence 0, so
 * `dump --since` dropped the open transaction's items (exit 0) and `repair --yes` would
 * have written gap records for 1,350 pruned events and aborted a committed transaction.
 * If this fails: look for a reader that lists segments with `listSegments` instead of
 * `liveSegments`, or that does not take the base's open transactions as begun.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, freshStorePath, jsonOf, removeTempDirs, runCli, tempDir } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

const EVENTS = 3000;

/** 3,000 events in batches of 7 over 64 KiB segments, pruned before sequence 1,500 (the cut falls inside a batch). */
async function prunedStore(): Promise<string> {
  const store = freshStorePath();
  const lines: string[] = [];
  for (let i = 0; i < EVENTS; i++) lines.push(JSON.stringify({ entity: `e${i % 7}`, scope: 's', payload: { i, pad: 'x'.repeat(i % 97) } }));
  const file = join(tempDir(), 'events.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  expect((await runCli(['init', store, '--segment-max-bytes', '65536'])).code).toBe(0);
  expect((await runCli(['append', store, '--file', file, '--batch-size', '7'])).code).toBe(0);
  const p = await runCli(['prune', store, '--before', '1500', '--yes', '--json']);
  expect(p.code, describeRun(p)).toBe(0);
  return store;
}

function seqs(jsonl: string): number[] {
  return jsonl
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
}

describe('readers of a pruned store start at its base', () => {
  it(
    'dump, dump --since, dump --last and cursor read give the same events: every one after the cut, the open transaction included',
    async () => {
      const store = await prunedStore();
      const whole = await runCli(['dump', store, '--format', 'jsonl']);
      expect(whole.code, describeRun(whole)).toBe(0);
      const all = seqs(whole.stdout);
      const first = all[0]!;
      expect(first, 'the first event kept is at or before the cut').toBeLessThanOrEqual(1500);
      expect(all, 'dense from the first kept event to the last').toEqual(Array.from({ length: EVENTS - first }, (_, i) => first + i));
      const since = await runCli(['dump', store, '--format', 'jsonl', '--since', '1d']);
      expect(since.code, describeRun(since)).toBe(0);
      expect(seqs(since.stdout), 'dump --since (the unit walker from a located start)').toEqual(all);
      const last = await runCli(['dump', store, '--format', 'jsonl', '--last', String(EVENTS)]);
      expect(seqs(last.stdout), 'dump --last N larger than the store').toEqual(all);
      const cur = await runCli(['cursor', 'read', store, 'c', '--max', '20', '--json']);
      expect(cur.code, describeRun(cur)).toBe(0);
      expect(jsonOf<{ events: { seq: number }[] }>(cur).events.map((e) => e.seq).slice(0, 5)).toEqual(all.slice(0, 5));
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'repair of a clean pruned store plans nothing; of a pruned store with a damaged segment, loses only what the damage took',
    async () => {
      const store = await prunedStore();
      const clean = await runCli(['repair', store, '--dry-run', '--json']);
      expect(clean.code, describeRun(clean)).toBe(0);
      const plan = jsonOf<{ lostEvents: unknown[]; actions?: unknown[] }>(clean);
      expect(plan.lostEvents ?? [], 'nothing pruned counts as lost').toEqual([]);
      // flip one payload byte in the middle of the second kept segment
      const segs = readdirSync(store).filter((n) => n.endsWith('.seg')).sort();
      const victim = join(store, segs[1]!);
      const bytes = readFileSync(victim);
      bytes[Math.floor(bytes.length / 2)] ^= 0x40;
      writeFileSync(victim, bytes);
      const damaged = await runCli(['repair', store, '--yes', '--no-backup', '--json']);
      expect(damaged.code, 'repaired: the store is clean again').toBe(0);
      const lost = jsonOf<{ lostEvents: { seq: number }[] }>(damaged).lostEvents;
      expect(lost.length, 'one frame (or one batch) lost, not the pruned history').toBeGreaterThan(0);
      expect(lost.length).toBeLessThan(20);
      expect(Math.min(...lost.map((e) => e.seq)), 'no pruned sequence is reported lost').toBeGreaterThanOrEqual(1350);
      const v = await runCli(['verify', store, '--json']);
      expect(v.code, describeRun(v)).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
