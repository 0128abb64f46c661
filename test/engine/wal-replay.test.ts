import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { buildFixtureFromOps, type FixtureOp } from '../../src/tools/fixture-build.js';
import { SimFs } from '../../src/sim/sim-fs.js';
import type { FileSystem } from '../../src/engine/io/fs-types.js';
import { dumpWal, replayWal, type ReplayStats, stateToJson } from '../../src/engine/wal/wal-replay.js';
import { abort, arbChaos, arbLog, begin, commit, del, event, model, put, type State, stats } from './wal-model.js';
import { FIXTURES_DIR, freshStorePath, removeTempDirs, seededRandom, seglogErrorOf, steppingClock, tempDir } from './test-store.js';

afterAll(removeTempDirs);

const SMALL_SEGMENT_BYTES = 4096;

async function build(ops: FixtureOp[], opts: { fs?: FileSystem; dir?: string; segmentMaxBytes?: number } = {}): Promise<string> {
  const dir = opts.dir ?? freshStorePath();
  await buildFixtureFromOps(dir, ops, {
    clock: steppingClock(),
    random: seededRandom(9),
    ...(opts.fs ? { fs: opts.fs, lockEnv: { pid: 2, host: 'sim', nowMs: () => 0, isAlive: () => false } } : {}),
    ...(opts.segmentMaxBytes ? { segmentMaxBytes: opts.segmentMaxBytes } : {}),
  });
  return dir;
}

