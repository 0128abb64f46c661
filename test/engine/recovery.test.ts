/**
 * Batch atomicity and crash recovery, at the writer's named injection points
 * (after BEGIN, after item k, after COMMIT before fsync, before publish), in every
 * crash mode of the simulated disk. The properties follow the atomic-batch suite in
 * /work/shared/seeds/batpak-0.3-atomic-batch-tests.rs.txt; where a test fails, look at
 * Store.writeFrames (src/engine/store/store.ts) and the recovery scan (recovery-scan.ts).
 */
import { describe, expect, it } from 'vitest';
import { CRASH_MODES, SimFs } from '../../src/sim/sim-fs.js';
import { storePaths } from '../../src/engine/io/layout.js';
import type { InjectionHooks, Store } from '../../src/engine/store/store.js';
import { crashedCopy, crashError, DIR, expectVerifies, hasher, payloads, SCOPE, simMachine, TestMachine } from './drill/sim-helpers.js';

const DURABLE_SINGLES = { sync: 'batch', syncEveryNEvents: 1 } as const;

function items(entity: string, n: number, tag: string, padBytes = 0): { entity: string; scope: string; payload: string }[] {
  return Array.from({ length: n }, (_, i) => ({ entity, scope: SCOPE, payload: JSON.stringify({ tag, i, pad: 'p'.repeat(padBytes) }) }));
}

/** Opens a store, appends one durable baseline event, closes cleanly. */
async function storeWithBaseline(options = {}): Promise<TestMachine> {
  const m = await simMachine();
  const s = m.open({ ...DURABLE_SINGLES, ...options });
  s.append({ entity: 'acct:a', scope: SCOPE }, JSON.stringify({ tag: 'baseline' }));
  s.close();
  return m;
}

/** Runs a batch in a store whose hooks crash where `inject` says; the batch must throw. */
function crashingBatch(m: TestMachine, inject: InjectionHooks, batch = items('acct:a', 4, 'batch'), options = {}): void {
  const s = m.open({ ...DURABLE_SINGLES, ...options, inject });
  expect(() => s.appendBatch(batch), 'a crash at an injection point must surface from appendBatch').toThrow(/simulated crash/);
  expect(() => s.append({ entity: 'acct:a', scope: SCOPE }, 'after'), 'a crashed store must refuse writes until reopened').toThrow(/reopen/);
  s.close();
}

const H = await hasher();

/** Opens `fs` as a new process on its own machine (recovery runs). */
function reopen(fs: SimFs, seed = 3): { store: Store } {
  return { store: new TestMachine(fs, H, seed).open() };
}

describe('recovery discards a batch whose COMMIT never reached the disk', () => {
  const cases: { name: string; inject: (fail: () => never) => InjectionHooks }[] = [
    { name: 'crash after BEGIN', inject: (fail) => ({ afterBeginWritten: fail }) },
    ...[0, 1, 2].map((k) => ({ name: `crash after item ${k}`, inject: (fail: () => never) => ({ afterItemWritten: (_t: number, i: number) => (i === k ? fail() : undefined) }) })),
  ];
  for (const c of cases) {
    for (const mode of CRASH_MODES) {
      it(`${c.name}, ${mode}: only the baseline is visible, verify is clean, the next append takes seq 1`, async () => {
        const m = await storeWithBaseline();
        crashingBatch(m, c.inject(() => {
          throw crashError(c.name);
        }));
        const { store } = reopen(crashedCopy(m.fs, mode));
        expect(payloads(store), `${c.name} (${mode}): a batch without COMMIT must be invisible after recovery`).toEqual([JSON.stringify({ tag: 'baseline' })]);
        expectVerifies(store.fileSystem, m.h);
        const r = store.append({ entity: 'acct:a', scope: SCOPE }, 'next');
        expect(r.seq, 'recovery must cut the incomplete batch, so its sequence numbers are reused').toBe(1);
        expect(r.clock).toBe(1);
        store.close();
      });
    }
  }
});

