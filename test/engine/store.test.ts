import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHasher } from '../../src/format/hash/blake3.js';
import { decodeSegmentHeader } from '../../src/format/segment-header.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import type { Receipt } from '../../src/engine/store/store.js';
import { verifySegments } from '../../src/engine/verify/verify.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { frameEndOfFile, freshStorePath, openStore, removeTempDirs, segmentNames, seglogErrorOf, steppingClock } from './test-store.js';

afterAll(removeTempDirs);

const SMALL_SEGMENT_BYTES = 4096;

async function verifyDir(dir: string) {
  return verifySegments(new RealFs(), listSegments(new RealFs(), dir), await createHasher());
}

describe('Store: sequences, clocks, options', () => {
  it('global sequences and entity clocks are dense from 0 over single appends and batches', async () => {
    const { store } = await openStore(freshStorePath());
    const rs: Receipt[] = [];
    rs.push(store.append({ entity: 'a', scope: 's' }, { n: 0 }));
    rs.push(...store.appendBatch([{ entity: 'b', scope: 's', payload: { n: 1 } }, { entity: 'a', scope: 's', payload: { n: 2 } }, { entity: 'a', scope: 's', payload: { n: 3 } }]));
    rs.push(store.append({ entity: 'b', scope: 's' }, 'x'));
    expect(rs.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(rs.map((r) => r.clock)).toEqual([0, 0, 1, 2, 1]);
    expect(new Set(rs.map((r) => r.eventId)).size).toBe(5);
    expect(rs.every((r) => /^[0-9a-f]{64}$/.test(r.eventHash))).toBe(true);
    store.close();
  });

  it('options persist: a reopen with other options keeps the ones stored at creation', async () => {
    const dir = freshStorePath();
    const created = { segmentMaxBytes: SMALL_SEGMENT_BYTES, batchMaxSize: 5, batchMaxBytes: 64 * 1024, sync: 'none' as const, syncEveryNEvents: 7 };
    const first = await openStore(dir, created);
    expect(first.store.options).toEqual(created);
    first.store.close();
    const meta = readFileSync(join(dir, 'seglog.json'), 'utf8');
    const { store } = await openStore(dir, { segmentMaxBytes: 1 << 20, batchMaxSize: 100, batchMaxBytes: 1 << 20, sync: 'always', syncEveryNEvents: 1 });
    expect(store.options, 'seglog.json options must win over open() options').toEqual(created);
    const err = await seglogErrorOf(() => store.appendBatch(Array.from({ length: 6 }, (_, i) => ({ entity: 'e', scope: 's', payload: { i } }))));
    expect(err.code).toBe('validation');
    store.close();
    expect(readFileSync(join(dir, 'seglog.json'), 'utf8')).toBe(meta);
  });

  it('wall time stays monotonic per entity while the injected clock regresses, across a reopen too', async () => {
    const dir = freshStorePath();
    const clock = steppingClock(1_700_000_100_000, -10);
    const { store } = await openStore(dir, { clock });
    const walls = new Map<string, number[]>();
    const note = (entity: string, r: Receipt): void => void walls.set(entity, [...(walls.get(entity) ?? []), r.wallMs]);
    for (let i = 0; i < 20; i++) {
      const entity = ['a', 'b'][i % 2]!;
      note(entity, store.append({ entity, scope: 's' }, { i }));
    }
    const batch = store.appendBatch([{ entity: 'a', scope: 's', payload: { n: 1 } }, { entity: 'b', scope: 's', payload: { n: 2 } }]);
    note('a', batch[0]!);
    note('b', batch[1]!);
    // a new entity is not held back by the others: the clamp is per entity
    const fresh = store.append({ entity: 'c', scope: 's' }, {});
    expect(fresh.wallMs).toBeLessThan(Math.max(...walls.get('a')!));
    store.close();
    const reopened = await openStore(dir, { clock: steppingClock(1_000, -1) });
    note('a', reopened.store.append({ entity: 'a', scope: 's' }, 'after reopen'));
    reopened.store.close();
    for (const [entity, ws] of walls) {
      for (let i = 1; i < ws.length; i++) expect(ws[i], `${entity}: wall time went backwards at its event ${i}: ${ws.join(',')}`).toBeGreaterThanOrEqual(ws[i - 1]!);
    }
    const report = await verifyDir(dir);
    expect(report.problems).toEqual([]);
  });

  it("rotates at segmentMaxBytes: no segment's frames grow past it and each header names its first sequence", async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
    const receipts: Receipt[] = [];
    for (let i = 0; i < 80; i++) receipts.push(store.append({ entity: `e${i % 5}`, scope: 's' }, { i, pad: 'p'.repeat(i % 50) }));
    store.close();
    const names = segmentNames(dir);
    expect(names.length).toBeGreaterThanOrEqual(4);
    const firstSeqs: number[] = [];
    for (const [i, name] of names.entries()) {
      const bytes = readFileSync(join(dir, name));
      // the cap bounds the frames; a sealed segment's SIDX footer comes on top
      expect(frameEndOfFile(join(dir, name)), `${name}: frames run past segmentMaxBytes`).toBeLessThanOrEqual(SMALL_SEGMENT_BYTES);
      const h = decodeSegmentHeader(bytes);
      expect(h.ok && h.header.segmentId).toBe(i);
      if (h.ok) firstSeqs.push(h.header.firstSeq);
    }
    expect(firstSeqs[0]).toBe(0);
    expect(firstSeqs).toEqual([...firstSeqs].sort((a, b) => a - b));
    expect((await verifyDir(dir)).problems).toEqual([]);
  });
});

