import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/format/cursor.js';
import { Cursor } from '../../src/engine/log/cursor.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { SimFs } from '../../src/sim/sim-fs.js';
import { Store } from '../../src/engine/store/store.js';
import { createHasher } from '../../src/format/hash/blake3.js';

function tmpStore(): string {
  return join(mkdtempSync(join(tmpdir(), 'seglog-cursor-')), 's');
}

async function storeWith(dir: string, opts = {}): Promise<Store> {
  const s = await Store.open(dir, { segmentMaxBytes: 4096, ...opts });
  for (let i = 0; i < 10; i++) s.append({ entity: `e${i % 3}`, scope: 't' }, { i });
  s.appendBatch([0, 1, 2].map((j) => ({ entity: 'b', scope: 't', payload: { j } })));
  for (let i = 10; i < 30; i++) s.append({ entity: `e${i % 3}`, scope: 't', }, { i, pad: 'x'.repeat(200) });
  return s;
}

describe('cursor', () => {
  test('encoding round-trips and any flipped byte is detected', () => {
    const c = { deliveredThrough: { segmentId: 3, offset: 999 }, resumeFrom: { segmentId: 2, offset: 32 }, delivered: 17, lastSeqPlusOne: 18 };
    const bytes = encodeCursor(c);
    expect(decodeCursor(bytes)).toEqual(c);
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] ^= 0x01;
      expect(typeof decodeCursor(bad), `flip at byte ${i} went unnoticed: check the CRC coverage in format/cursor.ts`).toBe('string');
    }
  });

  test('read without commit repeats; read with commit continues; every committed event exactly once in commit order', async () => {
    const dir = tmpStore();
    const s = await storeWith(dir);
    const all = s.query().map((e) => e.seq);
    s.close();
    const cur = Cursor.open(new RealFs(), dir, 'proj');
    const first = cur.read(5);
    expect(cur.read(5).events.map((e) => e.seq), 'an uncommitted read must not move the cursor').toEqual(first.events.map((e) => e.seq));
    const seen: number[] = [];
    for (let guard = 0; guard < 100; guard++) {
      const r = cur.read(4);
      seen.push(...r.events.map((e) => e.seq));
      cur.commit(r.next);
      if (!r.more) break;
    }
    expect(seen, 'committed reads must deliver every event once, in order').toEqual(all);
    expect(cur.read(4).events).toEqual([]);
  });

  test('a batch is delivered whole even when it crosses --max', async () => {
    const dir = tmpStore();
    const s = await Store.open(dir);
    s.append({ entity: 'a', scope: 't' }, {});
    s.appendBatch([1, 2, 3].map((i) => ({ entity: 'a', scope: 't', payload: { i } })));
    s.close();
    const r = Cursor.open(new RealFs(), dir, 'c').read(2);
    expect(r.events.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
  });

  test('events appended after a commit are delivered next, and a crash before commit redelivers (SimFs)', async () => {
    const fs = new SimFs(7);
    const hasher = await createHasher();
    const lockEnv = { pid: 1, host: 'sim', nowMs: () => 0, isAlive: () => false };
    const s = Store.openSync('/s', { fs, lockEnv, sync: 'always' }, hasher);
    for (let i = 0; i < 5; i++) s.append({ entity: 'x', scope: '' }, { i });
    const cur = Cursor.open(fs, '/s', 'c');
    const r1 = cur.read(3);
    cur.commit(r1.next);
    const r2 = cur.read(3); // read but not committed
    fs.crash('lose-unsynced');
    const cur2 = Cursor.open(fs, '/s', 'c');
    expect(cur2.read(3).events.map((e) => e.seq), 'an uncommitted read must be redelivered after a crash').toEqual(r2.events.map((e) => e.seq));
    expect(cur2.state().delivered).toBe(3);
  });

  test('a bad cursor name is a usage error', () => {
    expect(() => Cursor.open(new RealFs(), '/x', '../etc')).toThrow(/cursor name/);
  });
});