describe('a batch spanning segments, crashed mid-items, is discarded across every segment it touched', () => {
  for (const mode of CRASH_MODES) {
    it(`${mode}: only the baseline is visible and the store goes on`, async () => {
      const small = { segmentMaxBytes: 4096 };
      const m = await storeWithBaseline(small);
      crashingBatch(m, { afterItemWritten: (_t, i) => { if (i === 9) throw crashError('after item 9'); } }, items('acct:a', 12, 'span', 600), small);
      expect(m.fs.readdir(DIR).filter((n) => n.endsWith('.seg')).length, 'the batch must have spanned segments').toBeGreaterThan(2);
      const fs = crashedCopy(m.fs, mode);
      const { store } = reopen(fs);
      expect(payloads(store), `${mode}: nothing of the spanning batch may be visible`).toEqual([JSON.stringify({ tag: 'baseline' })]);
      // items left in sealed segments stay, invisible, keeping their sequences and clocks
      // (dense over frames, docs/DECISIONS.md): appends continue after them
      const state = store.snapshotState();
      const r = store.append({ entity: 'acct:a', scope: SCOPE }, 'next');
      expect([r.seq, r.clock], 'the append continues the recovered sequence and clock').toEqual([state.nextSeq, state.heads.get('acct:a')!.clock + 1]);
      expectVerifies(fs, H);
      store.close();
    });
  }
});

describe('a crash after COMMIT but before fsync leaves the batch whole or gone (DESIGN invariant 2)', () => {
  for (const mode of CRASH_MODES) {
    it(`${mode}: all four items or none, and cut mode (everything written survives) keeps it`, async () => {
      for (let seed = 1; seed <= 12; seed++) {
        const m = await storeWithBaseline();
        crashingBatch(m, { afterCommitWritten: () => { throw crashError('after COMMIT'); } });
        const fs = crashedCopy(m.fs, mode, seed);
        const { store } = reopen(fs);
        const visible = payloads(store).length;
        expect([1, 5], `${mode} seed ${seed}: the batch must be all there or not at all; saw ${visible - 1} of 4 items`).toContain(visible);
        if (mode === 'cut') expect(visible, 'in cut mode the COMMIT reached the disk: the batch survives').toBe(5);
        if (mode === 'lose-unsynced') expect(visible, 'nothing of the batch was fsynced: lose-unsynced drops it').toBe(1);
        expectVerifies(fs, m.h);
        store.close();
      }
    });
  }
});

describe('failures that are not crashes roll the batch back', () => {
  it('a failure before publish leaves no trace: readers and subscribers see nothing, no sequence is burned', async () => {
    const m = await storeWithBaseline();
    const s = m.open({ ...DURABLE_SINGLES, inject: { beforePublish: () => { throw new Error('halt before publish'); } } });
    const seen: number[] = [];
    s.subscribe({}, (e) => seen.push(e.seq));
    expect(() => s.appendBatch(items('acct:a', 10, 'batch'))).toThrow(/halt before publish/);
    expect(s.query().length, 'after a beforePublish failure readers must see only the baseline').toBe(1);
    expect(seen, 'a failed batch must notify no subscriber').toEqual([]);
    const r = s.append({ entity: 'acct:a', scope: SCOPE }, 'next');
    expect(r.seq, 'a failed batch must burn no sequence number').toBe(1);
    s.close();
    const again = m.open();
    expect(payloads(again)).toEqual([JSON.stringify({ tag: 'baseline' }), 'next']);
    expectVerifies(m.fs, m.h);
    again.close();
  });

  it('subscriptions never see part of a batch, whether it fails or crashes mid-items', async () => {
    const m = await storeWithBaseline();
    for (const error of [new Error('fail after item 1'), crashError('after item 1')]) {
      const s = m.open({ ...DURABLE_SINGLES, inject: { afterItemWritten: (_t, i) => { if (i === 1) throw error; } } });
      const seen: number[] = [];
      s.subscribe({}, (e) => seen.push(e.seq));
      expect(() => s.appendBatch(items('acct:a', 3, 'batch'))).toThrow();
      expect(seen, `${error.message}: a faulted batch must produce no notification`).toEqual([]);
      s.close();
    }
    const again = m.open();
    expect(payloads(again), 'after recovery only the baseline is visible').toEqual([JSON.stringify({ tag: 'baseline' })]);
    again.close();
  });
});

