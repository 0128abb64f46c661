/**
 * `prune` (src/engine/prune.ts) on the simulated disk: after any prune the remaining
 * store verifies from its base exactly as the whole store did, replay through the
 * snapshot equals the independent model of the whole log, a read-write open continues
 * it, and with an archive the archive and the store verify as the log before the prune.
 * Then crash safety: a power cut after every mutating operation of a prune (in every
 * crash mode), and a failure of each operation, leave a store that is either the old one
 * or the pruned one, never less; running prune again finishes the job.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { archiveView, logView } from '../../src/tools/archive.js';
import { Cursor } from '../../src/engine/log/cursor.js';
import { SeglogError } from '../../src/engine/io/errors.js';
import { type FixtureOp, FixtureWriter } from '../../src/tools/fixture-build.js';
import { CRASH_MODES, SimFs } from '../../src/sim/sim-fs.js';
import type { FileSystem } from '../../src/engine/io/fs-types.js';
import { isFsError } from '../../src/engine/io/fs-types.js';
import { readWhole, writeFileAtomic } from '../../src/engine/io/fs-util.js';
import { SimMachine } from '../../src/tools/drill/sim-env.js';
import { prune, type PruneCut } from '../../src/tools/prune.js';
import { replayWithSnapshots, snapshotHasher, writeSnapshot } from '../../src/engine/wal/snapshot.js';
import { Store } from '../../src/engine/store/store.js';
import { type VerifyReport, verifySegments } from '../../src/engine/verify/verify.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { hasher, tempDir } from './drill/sim-helpers.js';
import { arm, isCleanFailure, pairsOf, recordOps } from './fault-pairs.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { join } from 'node:path';
import { abort, begin, commit, event, interleave, model, put, type State } from './wal-model.js';

const H = await hasher();
const SH = await snapshotHasher();
const SEGMENT_MAX_BYTES = 4096;
const DIR = '/store';
const ARCHIVE = '/archive';

function machine(seed: number): SimMachine {
  return new SimMachine(seed, 100_000 + seed * 1000);
}

function open(fs: FileSystem, m: SimMachine, readOnly = false): Store {
  return Store.openSync(DIR, { create: !readOnly, readOnly, fs, segmentMaxBytes: SEGMENT_MAX_BYTES, lockEnv: m.newProcess(), clock: m.clock, random: m.random }, H);
}

/** Committed events as readers see them (sequence and hash), in commit order. */
function visible(fs: FileSystem, m: SimMachine): string[] {
  const s = open(fs, m, true);
  try {
    return s.query().map((e) => `${e.seq} ${e.eventHash}`);
  } finally {
    s.close();
  }
}

async function build(ops: FixtureOp[], seed: number): Promise<{ fs: SimFs; m: SimMachine }> {
  const fs = new SimFs(seed);
  const m = machine(seed);
  const s = open(fs, m);
  const w = new FixtureWriter(s);
  for (const op of ops) w.add(op);
  w.flush();
  s.close();
  await writeSnapshot(DIR, { fs, nowMs: () => 1 });
  return { fs, m };
}

async function verifyLog(fs: FileSystem, archive?: string): Promise<VerifyReport> {
  const v = await logView(fs, DIR, archive);
  return verifySegments(fs, v.segments, H, v.base ? { base: v.base } : {});
}

function summary(r: VerifyReport): Record<string, unknown> {
  const count = (code: string): number => r.problems.filter((p) => p.code === code).length;
  return { ok: r.ok, errors: r.errors, events: r.events, batches: r.batches, entities: r.entities, incomplete: count('incomplete_batch') };
}

async function replayState(fs: FileSystem): Promise<{ stats: unknown; state: State }> {
  const r = await replayWithSnapshots(DIR, { fs, keepValues: true });
  expect(r.corruption).toBeNull();
  const state: State = {};
  for (const [k, e] of [...r.state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) state[k] = { value: JSON.parse(e.value!), version: e.version };
  return { stats: r.stats, state };
}

/** Well-formed transactions (commit, abort, never ending) interleaved, standalone events between, a standalone event last. */
const arbStore: fc.Arbitrary<FixtureOp[]> = fc
  .record({
    txns: fc.array(
      fc.record({ keys: fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 5 }), fate: fc.constantFrom('commit', 'commit', 'commit', 'commit', 'commit', 'commit', 'commit', 'abort', 'abort', 'incomplete') }),
      { minLength: 10, maxLength: 30 },
    ),
    schedule: fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
    events: fc.array(fc.nat(), { maxLength: 20 }),
  })
  .map(({ txns, schedule, events }) => {
    let version = 0;
    const steps = txns.map((t, i) => {
      const id = i + 1;
      const seq: FixtureOp[] = [begin(id), ...t.keys.map((k) => put(id, k, { id, pad: 'v'.repeat(300) }, ++version))];
      if (t.fate === 'commit') seq.push(commit(id));
      else if (t.fate === 'abort') seq.push(abort(id));
      return seq;
    });
    const out = interleave(steps, schedule);
    for (const at of events) out.splice(at % (out.length + 1), 0, event());
    out.push(event());
    return out;
  });

