/**
 * Differential property for the write-behind of bulk appends (issue 18, round five:
 * engine/io/write-behind.ts, `SEGLOG_WRITE_BEHIND=0` off), and for the hashes it
 * completes (round six: format/chain-hash.ts, `SEGLOG_HASH_BEHIND=0` off). With it on, a
 * bulk session's full 1 MiB chunks are written by another thread while the next is
 * encoded, that thread completing their prev_hash and event_hash first; every other
 * write, fsync, seal, rotation, read and heads snapshot waits for them first. Property:
 * for the same steps (bursts of bulk events over several chunks and segments,
 * interleaved single appends, batches, reads, heads snapshots, a second session, a
 * reopen), clock and random source, the store holds the same bytes with the thread off,
 * on, and on without the hashing, and every read in between returns the same events. The built dist/ classes run in-process (the worker is the
 * built JS; under the .ts sources there is none). Sessions write tens of MiB: more than
 * the write-behind's 4 slots, with chunks queued across segment rotations.
 *
 * If the bytes differ: a write was reordered or lost (a slot reused before its write,
 * a seal or fsync not waiting: SegmentWriter.settle), or a hash completed wrong (a
 * prev_hash from the wrong table slot: store/chain-slots.ts; a footer entry taken before
 * its hash: bulk.ts flush's `written`). If a read or a heads snapshot differs: it did not
 * wait for the queued chunks (Store.checkOpen -> WriteState.settleWrites) or for their
 * hashes (WriteState.settleLanes -> BulkAppender.syncHashes).
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, REPO_ROOT, seededRandom, tempDir } from '../engine/test-store.js';
import type { Store as StoreClass } from '../../src/engine/store/store.js';

afterAll(removeTempDirs);

const SEED = process.env.SEGLOG_DIFF_SEED !== undefined ? Number(process.env.SEGLOG_DIFF_SEED) : 0xb3e1;
const RUNS = process.env.SEGLOG_DIFF_RUNS !== undefined ? Math.max(6, Math.floor(Number(process.env.SEGLOG_DIFF_RUNS) / 30)) : 6;
const CLOCK_MS = 1_700_000_000_000;

type Step =
  | { t: 'burst'; n: number; entities: number; pad: number; s: 0 | 1 }
  | { t: 'append'; e: number }
  | { t: 'batch'; e: number }
  | { t: 'read' }
  | { t: 'snap' };

const step: fc.Arbitrary<Step> = fc.oneof(
  // 2k-12k events of 60-1,600 bytes of payload: 0.2-20 MiB per burst
  { weight: 5, arbitrary: fc.record({ t: fc.constant('burst' as const), n: fc.integer({ min: 2000, max: 12000 }), entities: fc.integer({ min: 1, max: 1500 }), pad: fc.integer({ min: 60, max: 1600 }), s: fc.constantFrom(0 as const, 1 as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('append' as const), e: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('batch' as const), e: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('read' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('snap' as const) }) },
);

function storeFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg') || n === 'index.ckpt').sort();
}

type StoreStatic = typeof StoreClass;

/** Plays the steps on a store in `dir`; returns what the reads in between saw. */
/** The three settings compared: the thread off, on, and on without completing the hashes. */
const MODES = [
  { name: 'off', env: { SEGLOG_WRITE_BEHIND: '0', SEGLOG_HASH_BEHIND: '1' } },
  { name: 'on', env: { SEGLOG_WRITE_BEHIND: '1', SEGLOG_HASH_BEHIND: '1' } },
  { name: 'on, hashes not behind', env: { SEGLOG_WRITE_BEHIND: '1', SEGLOG_HASH_BEHIND: '0' } },
] as const;
type Mode = (typeof MODES)[number];