describe('the system stays coherent after recovery', () => {
  it('entity a keeps its event, entity b has none; appends and batches continue sequence and clocks', async () => {
    const m = await storeWithBaseline();
    crashingBatch(m, { afterItemWritten: (_t, i) => { if (i === 1) throw crashError('after item 1'); } }, [
      { entity: 'acct:a', scope: SCOPE, payload: '{"seq":2}' },
      { entity: 'acct:b', scope: SCOPE, payload: '{"other":1}' },
    ]);
    const { store } = reopen(crashedCopy(m.fs, 'cut'));
    expect(store.query({ entity: 'acct:a' }).length, 'entity a: only its committed event').toBe(1);
    expect(store.query({ entity: 'acct:b' }), 'entity b: the discarded batch left nothing').toEqual([]);
    const next = store.append({ entity: 'acct:a', scope: SCOPE }, '{"seq":3}');
    expect([next.seq, next.clock], 'the sequence and the clock of a continue').toEqual([1, 1]);
    const batch = store.appendBatch(items('acct:b', 2, 'new'));
    expect(batch.map((r) => [r.seq, r.clock])).toEqual([[2, 0], [3, 1]]);
    const all = store.query();
    expect(all.length).toBe(4);
    for (const entity of ['acct:a', 'acct:b']) {
      expect(store.query({ entity }).map((e) => e.clock), `clocks of ${entity} must be dense from 0`).toEqual([0, 1]);
    }
    expectVerifies(store.fileSystem, m.h);
    store.close();
  });
});

