/**
 * Cold start and index.ckpt (issue 3): the three ways an open can learn a store's
 * state (checkpoint, SIDX footers, frame scan) give the same state and the same query
 * answers; a damaged or stale checkpoint is detected, ignored with a warning, and
 * never changes an answer.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { decodeCheckpoint } from '../../src/format/checkpoint.js';
import { checkCheckpoint } from '../../src/engine/index/checkpoint.js';
import type { SimFs } from '../../src/sim/sim-fs.js';
import { storePaths } from '../../src/engine/io/layout.js';
import { stripFooters } from '../../src/tools/sidx-maintenance.js';
import { Store } from '../../src/engine/store/store.js';
import { resolveTarget } from '../../src/engine/segment/target.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { buildShape, type Shape, shapeArb, SIM_LOCK_ENV, STORE_DIR } from './store-shapes.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

type Way = 'checkpoint' | 'footers' | 'scan';
const WAYS: Record<Way, { useCheckpoint: boolean; useFooters: boolean }> = {
  checkpoint: { useCheckpoint: true, useFooters: true },
  footers: { useCheckpoint: false, useFooters: true },
  scan: { useCheckpoint: false, useFooters: false },
};

function openRO(fs: SimFs, way: Way): Store {
  return Store.openSync(STORE_DIR, { fs, readOnly: true, coldStart: WAYS[way] }, hasher);
}

/** Everything an open rebuilds, in comparable form (hashes as hex, Maps as sorted arrays). */
function stateOf(s: Store): unknown {
  const r = s.recovery;
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  return {
    heads: [...r.heads].map(([k, h]) => [k, h.clock, h.wallMs, hex(h.hash)]),
    nextSeq: r.nextSeq,
    nextTxnId: r.nextTxnId,
    openTxns: [...r.openTxns.values()].sort((a, b) => a.txnId - b.txnId),
    committedEvents: r.committedEvents,
    committedBatches: r.committedBatches,
    maxKvVersion: r.maxKvVersion,
    tail: r.tail,
    faults: r.faults.length,
    semanticFaults: r.semanticFaults.length,
    segments: r.segments,
    snapshot: [...s.snapshotState().heads].map(([k, h]) => [k, h.clock, hex(h.hash)]),
  };
}

function answersOf(s: Store): unknown {
  return {
    all: s.query().map((e) => [e.seq, e.eventHash]),
    system: s.query({ includeSystem: true }).map((e) => e.seq),
    entity: s.query({ entity: 'order:1' }).map((e) => e.seq),
    prefix: s.query({ entityPrefix: 'kv:', includeSystem: true }).map((e) => e.seq),
  };
}

function readFile(fs: SimFs, path: string): Uint8Array {
  return fs.dumpFile(path);
}

function writeFile(fs: SimFs, path: string, bytes: Uint8Array): void {
  const fd = fs.open(path, 'w');
  fs.write(fd, bytes, 0, bytes.length, 0);
  fs.fsync(fd);
  fs.close(fd);
}

const RUNS = 40;

describe('cold start: checkpoint, footers and scan agree', () => {
  it('on stores of many shapes, the three ways give identical state and query answers', () => {
    fc.assert(
      fc.property(shapeArb, fc.nat(1000), (shape: Shape, seed) => {
        const fs = buildShape(shape, hasher, seed);
        const results = (['checkpoint', 'footers', 'scan'] as Way[]).map((way) => {
          const s = openRO(fs, way);
          const out = { way, state: stateOf(s), answers: answersOf(s), info: s.coldStart };
          s.close();
          return out;
        });
        const [ck, ft, sc] = results;
        expect(ft!.state, 'footer-based cold start differs from the scan (see cold-start.ts applyFooter)').toEqual(sc!.state);
        expect(ck!.state, 'checkpoint-based cold start differs from the scan (see checkpoint.ts CheckpointSession)').toEqual(sc!.state);
        expect(ck!.answers).toEqual(sc!.answers);
        expect(ft!.answers).toEqual(sc!.answers);
        // the fast ways were really taken where they apply
        const scanned = openRO(fs, 'scan');
        const openTxns = scanned.recovery.openTxns.size > 0;
        scanned.close();
        if (shape.end === 'close' && !openTxns) {
          expect(ck!.info.checkpoint, 'a cleanly closed store opens from its checkpoint').toBe('used');
          expect(ft!.info.segments.every((x) => x.source === 'footer'), 'every segment of a cleanly closed store has a usable footer').toBe(true);
        }
        if (shape.end === 'crash') expect(ck!.info.checkpoint, 'a crashed session leaves no checkpoint').toBe('absent');
      }),
      { numRuns: RUNS, seed: 3 },
    );
  });

  it('a read-write open continues from the checkpoint state: appends extend sequences, clocks and chains', () => {
    const fs = buildShape({ segmentMaxBytes: 4096, end: 'close', ops: Array.from({ length: 30 }, (_, i) => ({ t: 'one' as const, e: i % 3, n: 200 })) }, hasher);
    const s = Store.openSync(STORE_DIR, { fs, lockEnv: SIM_LOCK_ENV }, hasher);
    expect(s.coldStart.checkpoint).toBe('used');
    expect(() => fs.stat(storePaths(STORE_DIR).checkpoint), 'a read-write open removes the checkpoint it is about to outdate').toThrow(/ENOENT/);
    const r = s.append({ entity: 'order:1', scope: 't' }, 'more');
    expect(r.seq).toBe(30);
    s.close();
    const v = openRO(fs, 'scan');
    expect(v.recovery.semanticFaults).toEqual([]);
    expect(v.recovery.nextSeq).toBe(31);
    v.close();
    expect(openRO(fs, 'checkpoint').coldStart.checkpoint, 'the clean close wrote a fresh checkpoint').toBe('used');
  });
});

