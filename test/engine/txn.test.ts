import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createHasher } from '../../src/format/hash/blake3.js';
import { FrameType } from '../../src/format/frame.js';
import { markerCount, markerTxnId } from '../../src/format/marker.js';
import { ev } from '../../src/format/event.js';
import { KvKind } from '../../src/format/kv.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { type CrashMode, CRASH_MODES, SimCrash, SimFs } from '../../src/sim/sim-fs.js';
import type { FileSystem } from '../../src/engine/io/fs-types.js';
import type { SyncMode } from '../../src/engine/io/options.js';
import { Store } from '../../src/engine/store/store.js';
import { verifySegments } from '../../src/engine/verify/verify.js';
import { replayWal } from '../../src/engine/wal/wal-replay.js';
import { listSegments, walkStore } from '../../src/engine/segment/walker.js';
import { freshStorePath, openStore, removeTempDirs, seededRandom, seglogErrorOf, steppingClock } from './test-store.js';

afterAll(removeTempDirs);

const hasher = await createHasher();
const SIM_DIR = '/s';
/** Each simulated open is a new process (the previous one died with its crash): its LOCK is stale. */
let simPid = 1;
const simLockEnv = () => ({ pid: simPid++, host: 'sim', nowMs: () => 0, isAlive: () => false });

interface FrameRow {
  type: 'EVENT' | 'BEGIN' | 'COMMIT' | 'ABORT';
  txn: number;
  count?: number;
  entity?: string;
  kind?: number;
  seq?: number;
}

/** Every frame of the store in file order (a test's view of what was written). */
function frames(dir: string, fs: FileSystem = new RealFs()): FrameRow[] {
  const out: FrameRow[] = [];
  walkStore(fs, listSegments(fs, dir), {
    onFrame(r) {
      const b = r.bodyOff;
      if (r.type === FrameType.EVENT) out.push({ type: 'EVENT', txn: ev.txnId(r.buf, b), entity: ev.entity(r.buf, b), kind: ev.kindType(r.buf, b), seq: ev.seq(r.buf, b) });
      else if (r.type === FrameType.ABORT) out.push({ type: 'ABORT', txn: markerTxnId(r.buf, b) });
      else out.push({ type: r.type === FrameType.BEGIN ? 'BEGIN' : 'COMMIT', txn: markerTxnId(r.buf, b), count: markerCount(r.buf, b) });
    },
  });
  return out;
}

function simStore(fs: SimFs, sync: SyncMode = 'always', segmentMaxBytes?: number): Store {
  return Store.openSync(SIM_DIR, { fs, lockEnv: simLockEnv(), sync, clock: steppingClock(), random: seededRandom(), ...(segmentMaxBytes ? { segmentMaxBytes } : {}) }, hasher);
}

