import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { type FixtureOp, FixtureWriter } from '../../src/tools/fixture-build.js';
import { SimFs } from '../../src/sim/sim-fs.js';
import { listSnapshots, loadSnapshot, loadSnapshotSync, replayWithSnapshots, snapshotHasher, type SnapshotReplayResult, writeSnapshot, writeSnapshotSync } from '../../src/engine/wal/snapshot.js';
import { Store } from '../../src/engine/store/store.js';
import type { FileSystem } from '../../src/engine/io/fs-types.js';
import { ensureDir, readWhole, writeFileAtomic } from '../../src/engine/io/fs-util.js';
import { replayWal } from '../../src/engine/wal/wal-replay.js';
import { arbChaos, arbLog, begin, commit, model, put, type State } from './wal-model.js';
import { freshStorePath, removeTempDirs, seededRandom, steppingClock } from './test-store.js';
import { arm, isCleanFailure, pairsOf, recordOps } from './fault-pairs.js';
import { RealFs } from '../../src/engine/io/real-fs.js';

afterAll(removeTempDirs);

const SMALL_SEGMENT_BYTES = 4096;
const LOCK_ENV = { pid: 2, host: 'sim', nowMs: () => 0, isAlive: () => false };

function flipByte(fs: FileSystem, path: string, at: number): void {
  const b = readWhole(fs, path);
  b[at] = b[at]! ^ 0x40;
  writeFileAtomic(fs, path, b);
}

function stateOf(r: SnapshotReplayResult): State {
  const out: State = {};
  for (const [k, e] of [...r.state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out[k] = { value: JSON.parse(e.value!), version: e.version };
  return out;
}

/**
 * Writes `ops` into a store on a SimFs, taking a snapshot (through the writer's own
 * view: the store stays open) after each op index in `at`. Returns the fs and dir.
 */
async function buildWithSnapshots(ops: FixtureOp[], at: number[], run: number, small: boolean): Promise<{ fs: SimFs; dir: string }> {
  const fs = new SimFs(run);
  const dir = `/s${run}`;
  const h = await snapshotHasher();
  const store = await Store.open(dir, { create: true, fs, lockEnv: LOCK_ENV, clock: steppingClock(), random: seededRandom(run), ...(small ? { segmentMaxBytes: SMALL_SEGMENT_BYTES } : {}) });
  try {
    const w = new FixtureWriter(store);
    const points = new Set(at.map((i) => i % (ops.length + 1)));
    ops.forEach((op, i) => {
      if (points.has(i)) {
        w.flush();
        writeSnapshotSync(dir, h, { fs, keep: 0, nowMs: () => 7 });
      }
      w.add(op);
    });
    w.flush();
    if (points.has(ops.length)) writeSnapshotSync(dir, h, { fs, keep: 0, nowMs: () => 7 });
  } finally {
    store.close();
  }
  return { fs, dir };
}

/** Runs whose snapshots had a transaction open at their position, and that settled frames before it. */
const seen = { openAcross: 0, withPosition: 0 };

async function checkAll(ops: FixtureOp[], at: number[], run: number, small: boolean): Promise<number> {
  const { fs, dir } = await buildWithSnapshots(ops, at, run, small);
  const want = model(ops);
  const snaps = listSnapshots(fs, dir);
  const runs: { how: string; r: SnapshotReplayResult }[] = [
    { how: 'newest snapshot', r: await replayWithSnapshots(dir, { fs, keepValues: true }) },
    { how: 'no snapshot', r: await replayWithSnapshots(dir, { fs, keepValues: true, noSnapshot: true }) },
    ...(await Promise.all(snaps.map(async (s) => ({ how: s.name, r: await replayWithSnapshots(dir, { fs, keepValues: true, snapshotFile: s.path }) })))),
  ];
  for (const { how, r } of runs) {
    expect(r.corruption, `${how}: corruption`).toBeNull();
    expect(r.snapshotWarnings, `${how}: every snapshot fits the log`).toEqual([]);
    expect(r.stats, `${how}: stats equal the model's`).toEqual(want.stats);
    expect(stateOf(r), `${how}: state equals the model's`).toEqual(want.state);
  }
  if (snaps.length > 0) expect(runs[0]!.r.snapshot?.file, 'the newest snapshot is used').toBe(snaps[0]!.path);
  for (const s of snaps) {
    const h = (await loadSnapshot(fs, s.path, false)).header;
    if (h.resume !== null) seen.openAcross++;
    if (h.lastFrame !== null) seen.withPosition++;
  }
  return snaps.length;
}

describe('replay through snapshots equals a full replay (property, against the independent model)', () => {
  test('random interleavings with snapshots taken anywhere, transactions open across them', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(arbLog, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.boolean(), async (ops, at, small) => {
        await checkAll(ops, at, run++, small);
      }),
      { seed: 17, numRuns: 120 },
    );
    // the generator must put transactions across snapshot positions, or the property proves little
    expect(seen.openAcross, 'snapshots with a transaction open at their position').toBeGreaterThan(40);
    expect(seen.withPosition).toBeGreaterThan(100);
  });

  test('chaos logs (double BEGINs, stray markers, orphans) with snapshots anywhere', async () => {
    let run = 5000;
    await fc.assert(
      fc.asyncProperty(arbChaos, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), async (ops, at) => {
        await checkAll(ops, at, run++, true);
      }),
      { seed: 23, numRuns: 80 },
    );
  });

  test('a transaction begun before the snapshot and committed after it is applied exactly once', async () => {
    const ops = [begin(1), put(1, 'a', 1, 1), begin(2), put(2, 'b', 2, 2), commit(2), put(1, 'c', 3, 3), commit(1)];
    const { fs, dir } = await buildWithSnapshots(ops, [5], 9001, false);
    const r = await replayWithSnapshots(dir, { fs, keepValues: true });
    expect(r.snapshot, 'the snapshot is used').not.toBeNull();
    expect(r.stats).toMatchObject({ txnsApplied: 2, writesApplied: 3, liveKeys: 3 });
    expect(stateOf(r)).toEqual(model(ops).state);
  });
});

