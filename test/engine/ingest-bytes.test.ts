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
  }, 240_000); // 15-25 s on a quiet 2-core machine, over 60 s under other suites' load
});

/**
 * Bulk events are hashed four at a time by the SIMD kernel (Store.settleLanes, issue 18):
 * an event waits in the lanes until its entity comes again, the lanes fill, a chunk is
 * written, or anything else touches the store. Property: whatever the order of
 * entities, event sizes (over one BLAKE3 chunk: hashed at once) and calls between
 * `addRaw`s (a single append, a batch, `snapshotState`, a second bulk session), the
 * store holds the bytes of the same calls with the lanes off (`SEGLOG_BLAKE3_SIMD=0`:
 * each event hashed as it is encoded). If this fails, a head's hash was read while its
 * event still waited in the lanes: look at who reads `heads` without settling first.
 */
describe('bulk events hashed side by side in SIMD lanes give the bytes of one at a time', () => {
  type Step = { t: 'raw'; e: number; big: boolean; s: 0 | 1 } | { t: 'append'; e: number } | { t: 'batch'; e: number } | { t: 'snap' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 12, arbitrary: fc.record({ t: fc.constant('raw' as const), e: fc.nat(9), big: fc.boolean(), s: fc.constantFrom(0 as const, 1 as const) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('append' as const), e: fc.nat(9) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('batch' as const), e: fc.nat(9) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('snap' as const) }) },
  );
  const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
  async function play(dir: string, steps: Step[], simd: boolean): Promise<void> {
    const saved = process.env.SEGLOG_BLAKE3_SIMD;
    process.env.SEGLOG_BLAKE3_SIMD = simd ? '1' : '0';
    try {
      const { store } = await openStore(dir, { segmentMaxBytes: 32 * 1024, clock: () => CLOCK_MS, random: seededRandom(3) });
      const sessions = [store.bulk(), store.bulk()];
      steps.forEach((st, i) => {
        if (st.t === 'raw') {
          const entity = enc(`ent-${st.e}`);
          const scope = enc('tenant');
          const payload = enc(JSON.stringify({ i, pad: 'p'.repeat(st.big ? 1500 : i % 200) }));
          const ok = sessions[st.s]!.addRaw({ entity, entityStart: 0, entityEnd: entity.length, scope, scopeStart: 0, scopeEnd: scope.length, payload, payloadStart: 0, payloadEnd: payload.length, kindCategory: 1, kindType: 2 });
          expect(ok).toBe(true);
        } else if (st.t === 'append') store.append({ entity: `ent-${st.e}`, scope: 'tenant' }, { i });
        else if (st.t === 'batch') store.appendBatch([{ entity: `ent-${st.e}`, scope: 'tenant', payload: { i } }, { entity: `ent-${(st.e + 1) % 10}`, scope: 'tenant', payload: { i } }]);
        else store.snapshotState();
      });
      sessions[0]!.finish();
      sessions[1]!.finish();
      store.close();
    } finally {
      if (saved === undefined) delete process.env.SEGLOG_BLAKE3_SIMD;
      else process.env.SEGLOG_BLAKE3_SIMD = saved;
    }
  }
  it('for any mix of entities, sizes and interleaved writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 400 }), async (steps) => {
        const on = join(tempDir('seglog-lanes-on-'), 's');
        const off = join(tempDir('seglog-lanes-off-'), 's');
        await play(on, steps, true);
        await play(off, steps, false);
        const names = storeFiles(off);
        expect(storeFiles(on)).toEqual(names);
        for (const n of names) {
          expect(readFileSync(join(on, n)).equals(readFileSync(join(off, n))), `${n} differs with the hash lanes on and off: see Store.settleLanes and who reads heads before it`).toBe(true);
        }
        // and the log is whole: two sessions used in turn once wrote their chunks out of
        // sequence order (a store needing repair); see WriteState.pendingBulk
        const { store } = await openStore(off);
        const want = steps.reduce((n, st) => n + (st.t === 'raw' || st.t === 'append' ? 1 : st.t === 'batch' ? 2 : 0), 0);
        expect(store.committedEvents, 'events lost or a store that needs repair after two bulk sessions: see WriteState.pendingBulk').toBe(want);
        store.close();
      }),
      { seed: 0x1a4e, numRuns: 25 },
    );
  }, 240_000);
});