function stateOf(dir: string, fs?: FileSystem): Record<string, { value: unknown; version: number }> {
  const r = replayWal(dir, { keepValues: true, ...(fs ? { fs } : {}) });
  expect(r.corruption, 'replay must not meet corruption').toBeNull();
  const out: Record<string, { value: unknown; version: number }> = {};
  for (const [k, e] of [...r.state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out[k] = { value: JSON.parse(e.value!), version: e.version };
  return out;
}

describe('Txn: what a transaction writes', () => {
  test('put, delete and commit write BEGIN, one EVENT per operation (kinds 0:1/0:2, entity kv:<key>), COMMIT with the count', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const t = store.beginTxn();
    const a = t.put('a', { n: 1 });
    const d = t.delete('b');
    const c = t.commit();
    store.close();
    expect(c).toEqual({ txnId: t.id, puts: 1, deletes: 1, durable: true });
    expect([a.version, d.version], 'versions come from one store-wide counter starting at 1').toEqual([1, 2]);
    expect(frames(dir)).toEqual([
      { type: 'BEGIN', txn: t.id, count: 0 },
      { type: 'EVENT', txn: t.id, entity: 'kv:a', kind: KvKind.PUT, seq: 0 },
      { type: 'EVENT', txn: t.id, entity: 'kv:b', kind: KvKind.DELETE, seq: 1 },
      { type: 'COMMIT', txn: t.id, count: 2 },
    ]);
    expect(t.state).toBe('committed');
  });

  test('a transaction that writes nothing leaves no frame, whether committed or aborted', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    store.beginTxn().commit();
    store.beginTxn().abort();
    store.close();
    expect(frames(dir)).toEqual([]);
  });

  test('interleaved transactions: frames interleave in the file, readers see none of a transaction before its COMMIT', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const seen: string[] = [];
    store.subscribe({ includeSystem: true }, (e) => seen.push(`${e.entity}@${e.txnId}`));
    const t1 = store.beginTxn();
    const t2 = store.beginTxn();
    t1.put('x', 1);
    t2.put('y', 2);
    store.append({ entity: 'plain', scope: 's' }, { between: true });
    t1.put('z', 3);
    expect(store.query({ includeSystem: true }).map((e) => e.entity), 'only the standalone event is visible while both are open').toEqual(['plain']);
    t2.commit();
    expect(store.query({ includeSystem: true }).map((e) => e.entity), 'all of t2 is visible once committed, in commit order').toEqual(['plain', 'kv:y']);
    t1.abort();
    expect(seen, 'subscribers get t2 at its commit, never the aborted t1').toEqual(['plain@0', `kv:y@${t2.id}`]);
    store.close();
    expect(frames(dir).map((f) => `${f.type}:${f.txn}`)).toEqual([
      `BEGIN:${t1.id}`,
      `EVENT:${t1.id}`,
      `BEGIN:${t2.id}`,
      `EVENT:${t2.id}`,
      'EVENT:0',
      `EVENT:${t1.id}`,
      `COMMIT:${t2.id}`,
      `ABORT:${t1.id}`,
    ]);
    expect(stateOf(dir)).toEqual({ y: { value: 2, version: 2 } });
  });

  test('sequences, clocks and chains stay valid: verify finds no error after interleaved, aborted and committed transactions', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir, { segmentMaxBytes: 4096 });
    const open = [store.beginTxn(), store.beginTxn(), store.beginTxn()];
    for (let i = 0; i < 60; i++) {
      const t = open[i % 3]!;
      if (i % 7 === 0) t.delete(`k${i % 5}`);
      else t.put(`k${i % 5}`, { i, pad: 'x'.repeat(40) });
      if (i % 10 === 9) store.append({ entity: `kv:k${i % 5}`, scope: '' }, { user: i });
      if (i % 12 === 11) {
        if (i % 24 === 23) t.abort();
        else t.commit();
        open[i % 3] = store.beginTxn();
      }
    }
    for (const t of open) t.commit();
    store.close();
    const report = verifySegments(new RealFs(), listSegments(new RealFs(), dir), hasher);
    expect(report.problems.filter((p) => p.severity === 'error'), 'writeRaw must keep sequences, clocks and chains valid').toEqual([]);
    expect(listSegments(new RealFs(), dir).length, 'the workload spans several segments').toBeGreaterThan(1);
  });

  test('transaction ids stay unique alongside atomic batches', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const t1 = store.beginTxn();
    store.appendBatch([{ entity: 'e', scope: 's', payload: { n: 1 } }]);
    const t2 = store.beginTxn();
    t1.put('a', 1);
    t2.put('b', 1);
    store.appendBatch([{ entity: 'e', scope: 's', payload: { n: 2 } }]);
    t1.commit();
    t2.commit();
    store.close();
    const begins = frames(dir).filter((f) => f.type === 'BEGIN').map((f) => f.txn);
    expect(new Set(begins).size, `BEGIN ids ${begins.join(',')} must be distinct`).toBe(begins.length);
  });
});

describe('Txn: versions', () => {
  test('the version counter is recovered on open: one above the largest recorded, aborted and incomplete transactions included', async () => {
    const dir = freshStorePath();
    const s1 = (await openStore(dir)).store;
    const t1 = s1.beginTxn();
    t1.put('a', 1);
    t1.commit();
    const t2 = s1.beginTxn();
    t2.put('a', 2);
    t2.put('b', 2);
    t2.abort();
    const t3 = s1.beginTxn();
    t3.put('c', 3); // version 4, never finished
    s1.append({ entity: 'after', scope: '' }, {}); // keeps t3 mid-log (not a cuttable tail)
    s1.close();
    const s2 = (await openStore(dir)).store;
    const t4 = s2.beginTxn();
    expect(t4.put('a', 4).version, 'versions of discarded transactions are never reused').toBe(5);
    expect(t4.id, 'transaction ids continue past every id in the log').toBeGreaterThan(t3.id);
    t4.commit();
    s2.close();
    expect(stateOf(dir)).toEqual({ a: { value: 4, version: 5 } });
  });

  test('two transactions writing one key: the later COMMIT wins, with the version it recorded', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const early = store.beginTxn();
    const late = store.beginTxn();
    const v1 = early.put('k', 'early').version;
    const v2 = late.put('k', 'late').version;
    late.commit();
    early.commit();
    store.close();
    expect(v1).toBeLessThan(v2);
    expect(stateOf(dir), 'commit order, not version order, decides; the version is the recorded one').toEqual({ k: { value: 'early', version: v1 } });
    expect(replayWal(dir).stats.finalVersion, 'finalVersion is the largest version applied').toBe(v2);
  });
});