describe('snapshots that do not fit are skipped with a warning', () => {
  const ops: FixtureOp[] = [];
  for (let t = 1; t <= 30; t++) ops.push(begin(t), put(t, `k${t % 7}`, { t }, t), commit(t));

  test('a damaged newest snapshot: warning naming it, the one before is used, same result', async () => {
    const { fs, dir } = await buildWithSnapshots(ops, [30, 60], 9100, true);
    const snaps = listSnapshots(fs, dir);
    expect(snaps.length).toBe(2);
    flipByte(fs, snaps[0]!.path, 200);
    const r = await replayWithSnapshots(dir, { fs, keepValues: true });
    expect(r.snapshotWarnings.length).toBe(1);
    expect(r.snapshotWarnings[0]).toContain(snaps[0]!.path);
    expect(r.snapshotWarnings[0]).toMatch(/BLAKE3/);
    expect(r.snapshot?.file).toBe(snaps[1]!.path);
    expect(stateOf(r)).toEqual(model(ops).state);
    expect(r.stats).toEqual(model(ops).stats);
  });

  test('all snapshots unusable: a full replay, one warning each; --snapshot FILE that does not fit is an error naming it', async () => {
    const { fs, dir } = await buildWithSnapshots(ops, [30, 60], 9101, true);
    const snaps = listSnapshots(fs, dir);
    for (const s of snaps) flipByte(fs, s.path, 20);
    const r = await replayWithSnapshots(dir, { fs, keepValues: true });
    expect(r.snapshot).toBeNull();
    expect(r.snapshotWarnings.length).toBe(2);
    expect(r.stats).toEqual(model(ops).stats);
    await expect(replayWithSnapshots(dir, { fs, snapshotFile: snaps[0]!.path })).rejects.toMatchObject({ code: 'corrupt', file: snaps[0]!.path });
  });

  test('a snapshot of another log (its frames are not in this one) is not used', async () => {
    const a = await buildWithSnapshots(ops, [60], 9102, false);
    const other = ops.map((op) => (op.type === 'put' ? { ...op, value: 'other' } : op));
    const b = await buildWithSnapshots(other, [], 9102, false);
    const snap = listSnapshots(a.fs, a.dir)[0]!;
    ensureDir(b.fs, `${b.dir}/snapshots`);
    writeFileAtomic(b.fs, `${b.dir}/snapshots/${snap.name}`, readWhole(a.fs, snap.path));
    const r = await replayWithSnapshots(b.dir, { fs: b.fs, keepValues: true });
    expect(r.snapshot).toBeNull();
    expect(r.snapshotWarnings[0]).toMatch(/no longer holds the frame/);
    expect(stateOf(r)).toEqual(model(other).state);
  });
});

