import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SeglogError } from '../../src/engine/io/errors.js';
import { createHasher } from '../../src/format/hash/blake3.js';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { verifySegments } from '../../src/engine/verify/verify.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { parseLine } from '../../src/tools/ingest/parse-line.js';
import { type LineDefaults, ScannedLines } from '../../src/tools/ingest/scanned-lines.js';
import type { BatchItem } from '../../src/engine/store/store.js';
import { openStore, removeTempDirs, tempDir } from '../engine/test-store.js';

afterAll(removeTempDirs);

const entities = fc.constantFrom('order:1', 'order:2', 'Zoë', '', 'a"b', 'x'.repeat(1100));
const scopes = fc.constantFrom('tenant:acme', '', 'tab\tin', 'é');
const kinds = fc.constantFrom('1:1', '2:7', ' 3:4 ', '0:1', 'x', '70000:1', '１:1', '\u00a01:2');

/** Lines of every shape: typical, defaults, nulls, escapes, repeated members, whitespace, bad JSON. */
const line: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ entity: entities, scope: scopes, kind: kinds, payload: fc.jsonValue() }, { requiredKeys: ['payload'] }).map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.record({ entity: fc.option(entities), scope: fc.option(scopes), payload: fc.jsonValue(), extra: fc.jsonValue() }, { requiredKeys: [] }).map((o) => JSON.stringify(o, null, 1).replace(/\n/g, ' ')) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '{"entity":"a","scope":"s","payload":1.0}',
      '{"entity":"a","scope":"s","payload":{"b":1,"a":2,"b":3}}',
      '{"entity":"a","scope":"s","payload":{"2":1,"1":2}}',
      '{"entit\\u0079":"a","scope":"s","payload":1}',
      '{"entity":"\\u0061","scope":"s","payload":1}',
      '{"entity":"a","entity":"b","scope":"s","payload":[1]}',
      '{"entity":"a","entity":null,"scope":"s","payload":[1]}',
      '{"entity":"a","entity":5,"scope":"s","payload":[1]}',
      '{"entity":"a","scope":"s","kind":null,"payload":1}',
      '{"entity":"a","scope":"s","kind":"1:2","kind":"3:4","payload":"p"}',
      '{"entity":"a","scope":"s","payload":1,"payload":{"x":"y"}}',
      '{"entity":"a","scope":"s"}',
      '{}',
      '[]',
      '"str"',
      '{"entity":"a","scope":"s","payload":1',
      '{"entity":"a","scope":"s","payload":tru}',
      '  {"entity" : "a" , "scope":"s" , "payload" : {"k":"v"} }  ',
      '\ufeff{"entity":"a","scope":"s","payload":1}',
      '{"entity":"a","scope":"s","payload":"\\ud800"}',
      '{"entity":"a","scope":"s","payload":"x","__proto__":{"entity":"z"}}',
      '{"entity":"a","scope":"s","payload":-0}',
      '{"entity":"a","scope":"s","payload":1e400}',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
);

const defaultsArb: fc.Arbitrary<LineDefaults> = fc.record(
  { entity: fc.constantFrom('dflt', 'Zoë'), scope: fc.constantFrom('', 'dscope'), kind: fc.constantFrom({ category: 5, type: 6 }) },
  { requiredKeys: [] },
);

function slow(text: string, n: number, d: LineDefaults): BatchItem | SeglogError {
  try {
    return parseLine(text, n, 'in.jsonl', d);
  } catch (err) {
    if (err instanceof SeglogError) return err;
    throw err;
  }
}

const bytesOf = (b: Uint8Array, s: number, e: number): string => Buffer.from(b.subarray(s, e)).toString('hex');