describe('Store: close({ seal: false }), the close of an interrupted writer (issue 15)', () => {
  it('fsyncs and releases the lock without a footer or checkpoint; the store verifies clean, reopens with every event, and appends continue', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    for (let i = 0; i < 50; i++) store.append({ entity: `e:${i % 3}`, scope: 's' }, { i });
    const size = statSync(join(dir, '0000000000.seg')).size;
    store.close({ seal: false });
    const where = 'an unsealed close (Store.close) must leave what a clean crash leaves, minus the lock';
    expect(existsSync(join(dir, 'LOCK')), `${where}: the lock is released`).toBe(false);
    expect(existsSync(join(dir, 'index.ckpt')), `${where}: no checkpoint is written`).toBe(false);
    expect(statSync(join(dir, '0000000000.seg')).size, `${where}: no footer after the frames`).toBe(size);
    expect(frameEndOfFile(join(dir, '0000000000.seg'))).toBe(size);
    const report = await verifyDir(dir);
    expect({ errors: report.errors, warnings: report.warnings }, `${where}: verify finds nothing`).toEqual({ errors: 0, warnings: 0 });
    const again = await openStore(dir);
    expect(again.store.snapshotState().nextSeq, 'every event is there after the reopen').toBe(50);
    expect(again.store.append({ entity: 'e:0', scope: 's' }, 'next').seq).toBe(50);
    again.store.close();
    expect((await verifyDir(dir)).errors).toBe(0);
  });
});

describe('Store: a batch spanning segments stays atomic', () => {
  const bigItems = (n: number, tag: string) =>
    Array.from({ length: n }, (_, i) => ({ entity: `order:${i % 3}`, scope: 's', payload: { tag, i, pad: 'x'.repeat(300) } }));

  it('a batch larger than a segment is written across segments and read back whole', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir, { segmentMaxBytes: SMALL_SEGMENT_BYTES });
    store.append({ entity: 'first', scope: 's' }, {});
    const rs = store.appendBatch(bigItems(30, 'span'));
    expect(rs.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    store.close();
    expect(segmentNames(dir).length).toBeGreaterThanOrEqual(3);
    const { store: ro } = await openStore(dir, { readOnly: true });
    expect(ro.query().filter((e) => e.txnId !== 0)).toHaveLength(30);
    ro.close();
    const report = await verifyDir(dir);
    expect(report.problems).toEqual([]);
    expect(report.batches).toBe(1);
  });

  it('a write failure mid-batch after a rotation rolls everything back: new segments removed, nothing visible, no sequence burned', async () => {
    const dir = freshStorePath();
    let failAt = -1;
    const { store } = await openStore(dir, {
      segmentMaxBytes: SMALL_SEGMENT_BYTES,
      inject: {
        afterItemWritten: (_txn, index) => {
          if (index === failAt) throw new Error('injected write failure');
        },
      },
    });
    store.append({ entity: 'first', scope: 's' }, {});
    const segsBefore = segmentNames(dir);
    const sizeBefore = statSync(join(dir, segsBefore.at(-1)!)).size;
    failAt = 25;
    expect(() => store.appendBatch(bigItems(30, 'doomed'))).toThrow('injected write failure');
    failAt = -1;
    expect(segmentNames(dir), 'segments created by the failed batch must be removed').toEqual(segsBefore);
    expect(statSync(join(dir, segsBefore.at(-1)!)).size).toBe(sizeBefore);
    expect(store.query()).toHaveLength(1);
    expect(store.append({ entity: 'first', scope: 's' }, {}).seq).toBe(1);
    store.close();
    expect((await verifyDir(dir)).problems).toEqual([]);
  });

  it('a crash mid-batch after a rotation leaves nothing of the batch visible after recovery, and appends continue', async () => {
    const dir = freshStorePath();
    const crash = Object.assign(new Error('simulated crash'), { crash: true });
    let crashAt = -1;
    const { store } = await openStore(dir, {
      segmentMaxBytes: SMALL_SEGMENT_BYTES,
      inject: {
        afterItemWritten: (_txn, index) => {
          if (index === crashAt) throw crash;
        },
      },
    });
    store.appendBatch(bigItems(3, 'committed'));
    crashAt = 20;
    expect(() => store.appendBatch(bigItems(30, 'crashed'))).toThrow('simulated crash');
    store.close(); // a dying process: descriptors go, the LOCK stays
    expect(segmentNames(dir).length).toBeGreaterThanOrEqual(2);
    // the LOCK names this very process; present ourselves as a later process that sees it dead
    const lockEnv = { pid: process.pid + 1, host: hostname(), nowMs: () => 0, isAlive: () => false };
    const { store: again, warnings } = await openStore(dir, { lockEnv, segmentMaxBytes: SMALL_SEGMENT_BYTES });
    expect(warnings.join('\n')).toMatch(/lock left by dead process/);
    const visible = again.query();
    expect(visible.map((e) => (JSON.parse(new TextDecoder().decode(e.payload)) as { tag: string }).tag)).toEqual(['committed', 'committed', 'committed']);
    const r = again.append({ entity: 'order:0', scope: 's' }, { after: 'crash' });
    expect(again.query()).toHaveLength(4);
    again.close();
    const report = await verifyDir(dir);
    expect(report.errors, JSON.stringify(report.problems)).toBe(0);
    expect(report.events).toBe(4);
    expect(r.seq).toBe(report.eventFrames - 1);
  });
});

