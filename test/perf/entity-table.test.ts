import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntityTable } from '../../src/engine/log/entity-table.js';

describe('EntityTable (byte-keyed lookups in front of a Map)', () => {
  it('finds exactly what a Map keyed by the decoded string finds, for any sequence of entities', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('order:1', 'order:2', 'é', '😀', 'x'.repeat(300))), { maxLength: 3000 }), (names) => {
        const t = new EntityTable<{ n: number }>();
        const ref = new Map<string, { n: number }>();
        for (const name of names) {
          if (name.length === 0) continue;
          // entities sit at varying offsets of a reused buffer, as in a reader's chunk
          const bytes = Buffer.from(name, 'utf8');
          const buf = Buffer.alloc(bytes.length + 7, 0xee);
          bytes.copy(buf, 3);
          const got = t.lookup(buf, 3, bytes.length);
          expect(t.name, 'src/engine/log/entity-table.ts: name of the looked-up entity').toBe(bytes.toString('utf8'));
          expect(got, `src/engine/log/entity-table.ts: lookup of ${JSON.stringify(name)}`).toBe(ref.get(t.name));
          if (got) got.n++;
          else {
            const v = { n: 1 };
            t.insert(v);
            ref.set(t.name, v);
          }
        }
        expect([...t.map.entries()]).toEqual([...ref.entries()]);
      }),
      { seed: 0x3e17, numRuns: 60 },
    );
  });

  it('keeps finding every entity after growing past its initial size', () => {
    const t = new EntityTable<number>();
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(`entity:${i}`);
      expect(t.lookup(b, 0, b.length)).toBeUndefined();
      t.insert(i);
    }
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(`entity:${i}`);
      expect(t.lookup(b, 0, b.length), `entity:${i}`).toBe(i);
    }
    expect(t.map.size).toBe(20_000);
  });
});