describe('the append fast path reads every line as parseLine does', () => {
  it('a line it takes gives the entity, scope, kind and payload bytes parseLine gives; every other line is left to parseLine', () => {
    let taken = 0;
    fc.assert(
      fc.property(line, defaultsArb, (text, d) => {
        const buf = Buffer.concat([Buffer.from('junk\n'), Buffer.from(text, 'utf8'), Buffer.from('\nmore')]);
        const start = 5;
        const end = start + Buffer.byteLength(text, 'utf8');
        const scanned = new ScannedLines(d);
        const raw = scanned.raw(buf, start, end);
        const ref = slow(buf.toString('utf8', start, end), 1, d);
        if (raw === null) return;
        taken++;
        expect(ref instanceof SeglogError ? `error: ${ref.message}` : 'ok', `src/engine/ingest took a line parseLine rejects: ${text}`).toBe('ok');
        const item = ref as BatchItem;
        const kind = item.kind ?? { category: 1, type: 0 };
        expect({
          entity: bytesOf(raw.entity, raw.entityStart, raw.entityEnd),
          scope: bytesOf(raw.scope, raw.scopeStart, raw.scopeEnd),
          kind: `${raw.kindCategory}:${raw.kindType}`,
          payload: bytesOf(raw.payload, raw.payloadStart, raw.payloadEnd),
        }, `line ${text}`).toEqual({
          entity: Buffer.from(item.entity).toString('hex'),
          scope: Buffer.from(item.scope).toString('hex'),
          kind: `${kind.category}:${kind.type}`,
          payload: Buffer.from(item.payload as string, 'utf8').toString('hex'),
        });
        const asItem = new ScannedLines(d).item(buf, start, end)!;
        expect({ ...asItem, payload: Buffer.from(asItem.payload as Uint8Array).toString('utf8') }, `batch item for ${text}`).toEqual(item);
      }),
      { seed: 0xa99e, numRuns: 3000 },
    );
    expect(taken, 'the fast path should take a good share of the generated lines').toBeGreaterThan(500);
  });

  it.each([
    '{"entity":"order:0","scope":"tenant:acme","kind":"1:1","payload":{"id":0,"amount":96027,"note":"xxxx","tag":"t80"}}',
    '{"entity":"Zoë","scope":"","payload":[1,"two",{"three":null}]}',
    ' { "payload" : "text" , "entity" : "e" , "scope" : "s" } ',
  ])('takes the typical line %s', (text) => {
    const buf = Buffer.from(text, 'utf8');
    expect(new ScannedLines({}).raw(buf, 0, buf.length), 'src/tools/ingest/line-scan.ts sent a typical line to the slow path').not.toBeNull();
  });
});

describe('append through the fast path writes the same store bytes as through parseLine', () => {
  async function appendAll(dir: string, lines: string[], d: LineDefaults, fast: boolean): Promise<string | null> {
    // segments past ARENA_MIN_FILE_BYTES, and enough lines to refill the bulk chunk
    const { store } = await openStore(dir, { segmentMaxBytes: 300_000 });
    const bulk = store.bulk();
    const scanned = new ScannedLines(d);
    let error: string | null = null;
    try {
      lines.forEach((text, i) => {
        const buf = Buffer.from(text, 'utf8');
        const raw = fast ? scanned.raw(buf, 0, buf.length) : null;
        if (raw === null || !bulk.addRaw(raw)) bulk.add(parseLine(text, i + 1, 'in.jsonl', d));
      });
    } catch (err) {
      error = (err as Error).message;
    } finally {
      bulk.finish();
      store.close();
    }
    return error;
  }

  it('for any sequence of lines (stopping at the first bad one, keeping those before it)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), defaultsArb, fc.nat(3000), async (lines0, d, repeat) => {
        // a long run of good lines first (several bulk chunks), then the random ones
        const good = Array.from({ length: repeat }, (_, i) => JSON.stringify({ entity: `e${i % 50}`, scope: 's', payload: { i, pad: 'p'.repeat(i % 700) } }));
        const lines = [...good, ...lines0];
        const a = join(tempDir('seglog-fast-'), 's');
        const b = join(tempDir('seglog-slow-'), 's');
        const errA = await appendAll(a, lines, d, true);
        const errB = await appendAll(b, lines, d, false);
        expect(errA).toBe(errB);
        const report = verifySegments(new RealFs(), listSegments(new RealFs(), a), await createHasher());
        expect(report.errors, `the fast path wrote a store that does not verify: ${JSON.stringify(report.problems.slice(0, 3))}`).toBe(0);
        const names = readdirSync(b).filter((n) => n.endsWith('.seg')).sort();
        expect(readdirSync(a).filter((n) => n.endsWith('.seg')).sort()).toEqual(names);
        for (const n of names) {
          expect(readFileSync(join(a, n)).equals(readFileSync(join(b, n))), `segment ${n} differs between the fast and the slow path`).toBe(true);
        }
      }),
      { seed: 0xb01c, numRuns: 25 },
    );
  });
});