describe('Store: reads', () => {
  it('query filters by region, get finds by id, subscribers see each committed event once', async () => {
    const { store } = await openStore(freshStorePath());
    const seen: number[] = [];
    const unsubscribe = store.subscribe({ entity: 'order:1' }, (e) => seen.push(e.seq));
    const a = store.append({ entity: 'order:1', scope: 'acme' }, { n: 1 }, { kind: { category: 2, type: 1 } });
    store.append({ entity: 'order:2', scope: 'globex' }, { n: 2 });
    store.appendBatch([{ entity: 'order:1', scope: 'acme', payload: { n: 3 } }, { entity: 'order:3', scope: 'acme', payload: { n: 4 } }]);
    unsubscribe();
    store.append({ entity: 'order:1', scope: 'acme' }, { n: 5 });
    expect(seen).toEqual([0, 2]);
    expect(store.query({ scope: 'acme' }).map((e) => e.seq)).toEqual([0, 2, 3, 4]);
    expect(store.query({ kind: { category: 2 } }).map((e) => e.seq)).toEqual([0]);
    expect(store.query({ entityPrefix: 'order:', fromSeq: 2, toSeq: 3 }).map((e) => e.seq)).toEqual([2, 3]);
    expect(store.query({}, 2).map((e) => e.seq)).toEqual([0, 1]);
    expect(store.get(a.eventId)).toMatchObject({ seq: 0, entity: 'order:1', scope: 'acme', eventHash: a.eventHash });
    expect(store.get(a.eventId.toUpperCase())?.seq).toBe(0);
    expect(store.get('01890000-0000-7000-8000-000000000000')).toBeNull();
    store.close();
  });

  it('a closed store refuses everything with `closed`; a read-only store refuses writes with `read_only`', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    store.append({ entity: 'e', scope: 's' }, {});
    store.close();
    expect((await seglogErrorOf(() => store.append({ entity: 'e', scope: 's' }, {}))).code).toBe('closed');
    expect((await seglogErrorOf(() => store.query())).code).toBe('closed');
    const { store: ro } = await openStore(dir, { readOnly: true });
    expect((await seglogErrorOf(() => ro.append({ entity: 'e', scope: 's' }, {}))).code).toBe('read_only');
    expect((await seglogErrorOf(() => ro.appendBatch([]))).code).toBe('read_only');
    expect(ro.query()).toHaveLength(1);
    ro.close();
  });

  it('a single append that fails validation burns no sequence', async () => {
    const { store } = await openStore(freshStorePath());
    const bad = [
      () => store.append({ entity: '', scope: 's' }, {}),
      () => store.append({ entity: 'x'.repeat(1025), scope: 's' }, {}),
      () => store.append({ entity: 'e', scope: 's' }, {}, { kind: { category: 0, type: 1 } }),
      () => store.append({ entity: 'e', scope: 's' }, {}, { correlationId: 'not-a-uuid' }),
      () => store.append({ entity: 'e', scope: 's' }, { toJSON: () => undefined }),
    ];
    for (const f of bad) expect((await seglogErrorOf(f)).code).toBe('validation');
    expect(store.append({ entity: 'e', scope: 's' }, {}).seq).toBe(0);
    store.close();
  });
});