describe('prune: what remains is the same log from its base (property)', () => {
  test('verify, replay through the snapshot, a read-write open and an archive all agree with the log before the prune', async () => {
    let run = 0;
    const seen = { pruned: 0, spanning: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(arbStore, fc.nat(), fc.boolean(), async (ops, cutAt, withArchive) => {
        const seed = run++;
        const { fs, m } = await build(ops, seed);
        const before = await verifyLog(fs);
        expect(before.ok, 'the generated store verifies').toBe(true);
        const want = model(ops);
        const seq = cutAt % (before.eventFrames + 1);
        const seenBefore = visible(fs, m);
        let r;
        try {
          r = await prune(DIR, { kind: 'seq', seq }, { fs, lockEnv: m.newProcess(), ...(withArchive ? { archiveDir: ARCHIVE } : {}) });
        } catch (err) {
          // the only refusal here: a transaction left open for ever keeps the snapshot's resume point before the cut
          expect(err instanceof SeglogError && err.code === 'usage' && /no snapshot at or after/.test(err.message), String(err)).toBe(true);
          seen.refused++;
          return;
        }
        if (r.segments.length === 0) return;
        seen.pruned++;
        if (r.base!.openTxns.length > 0) seen.spanning++;
        for (const s of r.segments) expect(s.lastSeq < seq, `${s.name} holds events at or after the cut`).toBe(true);
        const after = await verifyLog(fs);
        expect(summary(after), 'the pruned store verifies as the whole did').toEqual(summary(before));
        expect(after.problems.filter((p) => p.code === 'pruned').length).toBe(1);
        const kept = r.base!.nextSeq;
        expect(visible(fs, m), 'readers see every committed event of the segments kept, in the same order').toEqual(seenBefore.filter((e) => Number(e.split(' ')[0]) >= kept));
        expect(await replayState(fs), 'replay through the snapshot equals the model of the whole log').toEqual({ stats: want.stats, state: want.state });
        if (withArchive) {
          const both = await verifyLog(fs, ARCHIVE);
          expect(summary(both), 'archive + store verify as the log before the prune').toEqual(summary(before));
          expect(both.eventFrames).toBe(before.eventFrames);
        }
        const s = open(fs, m);
        const next = s.append({ entity: 'order:1', scope: 's' }, '{"after":true}');
        expect(next.seq, 'the open continues the sequence').toBe(before.eventFrames);
        s.close();
        expect((await verifyLog(fs)).ok).toBe(true);
      }),
      { seed: 4242, numRuns: 60 },
    );
    expect(seen.pruned, `runs that pruned something (${JSON.stringify(seen)})`).toBeGreaterThan(12);
    expect(seen.refused, 'runs refused for a transaction open for ever before the cut').toBeGreaterThan(0);
    expect(seen.spanning, 'runs with transactions open across the cut').toBeGreaterThan(5);
  });
});

describe('prune refuses what would lose something', () => {
  const ops: FixtureOp[] = [];
  for (let t = 1; t <= 40; t++) ops.push(begin(t), put(t, `k${t % 5}`, { t, pad: 'x'.repeat(200) }, t), commit(t), event());

  test('a key/value log with no snapshot at or after the cut', async () => {
    const { fs, m } = await build(ops, 900);
    for (const n of fs.readdir(`${DIR}/snapshots`)) fs.unlink(`${DIR}/snapshots/${n}`);
    await expect(prune(DIR, { kind: 'seq', seq: 50 }, { fs, lockEnv: m.newProcess() })).rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/wal snapshot/) });
  });

  test('a durable cursor behind the cut, unless force, which names it', async () => {
    const { fs, m } = await build(ops, 901);
    const c = Cursor.open(fs, DIR, 'billing');
    c.commit(c.read(3).next);
    await expect(prune(DIR, { kind: 'seq', seq: 50 }, { fs, lockEnv: m.newProcess() })).rejects.toMatchObject({ code: 'usage', message: expect.stringMatching(/billing/) });
    const r = await prune(DIR, { kind: 'seq', seq: 50 }, { fs, lockEnv: m.newProcess(), force: true });
    expect(r.done).toBe(true);
    expect(r.cursorsBehind).toEqual(['billing']);
  });

  test('an archive whose file does not match the manifest is an error naming the file', async () => {
    const { fs, m } = await build(ops, 902);
    await prune(DIR, { kind: 'seq', seq: 60 }, { fs, lockEnv: m.newProcess(), archiveDir: ARCHIVE });
    const victim = `${ARCHIVE}/0000000001.seg`;
    const b = readWhole(fs, victim);
    b[100] = b[100]! ^ 1;
    writeFileAtomic(fs, victim, b);
    expect(() => archiveView(fs, ARCHIVE, DIR, SH)).toThrow(expect.objectContaining({ code: 'corrupt', file: victim }));
  });

  test('a time cut prunes the segments whose events are all older', async () => {
    const { fs, m } = await build(ops, 903);
    const all = listSegments(fs, DIR);
    const r = await prune(DIR, { kind: 'time', ms: 0 } satisfies PruneCut, { fs, lockEnv: m.newProcess() });
    expect(r.segments, 'nothing is older than the epoch').toEqual([]);
    const r2 = await prune(DIR, { kind: 'time', ms: Number.MAX_SAFE_INTEGER }, { fs, lockEnv: m.newProcess() });
    expect(r2.segments.length, 'everything but the last segment').toBe(all.length - 1);
  });
});

