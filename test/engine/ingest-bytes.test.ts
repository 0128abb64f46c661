import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestJsonl } from '../../src/tools/ingest/ingest-file.js';
import { parseKind } from '../../src/format/event.js';
import { openStore, removeTempDirs, seededRandom, tempDir } from './test-store.js';

afterAll(removeTempDirs);

/**
 * The `append --file` path (engine/ingest: line scan, bulk encode, footer entries taken
 * while appending) against the plain `Store.append` path (one event at a time, footer
 * built at seal by reading the frames back): for the same events, clock and random
 * source, every file of the store must be the same bytes.
 */
interface Ev {
  entity: string;
  scope: string;
  kind?: string;
  payload: unknown;
}

const event: fc.Arbitrary<Ev> = fc.record(
  {
    entity: fc.constantFrom('order:1', 'order:2', 'Zoë', '日本:7', 'a"b', 'x'.repeat(300)),
    scope: fc.constantFrom('tenant:acme', '', 'é'),
    kind: fc.constantFrom('1:1', '2:7', '65535:0'),
    payload: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 400 }).map((note) => ({ note }))),
  },
  { requiredKeys: ['entity', 'scope', 'payload'] },
);

/** A constant clock: the two paths read the clock a different number of times. */
const CLOCK_MS = 1_700_000_000_000;

function storeFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg') || n === 'index.ckpt').sort();
}

describe('append --file (ingest path) writes the bytes Store.append writes', () => {
  it('for any events, over segment rotations and a second session continuing the last segment', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 120 }), fc.array(event, { maxLength: 60 }), fc.nat(2500), async (first, second, filler) => {
        // a run of typical events first: several bulk chunks and segments
        const pad = Array.from({ length: filler }, (_, i): Ev => ({ entity: `e${i % 40}`, scope: 's', kind: '1:1', payload: { i, note: 'n'.repeat(i % 300) } }));
        const sessions = [[...pad, ...first], second];
        const plain = join(tempDir('seglog-plain-'), 's');
        const ingest = join(tempDir('seglog-ingest-'), 's');
        const opts = { segmentMaxBytes: 64 * 1024, clock: () => CLOCK_MS };
        const plainRandom = seededRandom(7);
        const ingestRandom = seededRandom(7);
        const work = tempDir('seglog-jsonl-');
        for (const [k, events] of sessions.entries()) {
          const a = (await openStore(plain, { ...opts, random: plainRandom })).store;
          for (const e of events) a.append({ entity: e.entity, scope: e.scope }, JSON.stringify(e.payload), { kind: e.kind === undefined ? undefined : parseKind(e.kind)! });
          a.close();
          const file = join(work, `in${k}.jsonl`);
          writeFileSync(file, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
          const b = (await openStore(ingest, { ...opts, random: ingestRandom })).store;
          const r = ingestJsonl(b, file, { defaults: {} });
          b.close();
          expect(r.appended, 'src/tools/ingest/ingest-file.ts did not take every line').toBe(events.length);
        }
        const names = storeFiles(plain);
        expect(storeFiles(ingest)).toEqual(names);
        for (const n of names) {
          expect(readFileSync(join(ingest, n)).equals(readFileSync(join(plain, n))), `${n} differs between append --file and Store.append: see the footer taken while appending (Store.bulkFlush, liveFooter) and the bulk encoder (Store.bulkEncodeRaw)`).toBe(true);
        }
      }),
      { seed: 0x1e57, numRuns: 30 },
    );
  });
});
