import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CLI_TEST_TIMEOUT_MS, describeRun, expectOneLineError, freshStorePath, jsonOf, removeTempDirs, runCli, tempDir } from './cli-helpers.js';

beforeAll(assertBuilt);
afterAll(removeTempDirs);

/** A spec of `txns` one-put transactions over 50 keys, interleaved in pairs (so some are open at any commit). */
function spec(txns: number, firstTxn = 1): string {
  const lines: string[] = [];
  for (let t = firstTxn; t < firstTxn + txns; t += 2) {
    lines.push(JSON.stringify({ type: 'begin', txn: t }), JSON.stringify({ type: 'begin', txn: t + 1 }));
    lines.push(JSON.stringify({ type: 'put', txn: t, key: `k${t % 50}`, value: { t, pad: 'p'.repeat(60) } }));
    lines.push(JSON.stringify({ type: 'put', txn: t + 1, key: `k${(t + 1) % 50}`, value: { t: t + 1 } }));
    lines.push(JSON.stringify({ type: 'commit', txn: t }));
    lines.push(JSON.stringify({ type: 'delete', txn: t + 1, key: `k${(t + 7) % 50}` }));
    lines.push(JSON.stringify({ type: 'commit', txn: t + 1 }));
  }
  const path = join(tempDir(), 'spec.jsonl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

interface ReplayJson {
  stats: Record<string, number>;
  snapshot: { file: string } | null;
  snapshotWarnings: string[];
  state: string | null;
}

describe('seglog wal snapshot / wal replay through snapshots', () => {
  it(
    'fixture build --snapshot-every writes snapshots; replay from the newest gives the full replay\'s stats and state file',
    async () => {
      const store = freshStorePath();
      const b = await runCli(['fixture', 'build', store, '--spec', spec(200), '--segment-max-bytes', '8192', '--snapshot-every', '50', '--json']);
      expect(b.code, describeRun(b)).toBe(0);
      expect(jsonOf<{ snapshots: number }>(b).snapshots).toBe(4);
      expect(readdirSync(join(store, 'snapshots')).filter((n) => n.endsWith('.snap')).length, 'the 3 newest are kept').toBe(3);
      const dir = tempDir();
      const viaSnap = await runCli(['wal', 'replay', store, '--json', '--state', join(dir, 'a.json')]);
      const full = await runCli(['wal', 'replay', store, '--json', '--no-snapshot', '--state', join(dir, 'b.json')]);
      expect(viaSnap.code, describeRun(viaSnap)).toBe(0);
      const a = jsonOf<ReplayJson>(viaSnap);
      const f = jsonOf<ReplayJson>(full);
      expect(a.snapshot).not.toBeNull();
      expect(f.snapshot).toBeNull();
      expect(a.stats).toEqual(f.stats);
      expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe(readFileSync(join(dir, 'b.json'), 'utf8'));
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'wal snapshot writes one at the commit position; a damaged newest one is warned about (naming it) and the one before is used',
    async () => {
      const store = freshStorePath();
      expect((await runCli(['fixture', 'build', store, '--spec', spec(40)])).code).toBe(0);
      const s1 = await runCli(['wal', 'snapshot', store, '--json']);
      expect(s1.code, describeRun(s1)).toBe(0);
      const first = jsonOf<{ file: string; entries: number; from: string | null }>(s1);
      expect(first.from).toBeNull();
      expect((await runCli(['fixture', 'build', store, '--spec', spec(40, 41)])).code).toBe(0);
      const s2 = await runCli(['wal', 'snapshot', store]);
      expect(s2.code, describeRun(s2)).toBe(0);
      expect(s2.stdout).toContain(`built from       ${first.file}`);
      const files = readdirSync(join(store, 'snapshots')).sort();
      const newest = join(store, 'snapshots', files[files.length - 1]!);
      const bytes = readFileSync(newest);
      bytes[bytes.length - 40] ^= 1;
      writeFileSync(newest, bytes);
      const r = await runCli(['wal', 'replay', store]);
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.stderr).toContain(`seglog: warning: ${newest}: snapshot is damaged`);
      expect(r.stdout).toContain(`started from snapshot ${first.file}`);
      const forced = await runCli(['wal', 'replay', store, '--snapshot', newest]);
      expectOneLineError(forced, { exitCode: 1, file: newest, at: 'BLAKE3' });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'wal snapshot refuses a locked store (exit 2) and a missing one (exit 2)',
    async () => {
      const store = freshStorePath();
      expect((await runCli(['fixture', 'build', store, '--spec', spec(4)])).code).toBe(0);
      writeFileSync(join(store, 'LOCK'), `${JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), sinceMs: 1 })}\n`);
      expectOneLineError(await runCli(['wal', 'snapshot', store]), { exitCode: 2, at: 'locked' });
      expectOneLineError(await runCli(['wal', 'snapshot', join(tempDir(), 'nope')]), { exitCode: 2 });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

interface VerifyJson {
  ok: boolean;
  events: number;
  batches: number;
  entities: number;
  eventFrames: number;
  problems: { code: string; severity: string }[];
}

describe('seglog prune', () => {
  async function prunable(): Promise<string> {
    const store = freshStorePath();
    const b = await runCli(['fixture', 'build', store, '--spec', spec(300), '--segment-max-bytes', '8192']);
    expect(b.code, describeRun(b)).toBe(0);
    return store;
  }

  it(
    'refuses a key/value log without a snapshot (exit 2); --dry-run changes nothing; without a TTY it needs --yes; then prunes and the rest verifies clean with a `pruned` note',
    async () => {
      const store = await prunable();
      const before = jsonOf<VerifyJson>(await runCli(['verify', store, '--json']));
      expect(before.ok).toBe(true);
      expectOneLineError(await runCli(['prune', store, '--before', '200', '--yes']), { exitCode: 2, at: 'wal snapshot' });
      expect((await runCli(['wal', 'snapshot', store])).code).toBe(0);
      const segs = readdirSync(store).filter((n) => n.endsWith('.seg'));
      const dry = await runCli(['prune', store, '--before', '200', '--dry-run', '--json']);
      expect(dry.code, describeRun(dry)).toBe(0);
      const plan = jsonOf<{ done: boolean; segments: { name: string; lastSeq: number }[] }>(dry);
      expect(plan.done).toBe(false);
      expect(plan.segments.length).toBeGreaterThan(2);
      for (const s of plan.segments) expect(s.lastSeq).toBeLessThan(200);
      expect(readdirSync(store).filter((n) => n.endsWith('.seg')), 'a dry run changes nothing').toEqual(segs);
      expectOneLineError(await runCli(['prune', store, '--before', '200']), { exitCode: 2, at: '--yes' });
      const done = await runCli(['prune', store, '--before', '200', '--yes']);
      expect(done.code, describeRun(done)).toBe(0);
      expect(done.stdout).toMatch(/^pruned: /m);
      expect(readdirSync(store).filter((n) => n.endsWith('.seg')).length).toBe(segs.length - plan.segments.length);
      const after = jsonOf<VerifyJson>(await runCli(['verify', store, '--json']));
      expect(after.ok).toBe(true);
      expect({ events: after.events, batches: after.batches, entities: after.entities }).toEqual({ events: before.events, batches: before.batches, entities: before.entities });
      expect(after.problems.map((p) => `${p.code} ${p.severity}`)).toEqual(['pruned info']);
      const r = await runCli(['verify', store]);
      expect(r.stdout).toMatch(/no problems found \(1 note\)/);
      const replay = await runCli(['wal', 'replay', store, '--json']);
      expect(jsonOf<ReplayJson>(replay).snapshot).not.toBeNull();
      const append = await runCli(['append', store, '--entity', 'e:1', '--scope', 's', '--payload', '{"a":1}']);
      expect(append.code, describeRun(append)).toBe(0);
      expect(jsonOf<VerifyJson>(await runCli(['verify', store, '--json'])).ok).toBe(true);
    },
    CLI_TEST_TIMEOUT_MS * 2,
  );

  it(
    '--archive: verify --archive gives the result of before the prune; dump --archive prints every event; a tampered archive file is an error naming it',
    async () => {
      const store = await prunable();
      expect((await runCli(['wal', 'snapshot', store])).code).toBe(0);
      const before = jsonOf<VerifyJson>(await runCli(['verify', store, '--json']));
      const dumpBefore = await runCli(['dump', store, '--format', 'jsonl', '--system']);
      const archive = join(tempDir(), 'arch');
      const p = await runCli(['prune', store, '--before', '250', '--yes', '--archive', archive, '--json']);
      expect(p.code, describeRun(p)).toBe(0);
      const manifest = JSON.parse(readFileSync(join(archive, 'manifest.json'), 'utf8')) as { segments: { segment: string; blake3: string; sizeBytes: number }[] };
      expect(manifest.segments.length).toBeGreaterThan(2);
      const both = jsonOf<VerifyJson>(await runCli(['verify', store, '--archive', archive, '--json']));
      expect(both).toEqual(before);
      const dumpBoth = await runCli(['dump', store, '--archive', archive, '--format', 'jsonl', '--system']);
      expect(dumpBoth.stdout).toBe(dumpBefore.stdout);
      const victim = join(archive, manifest.segments[1]!.segment);
      const bytes = readFileSync(victim);
      bytes[bytes.length - 100] ^= 1;
      writeFileSync(victim, bytes);
      expectOneLineError(await runCli(['verify', store, '--archive', archive]), { exitCode: 1, file: victim, at: 'BLAKE3' });
      expectOneLineError(await runCli(['dump', store, '--archive', archive]), { exitCode: 1, file: victim });
    },
    CLI_TEST_TIMEOUT_MS * 2,
  );
});

/**
 * Issue 16 item 5 ("repair and prune are honest about anchors") for prune: the Merkle
 * tree starts at event 0, so `head`, `prove` and `verify --anchor` on a pruned store
 * either read the archive with the store as one log (and give exactly the heads and
 * proofs of before the prune) or refuse with exit 2 naming --archive; never a tree over
 * the remaining events that looks like the log's. If this fails, read src/ui/whole-log.ts
 * and where head.ts, prove.ts and ui/job/verify-job.ts call it.
 */
describe('anchors on a pruned store: head, prove and verify --anchor', () => {
  interface HeadJson {
    size: number;
    root: string;
  }

  it(
    'without --archive they refuse (exit 2, naming --archive); with it they give the head and proofs of before the prune, and verify --anchor holds',
    async () => {
      const store = freshStorePath();
      expect((await runCli(['fixture', 'build', store, '--spec', spec(300), '--segment-max-bytes', '8192'])).code).toBe(0);
      expect((await runCli(['wal', 'snapshot', store])).code).toBe(0);
      const dir = tempDir();
      const headFile = join(dir, 'head.txt');
      const h = await runCli(['head', store, '--json']);
      expect(h.code, describeRun(h)).toBe(0);
      const before = jsonOf<HeadJson & { note: string }>(h);
      writeFileSync(headFile, before.note);
      const proofBefore = await runCli(['prove', store, '--seq', '40', '--head', headFile, '--json']);
      expect(proofBefore.code, describeRun(proofBefore)).toBe(0);
      const archive = join(dir, 'arch');
      expect((await runCli(['prune', store, '--before', '250', '--yes', '--archive', archive])).code).toBe(0);

      expectOneLineError(await runCli(['head', store]), { exitCode: 2, at: '--archive' });
      expectOneLineError(await runCli(['head', store, '--json']), { exitCode: 2, at: '--archive' });
      expectOneLineError(await runCli(['prove', store, '--seq', '280']), { exitCode: 2, at: '--archive' });
      expectOneLineError(await runCli(['prove', store, '--from', headFile]), { exitCode: 2, at: '--archive' });
      expectOneLineError(await runCli(['verify', store, '--anchor', headFile]), { exitCode: 2, at: '--archive' });

      const after = jsonOf<HeadJson>(await runCli(['head', store, '--archive', archive, '--json']));
      expect({ size: after.size, root: after.root }, 'head --archive is the head of before the prune').toEqual({ size: before.size, root: before.root });
      const proofAfter = await runCli(['prove', store, '--seq', '40', '--head', headFile, '--archive', archive, '--json']);
      expect(proofAfter.code, describeRun(proofAfter)).toBe(0);
      expect(proofAfter.stdout, 'an inclusion proof of a pruned event, through the archive: the proof of before').toBe(proofBefore.stdout);
      const v = await runCli(['verify', store, '--anchor', headFile, '--archive', archive, '--json']);
      expect(v.code, describeRun(v)).toBe(0);
      expect(jsonOf<{ anchors: { ok: boolean }[] }>(v).anchors.map((a) => a.ok)).toEqual([true]);
      // the log goes on: a consistency proof from the old head to the new tree, through the archive
      expect((await runCli(['append', store, '--entity', 'e:1', '--scope', 's', '--payload', '{"a":1}'])).code).toBe(0);
      const c = await runCli(['prove', store, '--from', headFile, '--archive', archive, '--json']);
      expect(c.code, describeRun(c)).toBe(0);
      const proofFile = join(dir, 'c.json');
      writeFileSync(proofFile, c.stdout);
      const newHead = join(dir, 'head2.txt');
      writeFileSync(newHead, jsonOf<{ note: string }>(await runCli(['head', store, '--archive', archive, '--json'])).note);
      const check = await runCli(['check-proof', proofFile, '--head', headFile, '--head', newHead]);
      expect(check.code, describeRun(check)).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS * 3,
  );

  it(
    'an archive that starts after an earlier prune without --archive cannot give the tree: exit 2 saying so',
    async () => {
      const store = freshStorePath();
      expect((await runCli(['fixture', 'build', store, '--spec', spec(300), '--segment-max-bytes', '8192'])).code).toBe(0);
      expect((await runCli(['wal', 'snapshot', store])).code).toBe(0);
      expect((await runCli(['prune', store, '--before', '100', '--yes'])).code).toBe(0);
      const archive = join(tempDir(), 'arch');
      expect((await runCli(['prune', store, '--before', '250', '--yes', '--archive', archive])).code).toBe(0);
      expectOneLineError(await runCli(['head', store, '--archive', archive]), { exitCode: 2, at: 'pruned without --archive' });
      expectOneLineError(await runCli(['prove', store, '--seq', '280', '--archive', archive]), { exitCode: 2, at: 'pruned without --archive' });
      // plain verify --archive still checks what is left (from the archive's base)
      expect((await runCli(['verify', store, '--archive', archive])).code).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS * 2,
  );
});