// ------------------------------------------------------------------ crash safety

describe('prune: crash after every mutating operation, failure of each', () => {
  const ops: FixtureOp[] = [];
  for (let t = 1; t <= 30; t++) ops.push(begin(t), put(t, `k${t % 4}`, { t, pad: 'y'.repeat(250) }, t), commit(t), event());

  for (const withArchive of [false, true]) {
    test(`${withArchive ? 'with' : 'without'} an archive: the old store or the pruned one, never less; prune again finishes`, async () => {
      const { fs } = await build(ops, 950);
      const start = fs.snapshot();
      const want = model(ops);
      const before = await verifyLog(fs);
      const cut: PruneCut = { kind: 'seq', seq: 70 };
      const probe = SimFs.fromSnapshot(start, 1);
      const first = probe.mutatingOpCount;
      await prune(DIR, cut, { fs: probe, lockEnv: machine(1).newProcess(), ...(withArchive ? { archiveDir: ARCHIVE } : {}) });
      const total = probe.mutatingOpCount - first;
      expect(total, 'a prune makes mutating operations').toBeGreaterThan(5);
      for (let k = 0; k < total; k++) {
        for (const mode of CRASH_MODES) {
          const fs2 = SimFs.fromSnapshot(start, k + 3);
          fs2.crashAfter(fs2.mutatingOpCount + k);
          const m = machine(10 + k);
          try {
            await prune(DIR, cut, { fs: fs2, lockEnv: m.newProcess(), ...(withArchive ? { archiveDir: ARCHIVE } : {}) });
          } catch (err) {
            if (!(err instanceof SeglogError) && !isFsError(err) && !fs2.isHalted) throw err;
          }
          fs2.crash(mode, k);
          await expectWhole(fs2, m, before, want, `crash after operation ${k} (${mode})`, withArchive);
        }
      }
    });
  }

  test('each failing operation fails the prune cleanly; the store stays whole and prune again finishes', async () => {
    const { fs } = await build(ops, 960);
    const start = fs.snapshot();
    const want = model(ops);
    const before = await verifyLog(fs);
    for (const kind of ['open', 'write', 'fsync', 'rename', 'unlink', 'fsyncDir', 'mkdir'] as const) {
      for (let nth = 0; nth < 6; nth++) {
        const fs2 = SimFs.fromSnapshot(start, 5);
        fs2.failNext(kind, { after: nth });
        const m = machine(200 + nth);
        try {
          await prune(DIR, { kind: 'seq', seq: 70 }, { fs: fs2, lockEnv: m.newProcess(), archiveDir: ARCHIVE });
        } catch (err) {
          if (!(err instanceof SeglogError) && !isFsError(err)) throw err;
        }
        fs2.clearFaults();
        await expectWhole(fs2, m, before, want, `${kind} #${nth} failing`, true);
      }
    }
  });
});