describe('Txn: failures leave no trace', () => {
  test('a finished transaction refuses further operations', async () => {
    const { store } = await openStore(freshStorePath());
    const t = store.beginTxn();
    t.put('a', 1);
    t.commit();
    for (const op of [() => t.put('b', 1), () => t.delete('a'), () => t.commit(), () => t.abort()]) {
      expect((await seglogErrorOf(op)).message).toMatch(/already committed/);
    }
    store.close();
  });

  test.each([
    ['a key with a lone surrogate', (t: ReturnType<Store['beginTxn']>) => t.put('\ud800', 1)],
    ['a value JSON cannot encode', (t: ReturnType<Store['beginTxn']>) => t.put('k', undefined)],
    ['a key over the entity limit', (t: ReturnType<Store['beginTxn']>) => t.delete('k'.repeat(2000))],
  ])('validation: %s is refused before anything is written, and the transaction stays usable', async (_name, op) => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const t = store.beginTxn();
    t.put('ok', 1);
    const size = statSync(join(dir, '0000000000.seg')).size;
    expect((await seglogErrorOf(() => op(t))).code).toBe('validation');
    expect(statSync(join(dir, '0000000000.seg')).size, 'nothing written by a refused operation').toBe(size);
    expect(t.put('ok2', 2).seq).toBe(1);
    t.commit();
    store.close();
  });

  test('batchMaxSize bounds the operations of one transaction', async () => {
    const { store } = await openStore(freshStorePath(), { batchMaxSize: 3 });
    const t = store.beginTxn();
    for (let i = 0; i < 3; i++) t.put(`k${i}`, i);
    expect((await seglogErrorOf(() => t.put('k3', 3))).message).toMatch(/batchMaxSize/);
    t.commit();
    store.close();
  });

  test('an I/O error on an operation rolls it back: no bytes, no sequence burned, the transaction goes on', () => {
    const fs = new SimFs(3);
    const store = simStore(fs, 'batch');
    const t = store.beginTxn();
    t.put('a', 1);
    fs.failNext('write', { code: 'EIO' });
    expect(() => t.put('b', 2)).toThrow(/EIO/);
    const r = t.put('c', 3);
    expect(r.seq, 'the failed put burned no sequence').toBe(1);
    expect(r.version, 'nor a version').toBe(2);
    t.commit();
    store.close();
    expect(stateOf(SIM_DIR, fs)).toEqual({ a: { value: 1, version: 1 }, c: { value: 3, version: 2 } });
  });

  test('an fsync failure at COMMIT rolls the COMMIT back: the transaction is still open and a retry commits it once', () => {
    const fs = new SimFs(4);
    const store = simStore(fs, 'always');
    const t = store.beginTxn();
    t.put('a', 1);
    fs.failNext('fsync', { code: 'EIO' });
    expect(() => t.commit()).toThrow(/EIO/);
    expect(t.state).toBe('open');
    expect(replayWal(SIM_DIR, { fs }).stats.txnsApplied, 'the rolled-back COMMIT is gone').toBe(0);
    expect(t.commit().durable).toBe(true);
    store.close();
    expect(frames(SIM_DIR, fs).filter((f) => f.type === 'COMMIT').length).toBe(1);
    expect(stateOf(SIM_DIR, fs)).toEqual({ a: { value: 1, version: 1 } });
  });
});