describe('unclean shutdown: no footer, no checkpoint', () => {
  it('a durably committed batch survives: write, close, strip the footer, delete the checkpoint, reopen', () => {
    const fs = buildShape({ segmentMaxBytes: 1024 * 1024, end: 'close', ops: [{ t: 'one', e: 0, n: 10 }] }, hasher);
    let s = Store.openSync(STORE_DIR, { fs, lockEnv: { ...SIM_LOCK_ENV, pid: 2 }, sync: 'batch' }, hasher);
    const rs = s.appendBatch([0, 1, 2].map((i) => ({ entity: 'regress', scope: 'no-sidx', payload: { step: i } })));
    s.close();
    const target = resolveTarget(fs, STORE_DIR);
    const stripped = stripFooters(fs, target, { lockEnv: SIM_LOCK_ENV });
    expect(stripped.segments.map((x) => x.action)).toEqual(['stripped']);
    expect(() => fs.stat(storePaths(STORE_DIR).checkpoint), 'strip removes the checkpoint').toThrow(/ENOENT/);
    s = Store.openSync(STORE_DIR, { fs, lockEnv: { ...SIM_LOCK_ENV, pid: 3 } }, hasher);
    expect(s.coldStart.segments[0]!.source).toBe('scan');
    const got = s.query({ entity: 'regress' });
    expect(got.map((e) => e.eventId), 'the batch must be recovered from its COMMIT marker').toEqual(rs.map((r) => r.eventId));
    expect(s.append({ entity: 'regress', scope: 'no-sidx' }, 'after').clock).toBe(3);
    s.close();
  });
});

describe('a damaged or stale checkpoint is ignored, never followed', () => {
  const shape: Shape = {
    segmentMaxBytes: 4096,
    end: 'close',
    ops: [
      ...Array.from({ length: 20 }, (_, i) => ({ t: 'one' as const, e: i % 4, n: 150 })),
      { t: 'batch', items: [{ e: 1, n: 50 }, { e: 2, n: 60 }] },
      { t: 'txn', keys: [1, 2], end: 'commit' },
    ],
  };

  it('every single-byte change of index.ckpt is detected, warned about, and changes no state or answer', () => {
    const fs = buildShape(shape, hasher);
    const ref = openRO(fs, 'scan');
    const want = { state: stateOf(ref), answers: answersOf(ref) };
    ref.close();
    const path = storePaths(STORE_DIR).checkpoint;
    const good = readFile(fs, path);
    expect(decodeCheckpoint(good).ok).toBe(true);
    for (let i = 0; i < good.length; i++) {
      // one changed byte per position, the changed bit moving along
      for (const flip of [1 << (i % 8)]) {
        const bad = good.slice();
        bad[i]! ^= flip;
        writeFile(fs, path, bad);
        const warnings: string[] = [];
        const s = Store.openSync(STORE_DIR, { fs, readOnly: true, onWarning: (m) => warnings.push(m) }, hasher);
        expect(s.coldStart.checkpoint, `byte ${i} ^ ${flip} of index.ckpt went unnoticed (format/checkpoint.ts)`).toBe('damaged');
        expect(warnings.some((w) => w.includes('index.ckpt') && w.includes('damaged')), `no warning for byte ${i}`).toBe(true);
        expect(stateOf(s), `byte ${i} changed the state`).toEqual(want.state);
        expect(answersOf(s)).toEqual(want.answers);
        s.close();
      }
    }
    writeFile(fs, path, good);
    expect(openRO(fs, 'checkpoint').coldStart.checkpoint).toBe('used');
  });

  it('a checkpoint taken from an older state of the store is detected as stale and ignored', () => {
    const fs = buildShape(shape, hasher);
    const path = storePaths(STORE_DIR).checkpoint;
    const old = readFile(fs, path);
    // more data, another clean close: a newer checkpoint replaces the old one
    const s = Store.openSync(STORE_DIR, { fs, lockEnv: { ...SIM_LOCK_ENV, pid: 9 } }, hasher);
    for (let i = 0; i < 5; i++) s.append({ entity: 'order:9', scope: 't' }, 'x'.repeat(100));
    s.close();
    const ref = openRO(fs, 'scan');
    const want = { state: stateOf(ref), answers: answersOf(ref) };
    ref.close();
    writeFile(fs, path, old);
    const warnings: string[] = [];
    const r = Store.openSync(STORE_DIR, { fs, readOnly: true, onWarning: (m) => warnings.push(m) }, hasher);
    expect(r.coldStart.checkpoint).toBe('stale');
    expect(warnings.join('\n')).toMatch(/index\.ckpt: checkpoint is stale/);
    expect(stateOf(r)).toEqual(want.state);
    expect(answersOf(r)).toEqual(want.answers);
    r.close();
    const problems = checkCheckpoint(fs, STORE_DIR, listSegments(fs, STORE_DIR));
    expect(problems.map((p) => [p.code, p.severity])).toEqual([['checkpoint_stale', 'warning']]);
  });

  it('a checkpoint whose checksums pass but whose state disagrees with the frames is reported by verify', () => {
    const fs = buildShape(shape, hasher);
    const segs = listSegments(fs, STORE_DIR);
    const s = openRO(fs, 'scan');
    const computed = { nextSeq: s.recovery.nextSeq, events: s.recovery.committedEvents, batches: s.recovery.committedBatches, heads: s.recovery.heads };
    expect(checkCheckpoint(fs, STORE_DIR, segs, computed)).toEqual([]);
    expect(checkCheckpoint(fs, STORE_DIR, segs, { ...computed, events: computed.events + 1 })[0]?.code).toBe('checkpoint_stale');
    s.close();
  });
});