describe('regressions found by seglog drill', () => {
  it('a batch spanning segments, cut by a crash right after a new segment was created, is cut on the first reopen: recovery is idempotent', async () => {
    const m = await simMachine(5);
    const options = { segmentMaxBytes: 4096, ...DURABLE_SINGLES };
    const base = m.open(options);
    base.append({ entity: 'acct:a', scope: SCOPE }, 'baseline');
    base.close();
    // find the mutating operation that creates the second new segment of the batch
    const probe = SimFs.fromSnapshot(m.fs.snapshot());
    const creates: number[] = [];
    // the hook runs after the counters moved: a mutating call is one that moved mutatingOpCount
    let counted = probe.mutatingOpCount;
    probe.onOp = (_i, kind, path) => {
      const now = probe.mutatingOpCount;
      if (now > counted && kind === 'open' && path.endsWith('.seg')) creates.push(now - 1);
      counted = now;
    };
    const p = new TestMachine(probe, m.h, 5).open(options);
    const big = items('acct:a', 14, 'big', 600);
    p.appendBatch(big);
    p.close();
    const createdByBatch = creates;
    expect(createdByBatch.length, 'the batch must span at least three segments for this test').toBeGreaterThanOrEqual(2);
    const fs = SimFs.fromSnapshot(m.fs.snapshot());
    fs.crashAfter(createdByBatch[1]!);
    const s = new TestMachine(fs, m.h, 5).open(options);
    expect(() => s.appendBatch(big)).toThrow();
    s.close();
    fs.crash('cut');
    const first = new TestMachine(fs, m.h, 6).open();
    const state1 = first.snapshotState();
    const events1 = first.query().map((e) => e.eventHash);
    first.close();
    const second = new TestMachine(fs, m.h, 7).open();
    const state2 = second.snapshotState();
    expect(state2.nextSeq, 'a second open must find nothing left to cut (store.ts: cut until no incomplete tail)').toBe(state1.nextSeq);
    expect(state2.nextTxnId).toBe(state1.nextTxnId);
    expect(second.query().map((e) => e.eventHash)).toEqual(events1);
    expect(events1.length, 'only the baseline is visible').toBe(1);
    expectVerifies(fs, m.h);
    second.close();
  });

  it('a segment whose creation failed at its fsync is made durable when a later process adopts it (seed 5279 of the simulation)', async () => {
    for (let seed = 1; seed <= 16; seed++) {
      const m = await simMachine(seed);
      const options = { segmentMaxBytes: 4096, sync: 'none' } as const;
      const s = m.open(options);
      // the rotation's new segment is created and its header written, but the fsync fails
      m.fs.failNext('fsync', { path: /0000000001\.seg$/ });
      expect(() => {
        for (let i = 0; i < 20; i++) s.append({ entity: 'acct:a', scope: SCOPE }, JSON.stringify({ i, pad: 'x'.repeat(300) }));
      }).toThrow();
      s.close();
      // a new process adopts 0000000001.seg as its active segment and appends (unsynced)
      const next = m.open();
      for (let i = 0; i < 5; i++) next.append({ entity: 'acct:b', scope: SCOPE }, JSON.stringify({ i, pad: 'y'.repeat(300) }));
      const fs = crashedCopy(m.fs, 'reorder', seed);
      // whatever survived, a power cut loses only unsynced data: the store must reopen
      const { store } = reopen(fs, 99);
      expectVerifies(fs, H);
      store.close();
    }
  });

  for (const failing of ['/', DIR]) it(`a store whose first open failed at the fsync of ${failing} keeps its durable appends after a power cut (seeds 6306, 9066)`, async () => {
    const m = await simMachine(4);
    m.fs.failNext('fsyncDir', { path: failing });
    expect(() => m.open(DURABLE_SINGLES), 'the directory fsync fails the first open').toThrow(/EIO/);
    const s = m.open(DURABLE_SINGLES);
    const r = s.append({ entity: 'acct:a', scope: SCOPE }, 'durable');
    expect(r.durable).toBe(true);
    const { store } = reopen(crashedCopy(m.fs, 'lose-unsynced'));
    expect(payloads(store), 'a durable append must survive: the store directory name has to be durable too').toEqual(['durable']);
    store.close();
  });

  it('a short write never leaves half a frame under later frames: any subset of unsynced writes reopens (seed 12453)', async () => {
    for (let seed = 1; seed <= 24; seed++) {
      const m = await simMachine(seed);
      const s = m.open({ sync: 'none' });
      s.append({ entity: 'acct:a', scope: SCOPE }, 'first');
      m.fs.failNext('write', { code: 'SHORT', path: /\.seg$/ });
      try {
        s.append({ entity: 'acct:a', scope: SCOPE }, JSON.stringify({ pad: 'h'.repeat(400) }));
      } catch {
        // a short write fails the append (segment-writer.ts); the store rolled it back
      }
      for (let i = 0; i < 4; i++) s.append({ entity: 'acct:b', scope: SCOPE }, JSON.stringify({ i, pad: 'l'.repeat(200) }));
      const fs = crashedCopy(m.fs, 'reorder', seed);
      const { store } = reopen(fs, 99);
      expectVerifies(fs, H);
      store.close();
    }
  });

  it('a damaged last frame whose length is intact is a torn tail (cut), not corruption (needs repair)', async () => {
    const m = await simMachine(9);
    const s = m.open(DURABLE_SINGLES);
    for (let i = 0; i < 3; i++) s.append({ entity: 'acct:a', scope: SCOPE }, JSON.stringify({ i, pad: 'x'.repeat(200) }));
    // no close: a clean close would seal the segment with a SIDX footer after the frames
    const seg = `${DIR}/0000000000.seg`;
    const bytes = m.fs.dumpFile(seg);
    // garbage over the last 40 bytes of the last frame: the length field stays intact,
    // the CRC fails, and the frame still ends exactly at the end of the file (walker.ts)
    const fd = m.fs.open(seg, 'r+');
    m.fs.write(fd, new Uint8Array(40).fill(0xa5), 0, 40, bytes.length - 40);
    m.fs.fsync(fd);
    m.fs.close(fd);
    const again = m.open();
    expect(again.query().length, 'the torn last frame is cut; the two before it stay').toBe(2);
    expect(m.fs.readdir(storePaths(DIR).lostFound).some((n) => n.endsWith('torn-tail')), 'the cut bytes are kept in lost+found/').toBe(true);
    expectVerifies(m.fs, m.h);
    again.close();
  });
});
