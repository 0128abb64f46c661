import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KvState } from '../../src/engine/wal/kv-state.js';

/** Puts and deletes through a buffer at an offset, as replay calls them. */
function apply(s: KvState, op: { del: boolean; key: string; version: number }): void {
  const b = Buffer.alloc(7 + Buffer.byteLength(op.key));
  b.fill(0xee);
  const len = b.write(op.key, 7, 'utf8');
  if (op.del) s.delete(b, 7, len);
  else {
    // the value's bytes at an offset of another buffer, as replay and the snapshot loader pass them
    const v = Buffer.from(`..${JSON.stringify(op.version)}`, 'utf8');
    s.put(b, 7, len, op.version, v, 2, v.length - 2);
  }
}

describe('KvState', () => {
  test('behaves as a Map under random puts and deletes (growth, arena compaction, backward-shift deletion)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            del: fc.boolean(),
            // few keys: many collisions of probe runs and deletes inside them; long keys: arena growth
            key: fc.oneof(fc.integer({ min: 0, max: 40 }).map((i) => `k${i}`), fc.string({ minLength: 0, maxLength: 300 })),
            version: fc.integer({ min: 1, max: 1e9 }),
          }),
          { minLength: 1, maxLength: 3000 },
        ),
        (ops) => {
          const s = new KvState();
          const model = new Map<string, number>();
          for (const op of ops) {
            apply(s, op);
            if (op.del) model.delete(op.key);
            else model.set(op.key, op.version);
          }
          expect(s.size).toBe(model.size);
          const got = [...s.entries()].map(([k, e]) => [k, e.version] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
          expect(got).toEqual([...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
          for (const [k, v] of model) expect(s.get(k)).toEqual({ value: JSON.stringify(v), version: v });
        },
      ),
      { seed: 99, numRuns: 60 },
    );
  });

  test('a large key set survives resizes, and deleting everything empties it', () => {
    const s = new KvState();
    for (let i = 0; i < 20_000; i++) apply(s, { del: false, key: `key-${i}`, version: i + 1 });
    expect(s.size).toBe(20_000);
    expect(s.get('key-12345')).toEqual({ value: '12346', version: 12346 });
    for (let i = 0; i < 20_000; i++) apply(s, { del: true, key: `key-${i}`, version: 1 });
    expect(s.size).toBe(0);
    expect([...s.entries()]).toEqual([]);
    apply(s, { del: false, key: 'again', version: 5 });
    expect(s.toMap()).toEqual(new Map([['again', { value: '5', version: 5 }]]));
  });

  test('values survive many compactions of the value arena, and a key put without a value reads back as null', () => {
    // 300 keys overwritten 1,000 times with values of changing length: dead value bytes
    // pass the live ones many times over, so the value arena is compacted again and again.
    // If this fails, look at KvState.makeRoom and setValue/dropValue (src/engine/wal/kv-state.ts).
    const s = new KvState();
    const last = new Map<string, string>();
    for (let round = 0; round < 1000; round++) {
      for (let k = 0; k < 300; k++) {
        const key = `key-${k}`;
        const value = JSON.stringify({ round, k, pad: 'v'.repeat((round * 7 + k) % 90) });
        const kb = Buffer.from(key);
        const vb = Buffer.from(value);
        s.put(kb, 0, kb.length, round, vb, 0, vb.length);
        last.set(key, value);
      }
    }
    for (const [key, value] of last) expect(s.get(key)).toEqual({ value, version: 999 });
    const none = Buffer.from('no-value');
    s.put(none, 0, none.length, 1);
    expect(s.get('no-value')).toEqual({ value: null, version: 1 });
    expect(s.size).toBe(301);
  });

  test('a capacity given up front (the per-entry arrays) holds that many keys, and more after', () => {
    const s = new KvState(5_000);
    for (let i = 0; i < 6_000; i++) {
      const kb = Buffer.from(`k${i}`);
      s.put(kb, 0, kb.length, i, kb, 0, kb.length);
    }
    expect(s.size).toBe(6_000);
    expect(s.get('k4999')).toEqual({ value: 'k4999', version: 4999 });
    expect(s.get('k5999')).toEqual({ value: 'k5999', version: 5999 });
  });
});
