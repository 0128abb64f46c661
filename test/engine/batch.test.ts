import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES } from '../../src/format/event.js';
import type { BatchItem, Store } from '../../src/engine/store/store.js';
import { freshStorePath, openStore, REPO_ROOT, removeTempDirs, seglogErrorOf } from './test-store.js';

afterAll(removeTempDirs);

const SEG = '0000000000.seg';
/** A batch item in scope 's'; a number payload becomes {"n": N}. */
const item = (entity: string, payload: BatchItem['payload'] | number, extra: Partial<BatchItem> = {}): BatchItem => ({
  entity,
  scope: 's',
  payload: typeof payload === 'number' ? { n: payload } : payload,
  ...extra,
});

/** What a failed batch must leave: the same bytes on disk, nothing visible, no sequence or txn id used. */
async function expectNoTrace(dir: string, store: Store, before: { bytes: Buffer; nextSeq: number; nextTxnId: number; visible: number }): Promise<void> {
  expect(readFileSync(join(dir, SEG)).equals(before.bytes), 'the failed batch wrote bytes').toBe(true);
  expect(store.query()).toHaveLength(before.visible);
  const s = store.snapshotState();
  expect({ nextSeq: s.nextSeq, nextTxnId: s.nextTxnId }).toEqual({ nextSeq: before.nextSeq, nextTxnId: before.nextTxnId });
}

function stateOf(dir: string, store: Store) {
  const s = store.snapshotState();
  return { bytes: readFileSync(join(dir, SEG)), nextSeq: s.nextSeq, nextTxnId: s.nextTxnId, visible: store.query().length };
}

describe('appendBatch validation happens before any byte is written', () => {
  const oversizedLast: [string, Partial<Parameters<typeof openStore>[1]>, BatchItem][] = [
    ['a payload over MAX_PAYLOAD_BYTES', {}, item('e', new Uint8Array(MAX_PAYLOAD_BYTES + 1))],
    ['an item that pushes the batch over batchMaxBytes', { batchMaxBytes: 4096 }, item('e', new Uint8Array(4000))],
    ['an entity over 1024 bytes', {}, item('x'.repeat(1025), {})],
    ['a reserved kind (category 0)', {}, item('e', {}, { kind: { category: 0, type: 1 } })],
    ['a payload that is not JSON-encodable', {}, item('e', { big: 1n } as unknown as object)],
  ];
  it.each(oversizedLast)(
    'an invalid last item (%s) fails the whole batch: nothing visible, and the next append still gets sequence 0',
    async (_what, opts, last) => {
      const dir = freshStorePath();
      const { store } = await openStore(dir, opts);
      const seen: number[] = [];
      store.subscribe({}, (e) => seen.push(e.seq));
      const before = stateOf(dir, store);
      const err = await seglogErrorOf(() => store.appendBatch([item('e', { n: 1 }), item('f', { n: 2 }), last]));
      expect(err.code).toBe('validation');
      await expectNoTrace(dir, store, before);
      expect(seen).toEqual([]);
      expect(store.append({ entity: 'e', scope: 's' }, {}).seq).toBe(0);
      store.close();
    },
  );

  it('an empty batch is a no-op: returns [], writes nothing, uses no sequence or transaction id', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    store.append({ entity: 'e', scope: 's' }, {});
    const before = stateOf(dir, store);
    expect(store.appendBatch([])).toEqual([]);
    await expectNoTrace(dir, store, before);
    expect(store.appendBatch([item('e', 1)])[0]!.seq).toBe(1);
    store.close();
  });

  it('a batch over batchMaxSize fails as a validation failure; exactly batchMaxSize items succeed', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir, { batchMaxSize: 4 });
    const before = stateOf(dir, store);
    const err = await seglogErrorOf(() => store.appendBatch(Array.from({ length: 5 }, (_, i) => item('e', i))));
    expect(err.code).toBe('validation');
    expect(err.message).toMatch(/batchMaxSize 4/);
    await expectNoTrace(dir, store, before);
    expect(store.appendBatch(Array.from({ length: 4 }, (_, i) => item('e', i))).map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    store.close();
  });

  it.each([
    ['itself', 1],
    ['a later item', 2],
    ['a negative index', -1],
    ['a fractional index', 0.5],
  ])('a causationItem naming %s is refused before anything is written', async (_what, ref) => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const before = stateOf(dir, store);
    const err = await seglogErrorOf(() => store.appendBatch([item('a', 0), item('b', 1, { causationItem: ref }), item('c', 2)]));
    expect(err.code).toBe('validation');
    await expectNoTrace(dir, store, before);
    store.close();
  });
});

