import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { LeafCollector } from '../../src/engine/anchor/leaf-collector.js';
import { loadLogTree } from '../../src/engine/anchor/log-tree.js';
import { streamCommitted } from '../../src/engine/log/committed-stream.js';
import { SimFs } from '../../src/sim/sim-fs.js';
import { Store } from '../../src/engine/store/store.js';
import { listSegments, walkStore } from '../../src/engine/segment/walker.js';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { consistencyPath, inclusionPath } from '../../src/format/merkle.js';
import { refConsistency, refLeafHash, refMth, refPath, refVerifyConsistency, refVerifyInclusion } from '../support/rfc9162-reference.js';
import { buildShape, shapeArb, SIM_LOCK_ENV, STORE_DIR } from './store-shapes.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** What readers see, in the order they see it: the reference for the tree's leaves. */
function committedHashes(fs: SimFs): { seqs: number[]; hashes: Uint8Array[] } {
  const seqs: number[] = [];
  const hashes: Uint8Array[] = [];
  streamCommitted(fs, listSegments(fs, STORE_DIR), (buf, body, bodyBytes) => {
    seqs.push(Number(Buffer.from(buf.subarray(body + 16, body + 24)).readBigUInt64LE()));
    hashes.push(buf.slice(body + bodyBytes - 32, body + bodyBytes)); // own copy
  });
  return { seqs, hashes: hashes.map((h) => new Uint8Array(h)) };
}

describe('the tree over a store (engine/anchor)', () => {
  it('leaves are exactly the committed stream: same events, same order, on stores of many shapes', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 1, max: 1000 }), (shape, seed) => {
        const fs = buildShape(shape, hasher, seed);
        const want = committedHashes(fs);
        const got: string[] = [];
        const gotSeqs: number[] = [];
        const c = new LeafCollector((seq, buf, off) => {
          gotSeqs.push(seq);
          got.push(hex(buf.subarray(off, off + 32)));
        });
        walkStore(fs, listSegments(fs, STORE_DIR), c, { lastIsActive: true });
        expect(got).toEqual(want.hashes.map(hex));
        expect(gotSeqs).toEqual(want.seqs);
      }),
      { seed: 16, numRuns: 40 },
    );
  });

  it('every proof the tree emits checks with the independent RFC reading, with and without merkle.idx', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 1, max: 1000 }), fc.array(fc.nat(), { minLength: 3, maxLength: 3 }), (shape, seed, picks) => {
        const fs = buildShape({ ...shape, end: 'close' }, hasher, seed);
        const segs = listSegments(fs, STORE_DIR);
        const entries = committedHashes(fs).hashes;
        const cold = loadLogTree(fs, STORE_DIR, segs, { ignoreCache: true, writeCache: false });
        const first = loadLogTree(fs, STORE_DIR, segs); // writes merkle.idx when there are sealed segments
        const warm = loadLogTree(fs, STORE_DIR, segs); // reads it
        expect(cold.size).toBe(entries.length);
        for (const t of [first, warm]) {
          expect(t.size).toBe(entries.length);
          expect(hex(t.root())).toBe(hex(cold.root()));
        }
        if (segs.length > 1) expect(warm.source.cache).toBe('used');
        expect(hex(cold.root())).toBe(hex(refMth(entries)));
        const n = entries.length;
        if (n === 0) return;
        const size = 1 + (picks[0]! % n);
        const m = picks[1]! % size;
        const old = picks[2]! % (size + 1);
        const path = inclusionPath(warm, m, size);
        expect(path.map(hex)).toEqual(refPath(m, entries.slice(0, size)).map(hex));
        expect(refVerifyInclusion(refLeafHash(entries[m]!), m, size, path, refMth(entries.slice(0, size)))).toBe(true);
        const cp = consistencyPath(warm, old, size);
        expect(cp.map(hex)).toEqual(refConsistency(old, entries.slice(0, size)).map(hex));
        expect(refVerifyConsistency(old, size, refMth(entries.slice(0, old)), refMth(entries.slice(0, size)), cp)).toBe(true);
      }),
      { seed: 9162, numRuns: 40 },
    );
  });

  it('across many 256-leaf chunks: cached chunk roots, lazily read rows and the tail agree with the reference', () => {
    const fs = new SimFs(7);
    let pid = 10;
    const open = (): Store => Store.openSync(STORE_DIR, { fs, segmentMaxBytes: 8192, sync: 'none', lockEnv: { ...SIM_LOCK_ENV, pid: ++pid } }, hasher);
    let store = open();
    for (let i = 0; i < 1500; i++) {
      if (i % 37 === 0) store.appendBatch([0, 1, 2].map((k) => ({ entity: `e${k}`, scope: 's', payload: { i, k } })));
      else store.append({ entity: `e${i % 5}`, scope: 's' }, { i });
      if (i === 700) {
        store.close();
        store = open();
      }
    }
    const segs = () => listSegments(fs, STORE_DIR);
    loadLogTree(fs, STORE_DIR, segs()); // cache up to the active segment
    for (let i = 0; i < 400; i++) store.append({ entity: 'late', scope: 's' }, { i });
    store.close();
    const entries = committedHashes(fs).hashes;
    const warm = loadLogTree(fs, STORE_DIR, segs(), { writeCache: false });
    expect(warm.source.cache).toBe('used');
    expect(warm.source.cachedLeaves).toBeGreaterThan(1000);
    expect(warm.size).toBe(entries.length);
    for (const size of [1, 255, 256, 257, 1024, 1500, entries.length]) expect(hex(warm.root(size)), `root of ${size}`).toBe(hex(refMth(entries.slice(0, size))));
    for (const [m, size] of [[0, entries.length], [300, 1500], [1299, 1300], [entries.length - 1, entries.length]] as const) {
      const path = inclusionPath(warm, m, size);
      expect(refVerifyInclusion(refLeafHash(entries[m]!), m, size, path, refMth(entries.slice(0, size))), `leaf ${m} of ${size}`).toBe(true);
    }
    expect(warm.leafIndexOfSeq(warm.seqAt(300))).toBe(300);
    expect(warm.leafIndexOfSeq(warm.seqAt(entries.length - 1))).toBe(entries.length - 1);
  });
});