describe('control/fault pairs for prune, generated from a recorded run (fault-pairs.ts): every crash-sensitive operation fails cleanly', () => {
  const ops: FixtureOp[] = [];
  for (let t = 1; t <= 30; t++) ops.push(begin(t), put(t, `k${t % 4}`, { t, pad: 'y'.repeat(250) }, t), commit(t), event());
  const cut: PruneCut = { kind: 'seq', seq: 70 };

  for (const withArchive of [false, true]) {
    const archive = (dir: string): { archiveDir?: string } => (withArchive ? { archiveDir: dir } : {});

    test(`${withArchive ? 'with' : 'without'} an archive: the control on the real disk prunes, each recorded operation failing on SimFs leaves the old store or the pruned one, and prune again finishes`, async () => {
      // control: the same store and prune on the real disk
      const root = tempDir('seglog-prune-pairs-');
      const realDir = join(root, 'store');
      const real = new RealFs();
      const rm = machine(970);
      const rs = Store.openSync(realDir, { create: true, fs: real, segmentMaxBytes: SEGMENT_MAX_BYTES, lockEnv: rm.newProcess(), clock: rm.clock, random: rm.random }, H);
      const rw = new FixtureWriter(rs);
      for (const op of ops) rw.add(op);
      rw.flush();
      rs.close();
      await writeSnapshot(realDir, { fs: real, nowMs: () => 1 });
      const control = await prune(realDir, cut, { fs: real, lockEnv: rm.newProcess(), ...archive(join(root, 'archive')) });
      expect(control.done && control.segments.length > 1, 'control: the prune removes several segments on the real disk').toBe(true);
      expect(real.readdir(realDir).filter((n) => n.endsWith('.tmp') || n === 'LOCK'), 'control: temp files or the lock left behind').toEqual([]);

      const { fs } = await build(ops, 971);
      const start = fs.snapshot();
      const want = model(ops);
      const before = await verifyLog(fs);
      const probe = SimFs.fromSnapshot(start, 1);
      const recorded = await recordOps(probe, () => prune(DIR, cut, { fs: probe, lockEnv: machine(972).newProcess(), ...archive(ARCHIVE) }));
      const pairs = pairsOf(recorded);
      expect(pairs.length, 'classes of operation (lock, checkpoint removal, base, unlinks, archive copies and manifest)').toBeGreaterThan(withArchive ? 14 : 8);
      const kinds = new Set(recorded.map((o) => o.kind));
      for (const k of ['write', 'fsync', 'rename', 'unlink', 'fsyncDir'] as const) expect(kinds.has(k), `a prune ${k}s`).toBe(true);
      if (withArchive) expect(recorded.some((o) => o.path.startsWith(ARCHIVE)), 'the archive is written through the FileSystem interface').toBe(true);
      for (const [i, { name, op }] of pairs.entries()) {
        const fs2 = SimFs.fromSnapshot(start, 10 + i);
        arm(fs2, op);
        const m = machine(300 + i);
        let failed: unknown;
        try {
          await prune(DIR, cut, { fs: fs2, lockEnv: m.newProcess(), ...archive(ARCHIVE) });
        } catch (err) {
          failed = err;
        }
        if (failed !== undefined) expect(isCleanFailure(failed), `${name}: a failing operation must give a SeglogError or FsError, got ${String(failed)}`).toBe(true);
        fs2.clearFaults();
        // prune again, on a copy: the segments the control kept, no more, no fewer
        const again = SimFs.fromSnapshot(fs2.snapshot(), 1);
        await prune(DIR, cut, { fs: again, lockEnv: m.newProcess(), ...archive(ARCHIVE) });
        expect(listSegments(again, DIR).map((s) => s.name), `${name}: prune again keeps what the control kept`).toEqual(listSegments(real, realDir).map((s) => s.name));
        await expectWhole(fs2, m, before, want, `${name} failing`, withArchive);
      }
    });
  }
});

/** Verifies, replays to the model, and (archive) nothing is lost; then prune again finishes and the store reopens. */
async function expectWhole(fs: SimFs, m: SimMachine, before: VerifyReport, want: ReturnType<typeof model>, where: string, withArchive: boolean): Promise<void> {
  const now = await verifyLog(fs);
  expect(summary(now), `${where}: the store must verify as before (old or pruned)`).toEqual(summary(before));
  expect(await replayState(fs), `${where}: replay`).toEqual({ stats: want.stats, state: want.state });
  const pruned = listSegments(fs, DIR)[0]!.id > 0 || fs.readdir(DIR).includes('base');
  if (withArchive && pruned) {
    // every pruned segment is in the archive, intact
    expect(summary(await verifyLog(fs, ARCHIVE)), `${where}: archive + store`).toEqual(summary(before));
  }
  const again = await prune(DIR, { kind: 'seq', seq: 70 }, { fs, lockEnv: m.newProcess(), ...(withArchive ? { archiveDir: ARCHIVE } : {}) });
  expect(again.segments.length + again.leftovers.length >= 0).toBe(true);
  expect(summary(await verifyLog(fs)), `${where}: after prune again`).toEqual(summary(before));
  const s = open(fs, m);
  expect(s.append({ entity: 'order:1', scope: 's' }, '{"x":1}').seq, `${where}: the open continues the sequence`).toBe(before.eventFrames);
  s.close();
}