describe('writeSnapshot', () => {
  test('incremental and full snapshots hold the same header and state; old ones beyond `keep` are removed', async () => {
    const ops: FixtureOp[] = [];
    for (let t = 1; t <= 40; t++) ops.push(begin(t), put(t, `key-${t % 11}`, { t, s: 'é' }, t), commit(t));
    const { fs, dir } = await buildWithSnapshots(ops, [30, 60, 90], 9200, true);
    const full = await writeSnapshot(dir, { fs, incremental: false, keep: 0, nowMs: () => 7 });
    const fullLoaded = await loadSnapshot(fs, full.file, true);
    const inc = await writeSnapshot(dir, { fs, keep: 2, nowMs: () => 7 });
    expect(inc.from, 'built from the newest snapshot').not.toBeNull();
    expect(listSnapshots(fs, dir).length).toBe(2);
    const loaded = await loadSnapshot(fs, inc.file, true);
    expect(loaded.header).toEqual(fullLoaded.header);
    expect(loaded.header.entryCount).toBe(11);
    expect(loaded.state.toMap()).toEqual(fullLoaded.state.toMap());
    expect(loaded.state.toMap()).toEqual(replayWal(dir, { fs, keepValues: true }).state.toMap());
  });
});

describe('the snapshot loader streams the file: any window size gives the same state and the same errors', () => {
  test('entries straddling windows, entries longer than the window, a flipped bit, a cut file', async () => {
    // The loader reads LOAD_CHUNK_BYTES (4 MiB) at a time; small windows put every entry
    // boundary, the header end and the trailing hash across window edges here. If this
    // fails, look at SnapshotStream.fill in src/engine/wal/snapshot-load.ts.
    const ops: FixtureOp[] = [];
    for (let t = 1; t <= 60; t++) ops.push(begin(t), put(t, `key-${t % 23}`, { t, pad: 'p'.repeat((t * 37) % 400) }, t), commit(t));
    const { fs, dir } = await buildWithSnapshots(ops, [], 9300, true);
    const snap = await writeSnapshot(dir, { fs, keep: 0, nowMs: () => 7 });
    const h = await snapshotHasher();
    const whole = loadSnapshotSync(fs, snap.file, true, h);
    expect(whole.header.entryCount).toBe(23);
    const windows = [1, 14, 16, 23, 64, 100, 193, 4096];
    for (const w of windows) {
      const got = loadSnapshotSync(fs, snap.file, true, h, false, w);
      expect(got.header, `window ${w}`).toEqual(whole.header);
      expect(got.state.toMap(), `window ${w}`).toEqual(whole.state.toMap());
      expect(loadSnapshotSync(fs, snap.file, false, h, true, w).header, `header only, window ${w}`).toEqual(whole.header);
    }
    const bytes = readWhole(fs, snap.file);
    const message = (path: string, w?: number): string => {
      try {
        loadSnapshotSync(fs, path, true, h, false, w);
        return 'loaded';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const damaged = `${snap.file}.x`;
    for (const [what, change] of [
      ['a flipped bit in an entry', (b: Uint8Array) => b.slice().map((v, i) => (i === 500 ? v ^ 1 : v))],
      ['a cut inside the entries', (b: Uint8Array) => b.slice(0, 700)],
      ['a cut inside the header', (b: Uint8Array) => b.slice(0, 60)],
    ] as const) {
      writeFileAtomic(fs, damaged, change(bytes));
      const expected = message(damaged);
      expect(expected, what).not.toBe('loaded');
      for (const w of windows) expect(message(damaged, w), `${what}, window ${w}`).toBe(expected);
    }
  });
});

describe('control/fault pairs for writeSnapshot, generated from a recorded run (fault-pairs.ts)', () => {
  const ops: FixtureOp[] = [];
  for (let t = 1; t <= 30; t++) ops.push(begin(t), put(t, `key-${t % 9}`, { t, pad: 'z'.repeat(120) }, t), commit(t));
  const snapAt = [30, 60];

  test('the control on the real disk writes a snapshot; each recorded operation failing on SimFs fails cleanly, leaves only whole snapshots that replay to the model, and a retry writes it', async () => {
    const want = model(ops);
    // control: the same log on the real disk
    const realDir = freshStorePath();
    const real = new RealFs();
    const rs = await Store.open(realDir, { create: true, fs: real, lockEnv: LOCK_ENV, clock: steppingClock(), random: seededRandom(1), segmentMaxBytes: SMALL_SEGMENT_BYTES });
    const rw = new FixtureWriter(rs);
    for (const op of ops) rw.add(op);
    rw.flush();
    rs.close();
    const control = await writeSnapshot(realDir, { fs: real, keep: 2, nowMs: () => 7 });
    expect(control.entries, 'control: the snapshot holds every live key').toBe(9);
    expect(real.readdir(`${realDir}/snapshots`).filter((n) => n.endsWith('.tmp')), 'control: no temp file left').toEqual([]);

    // on SimFs: two older snapshots, so the write also removes one beyond keep=2
    const { fs, dir } = await buildWithSnapshots(ops, snapAt, 9300, true);
    const start = fs.snapshot();
    const probe = SimFs.fromSnapshot(start, 1);
    const recorded = await recordOps(probe, () => writeSnapshot(dir, { fs: probe, keep: 2, nowMs: () => 7 }));
    const pairs = pairsOf(recorded);
    for (const k of ['write', 'fsync', 'rename', 'fsyncDir', 'unlink'] as const) expect(recorded.some((o) => o.kind === k), `a snapshot write ${k}s`).toBe(true);
    for (const [i, { name, op }] of pairs.entries()) {
      const fs2 = SimFs.fromSnapshot(start, 20 + i);
      arm(fs2, op);
      let failed: unknown;
      try {
        await writeSnapshot(dir, { fs: fs2, keep: 2, nowMs: () => 7 });
      } catch (err) {
        failed = err;
      }
      if (failed !== undefined) expect(isCleanFailure(failed), `${name}: a failing operation must give a SeglogError or FsError, got ${String(failed)}`).toBe(true);
      fs2.clearFaults();
      for (const s of listSnapshots(fs2, dir)) await expect(loadSnapshot(fs2, s.path, true), `${name}: ${s.name} is listed, so it must be whole`).resolves.toBeDefined();
      const r = await replayWithSnapshots(dir, { fs: fs2, keepValues: true });
      expect(r.snapshotWarnings, `${name}: every snapshot left fits the log`).toEqual([]);
      expect({ stats: r.stats, state: stateOf(r) }, `${name}: replay through what the failure left`).toEqual({ stats: want.stats, state: want.state });
      const retry = await writeSnapshot(dir, { fs: fs2, keep: 2, nowMs: () => 7 });
      expect(retry.entries, `${name}: the retry writes the snapshot`).toBe(control.entries);
      expect(listSnapshots(fs2, dir).length, `${name}: keep=2 holds after the retry`).toBe(2);
    }
  });
});