function replay(dir: string, fs?: FileSystem): { stats: ReplayStats; state: State; codes: string[] } {
  const r = replayWal(dir, { keepValues: true, maxWarnings: 10_000, ...(fs ? { fs } : {}) });
  expect(r.corruption, `replay of ${dir} met corruption`).toBeNull();
  const state: State = {};
  for (const [k, e] of [...r.state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) state[k] = { value: JSON.parse(e.value!), version: e.version };
  return { stats: r.stats, state, codes: r.warnings.map((w) => w.code) };
}

/**
 * The cases the issue lists, each a log (as fixture ops) and exactly what replay must
 * give. A failure names the case; the log is in the table.
 */
const CASES: { name: string; ops: FixtureOp[]; stats: Partial<ReplayStats>; state: State; warnings?: string[] }[] = [
  {
    name: 'single transaction',
    ops: [begin(1), put(1, 'a', 1, 1), commit(1)],
    stats: { txnsApplied: 1, writesApplied: 1, finalVersion: 1, liveKeys: 1 },
    state: { a: { value: 1, version: 1 } },
  },
  {
    name: 'multiple transactions, the later overwriting',
    ops: [begin(1), put(1, 'a', 'x', 1), commit(1), begin(2), put(2, 'b', 'y', 2), put(2, 'a', 'z', 3), commit(2), begin(3), put(3, 'c', [1], 4), commit(3)],
    stats: { txnsApplied: 3, writesApplied: 4, finalVersion: 4, liveKeys: 3 },
    state: { a: { value: 'z', version: 3 }, b: { value: 'y', version: 2 }, c: { value: [1], version: 4 } },
  },
  {
    name: 'versions are preserved exactly, never re-allocated (gaps, large, non-monotonic)',
    ops: [begin(1), put(1, 'a', 1, 1000), put(1, 'b', 2, 7), commit(1), begin(2), put(2, 'c', 3, 2 ** 40), commit(2)],
    stats: { txnsApplied: 1 + 1, writesApplied: 3, finalVersion: 2 ** 40, liveKeys: 3 },
    state: { a: { value: 1, version: 1000 }, b: { value: 2, version: 7 }, c: { value: 3, version: 2 ** 40 } },
  },
  {
    name: 'mixed puts and deletes (deleting a missing key still counts)',
    ops: [begin(1), put(1, 'a', 1, 1), put(1, 'b', 2, 2), commit(1), begin(2), del(2, 'a', 3), del(2, 'zz', 4), put(2, 'c', 3, 5), commit(2)],
    stats: { txnsApplied: 2, writesApplied: 3, deletesApplied: 2, finalVersion: 5, liveKeys: 2 },
    state: { b: { value: 2, version: 2 }, c: { value: 3, version: 5 } },
  },
  {
    name: 'an incomplete transaction is discarded',
    ops: [begin(1), put(1, 'a', 1, 1)],
    stats: { discardedTxns: 1 },
    state: {},
    warnings: ['incomplete_txn'],
  },
  {
    name: 'orphaned items are discarded (no BEGIN, after COMMIT, txn 0)',
    ops: [put(5, 'a', 1, 1), begin(6), put(6, 'b', 2, 2), commit(6), put(6, 'c', 3, 3), put(0, 'd', 4, 4), event(9)],
    stats: { txnsApplied: 1, writesApplied: 1, orphanedEntries: 4, finalVersion: 2, liveKeys: 1 },
    state: { b: { value: 2, version: 2 } },
    warnings: ['orphaned_entry', 'orphaned_entry', 'orphaned_entry', 'orphaned_entry'],
  },
  {
    name: 'committed and incomplete mixed: only the committed applied',
    ops: [begin(1), put(1, 'a', 1, 1), commit(1), begin(2), put(2, 'b', 2, 2), begin(3), put(3, 'c', 3, 3), commit(3)],
    stats: { txnsApplied: 2, writesApplied: 2, discardedTxns: 1, finalVersion: 3, liveKeys: 2 },
    state: { a: { value: 1, version: 1 }, c: { value: 3, version: 3 } },
    warnings: ['incomplete_txn'],
  },
  {
    name: 'an aborted transaction is discarded (counted as discarded and aborted)',
    ops: [begin(1), put(1, 'a', 1, 1), del(1, 'b', 2), abort(1), begin(2), put(2, 'c', 1, 3), commit(2)],
    stats: { txnsApplied: 1, writesApplied: 1, discardedTxns: 1, abortedTxns: 1, finalVersion: 3, liveKeys: 1 },
    state: { c: { value: 1, version: 3 } },
    warnings: ['aborted_txn'],
  },
  {
    name: 'several incomplete transactions are discarded',
    ops: [begin(1), put(1, 'a', 1, 1), begin(2), put(2, 'b', 1, 2), begin(3), begin(4), put(4, 'a', 9, 4), put(1, 'x', 1, 5)],
    stats: { discardedTxns: 4 },
    state: {},
    warnings: ['incomplete_txn', 'incomplete_txn', 'incomplete_txn', 'incomplete_txn'],
  },
  {
    name: 'interleaved transactions replay in commit order, not BEGIN order',
    ops: [begin(1), begin(2), put(1, 'k', 'one', 1), put(2, 'k', 'two', 2), put(2, 'j', 'two', 3), commit(2), put(1, 'j', 'one', 4), commit(1)],
    stats: { txnsApplied: 2, writesApplied: 4, finalVersion: 4, liveKeys: 2 },
    state: { k: { value: 'one', version: 1 }, j: { value: 'one', version: 4 } },
  },
  {
    name: 'a BEGIN of an open id discards the earlier, unfinished one',
    ops: [begin(1), put(1, 'a', 1, 1), begin(1), put(1, 'b', 2, 2), commit(1)],
    stats: { txnsApplied: 1, writesApplied: 1, discardedTxns: 1, finalVersion: 2, liveKeys: 1 },
    state: { b: { value: 2, version: 2 } },
    warnings: ['begin_while_open'],
  },
  {
    name: 'stray markers are ignored with a warning; user events inside a transaction are items, not KV operations',
    ops: [commit(4), abort(5), begin(6), event(6), put(6, 'a', 1, 1), commit(6), event()],
    stats: { txnsApplied: 1, writesApplied: 1, finalVersion: 1, liveKeys: 1 },
    state: { a: { value: 1, version: 1 } },
    warnings: ['marker_without_begin', 'marker_without_begin'],
  },
];

describe('replayWal: the cases of the issue', () => {
  test.each(CASES)('$name', async (c) => {
    const dir = await build(c.ops);
    const got = replay(dir);
    expect(got.stats, `${c.name}: stats`).toEqual(stats(c.stats));
    expect(got.state, `${c.name}: state`).toEqual(c.state);
    expect([...got.codes].sort(), `${c.name}: warnings`).toEqual([...(c.warnings ?? [])].sort());
  });

  test('replaying twice gives the same state and stats (replay writes nothing)', async () => {
    const dir = await build(CASES.flatMap((c, i) => c.ops.map((op) => shiftTxn(op, i * 100))));
    const before = readFileSync(join(dir, '0000000000.seg'));
    const first = replay(dir);
    const second = replay(dir);
    expect(second).toEqual(first);
    expect(readFileSync(join(dir, '0000000000.seg')).equals(before), 'replay must not touch the log').toBe(true);
  });

  test('transactions spanning segments replay like any other', async () => {
    const ops: FixtureOp[] = [begin(1), begin(2)];
    for (let i = 0; i < 60; i++) ops.push(put(1 + (i % 2), `k${i % 7}`, { i, pad: 'p'.repeat(80) }, i + 1));
    ops.push(commit(2), abort(1));
    const dir = await build(ops, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
    const got = replay(dir);
    expect(dumpWal(dir).segments, 'the log spans several segments').toBeGreaterThan(2);
    expect(got.stats).toEqual(stats({ txnsApplied: 1, writesApplied: 30, discardedTxns: 1, abortedTxns: 1, finalVersion: 60, liveKeys: 7 }));
  });
});

function shiftTxn(op: FixtureOp, by: number): FixtureOp {
  if (op.type === 'event') return op.txn ? { ...op, txn: op.txn + by } : op;
  return op.txn === 0 ? op : ({ ...op, txn: op.txn + by } as FixtureOp);
}

describe('replayWal: warnings and locations', () => {
  test('each discarded transaction is warned about with its id, file and the offset dump gives for it', async () => {
    const dir = await build([begin(1), put(1, 'a', 1, 1), abort(1), begin(2), put(2, 'b', 1, 2), put(7, 'c', 1, 3), begin(3), put(3, 'd', 1, 4), commit(3)]);
    const r = replayWal(dir);
    const rows = dumpWal(dir).txns;
    const seg = join(dir, '0000000000.seg');
    const aborted = r.warnings.find((w) => w.code === 'aborted_txn')!;
    expect(aborted).toMatchObject({ txn: 1, file: seg, offset: rows.find((t) => t.txn === 1)!.last.offset });
    const incomplete = r.warnings.find((w) => w.code === 'incomplete_txn')!;
    expect(incomplete, 'an incomplete transaction is located at its BEGIN').toMatchObject({ txn: 2, file: seg, offset: rows.find((t) => t.txn === 2)!.first.offset });
    const orphan = r.warnings.find((w) => w.code === 'orphaned_entry')!;
    expect(orphan).toMatchObject({ txn: 7, file: seg, offset: rows.find((t) => t.status === 'orphaned')!.first.offset });
    for (const w of r.warnings) expect(w.message, 'messages name the transaction').toContain(String(w.txn));
  });

  test('warnings beyond maxWarnings are counted, not kept; the stats still count everything', async () => {
    const ops: FixtureOp[] = [];
    for (let t = 1; t <= 50; t++) ops.push(begin(t), put(t, `k${t}`, t, t));
    const dir = await build(ops);
    const r = replayWal(dir, { maxWarnings: 10 });
    expect(r.warnings.length).toBe(10);
    expect(r.warningsOmitted).toBe(40);
    expect(r.stats.discardedTxns).toBe(50);
  });
});

describe('replayWal: damaged logs', () => {
  test('a torn tail is the end of the log: a warning, not corruption; the transaction it cut is incomplete', async () => {
    const dir = await build([begin(1), put(1, 'a', 1, 1), commit(1), begin(2), put(2, 'b', 'x'.repeat(100), 2), commit(2)]);
    const seg = join(dir, '0000000000.seg');
    const commit2At = dumpWal(dir).txns[1]!.last.offset;
    truncateSync(seg, commit2At + 5);
    const r = replayWal(dir);
    expect(r.corruption).toBeNull();
    expect(r.warnings.map((w) => w.code).sort()).toEqual(['incomplete_txn', 'torn_tail']);
    expect(r.stats).toMatchObject({ txnsApplied: 1, discardedTxns: 1 });
  });

  test('corruption stops replay at the damaged frame: reported with file and offset, stats up to there', async () => {
    const ops: FixtureOp[] = [];
    for (let t = 1; t <= 40; t++) ops.push(begin(t), put(t, `k${t}`, { t, pad: 'q'.repeat(60) }, t), commit(t));
    const dir = await build(ops, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
    const rows = dumpWal(dir).txns;
    const victim = rows.find((t) => t.first.segment === '0000000000.seg' && t.txn > 3)!;
    const seg = join(dir, victim.first.segment);
    const bytes = readFileSync(seg);
    const itemAt = victim.first.offset + 21; // the put right after this BEGIN
    bytes[itemAt + 60] = bytes[itemAt + 60]! ^ 0x01;
    writeFileSync(seg, bytes);
    const r = replayWal(dir);
    expect(r.corruption).toMatchObject({ code: 'corrupt', file: seg, offset: itemAt });
    expect(r.stats.txnsApplied, 'transactions before the damage are applied, none after').toBe(victim.txn - 1);
  });

  test('a KV event that breaks the KV layout (valid CRC) is corruption: bad_kv_event', async () => {
    const dir = await build([
      begin(1),
      { type: 'event', txn: 1, entity: 'not-kv', scope: '', kind: '0:1', payload: 'xxxxxxxxxx' },
      commit(1),
    ]);
    const r = replayWal(dir);
    expect(r.corruption).toMatchObject({ code: 'bad_kv_event', file: join(dir, '0000000000.seg') });
    expect(r.corruption!.message).toMatch(/kv:/);
  });

  test('a committed put whose value is not JSON is corruption when values are kept, and nothing of its transaction applies', async () => {
    const payload = Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{nope', 'utf8')]).toString('latin1');
    const dir = await build([
      begin(1),
      put(1, 'ok', 1, 4),
      { type: 'event', txn: 1, entity: 'kv:bad', scope: '', kind: '0:1', payload },
      commit(1),
    ]);
    const r = replayWal(dir, { keepValues: true });
    expect(r.corruption).toMatchObject({ code: 'bad_kv_event' });
    expect(r.stats.txnsApplied).toBe(0);
    expect(r.state.size).toBe(0);
  });

  test('a missing directory or a directory that is not a store is refused with a stable code', async () => {
    expect((await seglogErrorOf(() => replayWal(join(tempDir(), 'nope')))).code).toBe('not_found');
    expect((await seglogErrorOf(() => replayWal(tempDir()))).code).toBe('not_a_store');
  });
});

describe('stateToJson', () => {
  test('writes {key: {value, version}} with keys sorted, values as recorded', async () => {
    const dir = await build([begin(1), put(1, 'b', { x: [1, 2] }, 3), put(1, 'a', 'é"\n', 9), put(1, 'c', null, 2), commit(1)]);
    const json = stateToJson(replayWal(dir, { keepValues: true }).state);
    expect(json).toBe('{"a":{"value":"é\\"\\n","version":9},"b":{"value":{"x":[1,2]},"version":3},"c":{"value":null,"version":2}}\n');
  });

  test('refuses a state replayed without values', async () => {
    const dir = await build([begin(1), put(1, 'a', 1, 1), commit(1)]);
    expect((await seglogErrorOf(() => stateToJson(replayWal(dir).state))).code).toBe('usage');
  });
});

// ------------------------------------------------------------------ committed fixtures

describe('WAL fixtures: exactly what test/fixtures/README.md says', () => {
  const fixture = (name: string): string => join(FIXTURES_DIR, name);
  const where = (r: ReturnType<typeof replayWal>): string[] => r.warnings.map((w) => `${w.code} ${w.txn} ${basename(w.file)} ${w.offset}`);

  test('wal-mixed: stats, warnings with locations, state', () => {
    const r = replayWal(fixture('wal-mixed'), { keepValues: true });
    expect(r.corruption).toBeNull();
    expect(r.stats).toEqual({ txnsApplied: 5, writesApplied: 13, deletesApplied: 2, discardedTxns: 2, abortedTxns: 1, orphanedEntries: 3, finalVersion: 21, liveKeys: 10 });
    expect(where(r)).toEqual([
      'aborted_txn 4 0000000000.seg 1519',
      'orphaned_entry 9 0000000000.seg 1536',
      'orphaned_entry 0 0000000000.seg 1722',
      'orphaned_entry 6 0000000001.seg 3745',
      'incomplete_txn 5 0000000000.seg 2116',
    ]);
    const state = JSON.parse(stateToJson(r.state)) as State;
    const want: State = { 'user:1': { value: { name: 'ada', admin: true }, version: 4 }, 'user:5': { value: { name: 'eve' }, version: 21 } };
    for (let i = 0; i < 8; i++) want[`counter:${i}`] = { value: { n: i, note: 'x'.repeat(300 + 40 * i) }, version: 11 + i };
    expect(state).toEqual(want);
  });

  test('wal-mixed: the transaction view', () => {
    const rows = dumpWal(fixture('wal-mixed')).txns.map((t) => `${t.txn} ${t.status} ${t.ops} ${t.puts} ${t.deletes} ${t.first.segment}@${t.first.offset} ${t.last.segment}@${t.last.offset}`);
    expect(rows).toEqual([
      '1 committed 2 2 0 0000000000.seg@32 0000000000.seg@445',
      '2 committed 2 1 1 0000000000.seg@466 0000000000.seg@1107',
      '3 committed 1 1 0 0000000000.seg@487 0000000000.seg@1086',
      '4 aborted 2 1 1 0000000000.seg@1128 0000000000.seg@1519',
      '9 orphaned 1 0 0 0000000000.seg@1536 0000000000.seg@1536',
      '0 orphaned 1 0 0 0000000000.seg@1722 0000000000.seg@1722',
      '5 incomplete 1 1 0 0000000000.seg@2116 0000000000.seg@2137',
      '6 committed 9 8 1 0000000000.seg@2320 0000000001.seg@3724',
      '6 orphaned 1 0 0 0000000001.seg@3745 0000000001.seg@3745',
      '7 committed 1 1 0 0000000001.seg@3929 0000000002.seg@228',
    ]);
  });

  test('wal-tail-incomplete: the two transactions the log ends inside are discarded', () => {
    const r = replayWal(fixture('wal-tail-incomplete'), { keepValues: true });
    expect(r.stats).toEqual({ txnsApplied: 2, writesApplied: 2, deletesApplied: 1, discardedTxns: 2, abortedTxns: 0, orphanedEntries: 0, finalVersion: 3, liveKeys: 1 });
    expect(where(r)).toEqual(['incomplete_txn 3 0000000000.seg 649', 'incomplete_txn 4 0000000000.seg 670']);
    expect(stateToJson(r.state)).toBe('{"b":{"value":2,"version":2}}\n');
  });

  test('wal-corrupt: replay stops at the damaged frame with the stats up to there', () => {
    const r = replayWal(fixture('wal-corrupt'), { keepValues: true });
    expect(r.corruption).toEqual({ code: 'corrupt', file: join(fixture('wal-corrupt'), '0000000000.seg'), offset: 1533, message: 'frame checksum mismatch' });
    expect(r.stats).toEqual({ txnsApplied: 5, writesApplied: 5, deletesApplied: 0, discardedTxns: 1, abortedTxns: 0, orphanedEntries: 0, finalVersion: 5, liveKeys: 5 });
    expect(where(r)).toEqual(['incomplete_txn 6 0000000000.seg 1512']);
  });
});

// ------------------------------------------------------------------ property test

async function checkAgainstModel(ops: FixtureOp[], run: number, smallSegments: boolean): Promise<ReplayStats> {
  const fs = new SimFs(run);
  const dir = `/p${run}`;
  await build(ops, { fs, dir, ...(smallSegments ? { segmentMaxBytes: SMALL_SEGMENT_BYTES } : {}) });
  const got = replay(dir, fs);
  const want = model(ops);
  expect(got.stats).toEqual(want.stats);
  expect(got.state).toEqual(want.state);
  return want.stats;
}

describe('replayWal: property', () => {
  test('random interleavings of committed, aborted and incomplete transactions plus orphans replay to the model (state and stats)', async () => {
    let run = 0;
    const seen = stats({});
    await fc.assert(
      fc.asyncProperty(arbLog, fc.boolean(), async (ops, smallSegments) => {
        const s = await checkAgainstModel(ops, run++, smallSegments);
        for (const k of Object.keys(seen) as (keyof ReplayStats)[]) seen[k] += s[k] > 0 ? 1 : 0;
      }),
      { seed: 20241123, numRuns: 150 },
    );
    // the generator must actually produce every kind of case, or the property proves little
    for (const k of ['txnsApplied', 'writesApplied', 'deletesApplied', 'discardedTxns', 'abortedTxns', 'orphanedEntries'] as const) {
      expect(seen[k], `runs with ${k} > 0`).toBeGreaterThan(15);
    }
  });

  test('random ops over a few ids (double BEGINs, stray markers) replay to the same model', async () => {
    let run = 1000;
    await fc.assert(
      fc.asyncProperty(arbChaos, async (ops) => {
        await checkAgainstModel(ops, run++, false);
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});
