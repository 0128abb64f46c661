import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KvState } from '../../src/engine/wal/kv-state.js';

/** Puts and deletes through a buffer at an offset, as replay calls them. */
function apply(s: KvState, op: { del: boolean; key: string; version: number }): void {
  const b = Buffer.alloc(7 + Buffer.byteLength(op.key));
  b.fill(0xee);
  const len = b.write(op.key, 7, 'utf8');
  if (op.del) s.delete(b, 7, len);
  else s.put(b, 7, len, JSON.stringify(op.version), op.version);
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
});