async function play(Store: StoreStatic, dir: string, steps: Step[], mode: Mode, segmentMaxBytes: number): Promise<string[]> {
  const saved = { ...process.env };
  Object.assign(process.env, mode.env);
  const seen: string[] = [];
  const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
  const scope = enc('tenant');
  try {
    const random = seededRandom(11);
    for (const half of [steps.slice(0, steps.length >> 1), steps.slice(steps.length >> 1)]) {
      // two opens: the second continues the last segment of the first
      const store = await Store.open(dir, { segmentMaxBytes, clock: () => CLOCK_MS, random });
      const sessions = [store.bulk(), store.bulk()];
      let i = 0;
      for (const st of half) {
        if (st.t === 'burst') {
          for (let k = 0; k < st.n; k++, i++) {
            const entity = enc(`ent-${(i * 7919) % st.entities}`);
            const payload = enc(JSON.stringify({ i, pad: 'p'.repeat((i * 31) % st.pad) }));
            const ok = sessions[st.s]!.addRaw({ entity, entityStart: 0, entityEnd: entity.length, scope, scopeStart: 0, scopeEnd: scope.length, payload, payloadStart: 0, payloadEnd: payload.length, kindCategory: 1, kindType: 2 });
            if (!ok) throw new Error('addRaw refused an event');
          }
        } else if (st.t === 'append') store.append({ entity: `ent-${st.e}`, scope: 'tenant' }, { i: i++ });
        else if (st.t === 'batch') store.appendBatch([{ entity: `ent-${st.e}`, scope: 'tenant', payload: { i: i++ } }, { entity: `ent-${st.e + 1}`, scope: 'tenant', payload: { i: i++ } }]);
        else if (st.t === 'read') {
          const evs = store.query({}, 1 << 30);
          const last = evs[evs.length - 1];
          seen.push(`${evs.length}:${last ? `${last.seq}:${last.eventHash}` : '-'}`);
        } else {
          const s = store.snapshotState();
          seen.push(`${s.nextSeq}:${[...s.heads].map(([k, h]) => `${k}=${Buffer.from(h.hash).toString('hex').slice(0, 16)}`).join(',')}`);
        }
      }
      sessions[0]!.finish();
      sessions[1]!.finish();
      store.close();
    }
  } finally {
    for (const k of Object.keys(mode.env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  return seen;
}

/** Plays `steps` in each mode; the stores' files and what the reads saw must be the same. */
async function expectSameStores(Store: StoreStatic, steps: Step[], segmentMaxBytes: number): Promise<void> {
  const [off, ...others] = MODES;
  const offDir = join(tempDir('seglog-wb-off-'), 's');
  const seenOff = await play(Store, offDir, steps, off, segmentMaxBytes);
  const names = storeFiles(offDir);
  for (const mode of others) {
    const dir = join(tempDir('seglog-wb-'), 's');
    const seen = await play(Store, dir, steps, mode, segmentMaxBytes);
    expect(seen, `a read or heads snapshot during a bulk session differs with the write-behind ${mode.name}: see WriteState.settleWrites/settleLanes`).toEqual(seenOff);
    expect(storeFiles(dir)).toEqual(names);
    for (const n of names) {
      expect(readFileSync(join(dir, n)).equals(readFileSync(join(offDir, n))), `${n} differs with the write-behind ${mode.name} and off: see SegmentWriter.writeLater/settle, engine/io/write-behind.ts, format/chain-hash.ts`).toBe(true);
    }
  }
  removeTempDirs();
}

describe('differential: bulk appends write the same bytes with the write-behind thread on and off', () => {
  it('for bursts over many chunks and segments, interleaved with other writes, reads and reopens', async () => {
    const { Store } = (await import(join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js'))) as { Store: StoreStatic };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 10 }), fc.constantFrom(3 * 1024 * 1024, 8 * 1024 * 1024, 64 * 1024 * 1024), async (steps, segmentMaxBytes) => {
        await expectSameStores(Store, steps, segmentMaxBytes);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);

  it('for a session of more entities than the chain table has slots (65,536: every slot handed back, a fresh start)', async () => {
    const { Store } = (await import(join(REPO_ROOT, 'dist', 'engine', 'store', 'store.js'))) as { Store: StoreStatic };
    // 72k events, the first 70k of distinct entities: the table fills once mid-session
    const steps: Step[] = [{ t: 'burst', n: 72_000, entities: 70_000, pad: 60, s: 0 }, { t: 'snap' }, { t: 'burst', n: 3000, entities: 70_000, pad: 60, s: 0 }, { t: 'read' }];
    await expectSameStores(Store, steps, 64 * 1024 * 1024);
  }, 600_000);
});