describe('Txn: crashes (SimFs)', () => {
  test.each(CRASH_MODES)('sync always: a crash right after commit() returns keeps the whole transaction (%s)', (mode) => {
    const fs = new SimFs(11);
    const store = simStore(fs, 'always');
    const t = store.beginTxn();
    t.put('a', 1);
    t.put('b', 2);
    t.delete('c');
    expect(t.commit().durable).toBe(true);
    fs.crash(mode);
    expect(stateOf(SIM_DIR, fs), `${mode}: an acknowledged durable COMMIT must survive`).toEqual({ a: { value: 1, version: 1 }, b: { value: 2, version: 2 } });
  });

  test('sync none: lose-unsynced after commit() loses the transaction entirely, never half of it', () => {
    const fs = new SimFs(12);
    const store = simStore(fs, 'none');
    const t = store.beginTxn();
    t.put('a', 1);
    t.put('b', 2);
    expect(t.commit().durable).toBe(false);
    fs.crash('lose-unsynced');
    const r = replayWal(SIM_DIR, { fs });
    expect(r.stats.txnsApplied).toBe(0);
    expect(r.stats.liveKeys).toBe(0);
  });

  /**
   * A workload of interleaved transactions, crashed after every mutating operation in every
   * crash mode: after reopening, the state is the result of the first j commits for some j,
   * never a part of a transaction, and j covers every commit acknowledged as durable.
   */
  const WORKLOAD_COMMITS = 4;
  function workload(store: Store, acked: { durable: number }): void {
    const t1 = store.beginTxn();
    const t2 = store.beginTxn();
    t1.put('a', 1);
    t2.put('b', 1);
    t1.put('c', 1);
    if (t1.commit().durable) acked.durable = 1; // commit 1: a, c
    const t3 = store.beginTxn();
    t3.put('a', 2);
    t2.delete('a');
    t3.put('x', 'junk');
    t3.abort();
    if (t2.commit().durable) acked.durable = 2; // commit 2: b, delete a
    const t4 = store.beginTxn();
    t4.put('d', { big: 'y'.repeat(700) });
    t4.put('b', 2);
    if (t4.commit().durable) acked.durable = 3; // commit 3: d, b=2
    const t5 = store.beginTxn();
    t5.put('e', 5);
    if (t5.commit().durable) acked.durable = 4; // commit 4: e
    const t6 = store.beginTxn();
    t6.put('never', 1); // left open
  }
  /** Expected states after the first j commits (versions as allocated by the workload). */
  const prefixes: Record<string, { value: unknown; version: number }>[] = [
    {},
    { a: { value: 1, version: 1 }, c: { value: 1, version: 3 } },
    { b: { value: 1, version: 2 }, c: { value: 1, version: 3 } },
    { b: { value: 2, version: 8 }, c: { value: 1, version: 3 }, d: { value: { big: 'y'.repeat(700) }, version: 7 } },
    { b: { value: 2, version: 8 }, c: { value: 1, version: 3 }, d: { value: { big: 'y'.repeat(700) }, version: 7 }, e: { value: 5, version: 9 } },
  ];

  test('the workload without a crash gives the last prefix (checks the model the sweep relies on)', () => {
    const fs = new SimFs(1);
    const store = simStore(fs, 'always');
    workload(store, { durable: 0 });
    store.close();
    expect(stateOf(SIM_DIR, fs)).toEqual(prefixes[WORKLOAD_COMMITS]);
  });

  test.each([['always'], ['batch'], ['none']] as [SyncMode][])('sync %s: a crash at any operation in any mode leaves a prefix of the commits, never half a transaction', (sync) => {
    const base = new SimFs(5);
    simStore(base, sync, 4096).close(); // created, empty
    const snap = base.snapshot();
    const probe = SimFs.fromSnapshot(snap);
    const s = simStore(probe, sync, 4096);
    const start = probe.mutatingOpCount;
    workload(s, { durable: 0 });
    const total = probe.mutatingOpCount - start;
    let checked = 0;
    for (const mode of CRASH_MODES as CrashMode[]) {
      for (let k = 0; k < total; k++) {
        const fs = SimFs.fromSnapshot(snap, 1000 + k);
        const store = simStore(fs, sync, 4096);
        fs.crashAfter(fs.mutatingOpCount + k);
        const acked = { durable: 0 };
        try {
          workload(store, acked);
        } catch (err) {
          if (!(err instanceof SimCrash)) throw err;
        }
        fs.crash(mode, 77 + k);
        const where = `sync ${sync}, mode ${mode}, crash after op ${k}`;
        const before = stateOf(SIM_DIR, fs);
        const j = prefixes.findIndex((p) => JSON.stringify(p) === JSON.stringify(before));
        expect(j, `${where}: state ${JSON.stringify(before)} is not a prefix of the commits`).toBeGreaterThanOrEqual(0);
        expect(j, `${where}: ${acked.durable} commits were acknowledged durable`).toBeGreaterThanOrEqual(acked.durable);
        // recovery (read-write open) may cut a tail; the replayed state must not change
        simStore(fs, sync, 4096).close();
        expect(stateOf(SIM_DIR, fs), `${where}: recovery changed the replayed state`).toEqual(before);
        checked++;
      }
    }
    expect(checked).toBe(total * CRASH_MODES.length);
  });
});