describe('appendBatch: what items carry', () => {
  it('a reaction batch sets correlation and causation on every item, and they survive a reopen', async () => {
    const dir = freshStorePath();
    const { store } = await openStore(dir);
    const cause = store.append({ entity: 'order:1', scope: 's' }, { type: 'placed' });
    const correlation = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    const rs = store.appendReactionBatch([item('inv:1', 1), item('inv:2', 2), item('mail:1', 3)], correlation, cause.eventId);
    const check = (s: Store): void => {
      for (const r of rs) {
        expect(s.get(r.eventId), `item seq ${r.seq}`).toMatchObject({ correlationId: correlation, causationId: cause.eventId });
      }
    };
    check(store);
    store.close();
    const { store: ro } = await openStore(dir, { readOnly: true });
    check(ro);
    ro.close();
  });

  it("an intra-batch causation reference resolves to the earlier item's event id", async () => {
    const { store } = await openStore(freshStorePath());
    const rs = store.appendBatch([item('a', 0), item('b', 1, { causationItem: 0 }), item('c', 2, { causationItem: 1 }), item('d', 3, { causationItem: 0 })]);
    expect(rs.map((r) => store.get(r.eventId)!.causationId)).toEqual([null, rs[0]!.eventId, rs[1]!.eventId, rs[0]!.eventId]);
    store.close();
  });

  it('a multi-item same-entity batch has a continuous hash chain, and walkAncestors walks it back', async () => {
    const { store } = await openStore(freshStorePath());
    const genesis = store.append({ entity: 'order:9', scope: 's' }, { type: 'created' });
    store.append({ entity: 'other', scope: 's' }, {});
    const rs = store.appendBatch([item('order:9', 1), item('other', 'x'), item('order:9', 2), item('order:9', 3)]);
    const mine = [genesis, rs[0]!, rs[2]!, rs[3]!];
    expect(mine.map((r) => r.clock)).toEqual([0, 1, 2, 3]);
    const events = mine.map((r) => store.get(r.eventId)!);
    expect(events[0]!.prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < events.length; i++) expect(events[i]!.prevHash, `link ${i}`).toBe(events[i - 1]!.eventHash);
    const walked = store.walkAncestors(rs[3]!.eventId);
    expect(walked.map((e) => e.seq)).toEqual([...mine].reverse().map((r) => r.seq));
    expect(store.walkAncestors(rs[3]!.eventId, 2).map((e) => e.seq)).toEqual([rs[3]!.seq, rs[2]!.seq]);
    store.close();
  });
});

describe('readers see all of a batch or none of it', () => {
  const storeModule = join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js');
  beforeAll(() => {
    if (!existsSync(storeModule)) throw new Error('dist/engine/store/store.js is missing: run `npm run build` (npm test builds first)');
  });

  /** Appends batches in another thread until told to stop (or a bound), through the built engine. */
  const WORKER = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { Store } = await import(workerData.storeUrl);
      const store = await Store.open(workerData.dir, { readOnly: false });
      const stop = new Int32Array(workerData.stop);
      const written = new Int32Array(workerData.written);
      let b = 0;
      for (; b < workerData.maxBatches && Atomics.load(stop, 0) === 0; b++) {
        const n = 1 + ((b * 7) % 13);
        store.appendBatch(Array.from({ length: n }, (_, i) => ({
          entity: 'e' + ((b + i) % 5), scope: 's',
          payload: JSON.stringify({ b, i, n, pad: 'x'.repeat((b * 31 + i * 17) % 300) }),
        })));
        Atomics.store(written, 0, b + 1);
      }
      store.close();
      parentPort.postMessage({ batches: b });
    })().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
  `;

  it('a reader polling while another thread appends many batches (with rotations) only ever sees whole batches', async () => {
    const dir = freshStorePath();
    (await openStore(dir, { segmentMaxBytes: 4096, sync: 'batch' })).store.close();
    // No timing assumptions: the writer runs until told to stop, and each poll waits until
    // the writer has finished one more batch than at the previous poll, so the reader
    // sees the log grow whatever the scheduler does.
    const stop = new SharedArrayBuffer(4);
    const writtenBuf = new SharedArrayBuffer(4);
    const written = new Int32Array(writtenBuf);
    const worker = new Worker(WORKER, { eval: true, workerData: { dir, storeUrl: pathToFileURL(storeModule).href, stop, written: writtenBuf, maxBatches: 10_000_000 } });
    let result = null as { batches?: number; error?: string } | null;
    const finished = new Promise<void>((resolve) => {
      worker.on('message', (m: { batches?: number; error?: string }) => {
        result = m;
        resolve();
      });
      worker.on('error', (e) => {
        result = { error: String(e) };
        resolve();
      });
    });
    const MIN_POLLS = 40;
    let polls = 0;
    const counts = new Set<number>();
    const violations: string[] = [];
    let lastWritten = 0;
    while (result === null && polls < MIN_POLLS) {
      if (Atomics.load(written, 0) <= lastWritten) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      lastWritten = Atomics.load(written, 0);
      const { store } = await openStore(dir, { readOnly: true });
      const byBatch = new Map<number, { n: number; items: Set<number> }>();
      for (const e of store.query()) {
        const p = JSON.parse(new TextDecoder().decode(e.payload)) as { b: number; i: number; n: number };
        const g = byBatch.get(p.b) ?? { n: p.n, items: new Set<number>() };
        g.items.add(p.i);
        byBatch.set(p.b, g);
      }
      store.close();
      for (const [b, g] of byBatch) if (g.items.size !== g.n) violations.push(`poll ${polls}: batch ${b} shows ${g.items.size} of ${g.n} items`);
      const seen = [...byBatch.keys()].sort((x, y) => x - y);
      if (seen.length > 0 && seen.at(-1) !== seen.length - 1) violations.push(`poll ${polls}: visible batches are not a prefix: ${seen.join(',')}`);
      counts.add(seen.length);
      if (seen.length < lastWritten) violations.push(`poll ${polls}: ${seen.length} batches visible, ${lastWritten} were acknowledged before the poll`);
      polls++;
      await new Promise((r) => setImmediate(r));
    }
    Atomics.store(new Int32Array(stop), 0, 1);
    await finished;
    await worker.terminate();
    expect(result!.error, 'the appending worker failed').toBeUndefined();
    expect(violations, 'partially visible batches (see Store.query / streamCommitted)').toEqual([]);
    expect(polls).toBeGreaterThanOrEqual(MIN_POLLS);
    expect(counts.size, 'the reader should have seen the log grow while polling').toBeGreaterThan(2);
  }, 60_000);
});
