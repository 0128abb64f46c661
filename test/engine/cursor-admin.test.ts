/**
 * cursor reset / list / delete / commit --through (tools/live/cursor-admin.ts) against the
 * reference: the events a cursor reads after each operation, compared with `Store.query`.
 */
import { describe, expect, test } from 'vitest';
import { commitThrough, deleteCursor, listCursors, recordDelivered, resetCursor } from '../../src/tools/live/cursor-admin.js';
import { Cursor } from '../../src/engine/log/cursor.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { setDefaultReadChunkBytes } from '../../src/engine/segment/segment-reader.js';
import { freshStorePath, openStore, seglogErrorOf } from './test-store.js';

const fs = new RealFs();
const T0 = 1_700_000_000_000;
const MIN = 60_000;

async function store() {
  setDefaultReadChunkBytes(256);
  const dir = freshStorePath();
  let now = T0;
  const { store: s } = await openStore(dir, { segmentMaxBytes: 4096, clock: () => now });
  for (let m = 0; m < 30; m++) {
    now = T0 + m * MIN;
    if (m % 5 === 0) s.appendBatch([0, 1, 2].map((j) => ({ entity: `b${m}`, scope: 't', payload: { m, j, pad: 'x'.repeat(120) } })));
    else s.append({ entity: `e${m % 3}`, scope: 't' }, { m, pad: 'x'.repeat(120) });
  }
  const all = s.query();
  const nextSeq = s.snapshotState().nextSeq;
  s.close();
  return { dir, all, nextSeq };
}

describe('cursor admin', () => {
  test('reset --to start|end|SEQ|TIME: the next read starts where the reference says', async () => {
    const { dir, all, nextSeq } = await store();
    const c = Cursor.open(fs, dir, 'r');
    resetCursor(fs, dir, c, { to: 'end' });
    expect(c.read(10).events, 'after --to end nothing is left').toEqual([]);
    expect(listCursors(fs, dir, nextSeq).find((x) => x.name === 'r')).toMatchObject({ lagEvents: 0, lagBytes: 0 });
    resetCursor(fs, dir, c, { to: 'start' });
    expect(c.read(1).events[0]?.seq).toBe(all[0]!.seq);
    // a sequence inside a batch: the batch comes whole
    const batch = all.filter((e) => e.txnId !== 0 && e.entity === 'b10');
    resetCursor(fs, dir, c, { to: 'seq', seq: batch[1]!.seq });
    expect(c.read(1).events.map((e) => e.seq)).toEqual(batch.map((e) => e.seq));
    for (const m of [0, 7, 10, 23, 29]) {
      resetCursor(fs, dir, c, { to: 'time', ms: T0 + m * MIN });
      const first = all.find((e) => e.wallMs >= T0 + m * MIN)!;
      expect(c.read(1).events[0]?.seq, `--to minute ${m}`).toBe(first.txnId !== 0 ? all.find((e) => e.txnId === first.txnId)!.seq : first.seq);
      const l = listCursors(fs, dir, nextSeq).find((x) => x.name === 'r')!;
      expect(l.lagEvents, `lag after --to minute ${m}`).toBe(nextSeq - first.seq);
    }
  });

  test('commit --through: whole units only, never past the delivered mark, never backwards', async () => {
    const { dir, all } = await store();
    const c = Cursor.open(fs, dir, 'w');
    expect((await seglogErrorOf(() => commitThrough(fs, dir, c, 0))).message).toMatch(/delivered nothing yet/);
    const r = c.read(5);
    recordDelivered(fs, c, r.next);
    const last = r.events[r.events.length - 1]!.seq;
    expect((await seglogErrorOf(() => commitThrough(fs, dir, c, last + 1))).message).toMatch(/past what cursor 'w' delivered/);
    const res = commitThrough(fs, dir, c, last);
    expect(res.committedThrough).toBe(last);
    expect(c.read(1).events[0]?.seq).toBe(all[r.events.length]!.seq);
    expect((await seglogErrorOf(() => commitThrough(fs, dir, c, last - 1))).message).toMatch(/goes backwards/);
    expect(commitThrough(fs, dir, c, last).units, 'the same sequence again commits nothing').toBe(0);
  });

  test('delete removes position and mark; list shows the rest', async () => {
    const { dir, nextSeq } = await store();
    const a = Cursor.open(fs, dir, 'a');
    const b = Cursor.open(fs, dir, 'b');
    a.commit(a.read(3).next);
    recordDelivered(fs, b, b.read(2).next);
    expect(listCursors(fs, dir, nextSeq).map((x) => [x.name, x.committedThrough >= 0, x.deliveredThrough >= 0])).toEqual([
      ['a', true, true],
      ['b', false, true],
    ]);
    expect(deleteCursor(fs, a)).toBe(true);
    expect(deleteCursor(fs, a)).toBe(false);
    expect(listCursors(fs, dir, nextSeq).map((x) => x.name)).toEqual(['b']);
  });
});
