/**
 * Property: random stores, random damage, then repair. Afterwards verify has no error;
 * every committed event whose frames (its own, and its transaction's) were intact is
 * still visible byte for byte, or, in the active segment past a hole, listed as cut with
 * the torn tail; only events whose frames were damaged are reported lost, and a lost
 * event's entity, when the plan names one, is the right one; a second repair finds
 * nothing to do; the store opens and takes appends. Fixed seed: failures reproduce.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../../src/format/hash/blake3.js';
import { FrameType } from '../../../src/format/frame.js';
import type { SimFs } from '../../../src/sim/sim-fs.js';
import { storePaths } from '../../../src/engine/io/layout.js';
import { planRepair } from '../../../src/tools/repair/planner.js';
import { Store } from '../../../src/engine/store/store.js';
import { listSegments } from '../../../src/engine/segment/walker.js';
import { appendBytes, committed, DIR, type FrameInfo, framesOf, patch, runRepair, simLockEnv, simStore, truncateFile, verifyStore } from './repair-helpers.js';

export const PROPERTY_SEED = Number(process.env.REPAIR_SEED ?? 20261123);
export const PROPERTY_RUNS = Number(process.env.REPAIR_RUNS ?? 300);

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

const ENTITIES = ['order:1', 'order:2', 'ü-user', 'audit', 'x'.repeat(40)];

type Op =
  | { t: 'one'; e: number; n: number }
  | { t: 'batch'; items: { e: number; n: number }[] }
  | { t: 'txn'; keys: number; end: 'commit' | 'abort' | 'open' };

type Damage =
  | { t: 'flip'; file: number; at: number; bit: number }
  | { t: 'truncate'; file: number; at: number }
  | { t: 'zero'; file: number; at: number; len: number }
  | { t: 'garbage'; len: number; seed: number }
  | { t: 'footer'; file: number; at: number }
  | { t: 'checkpoint'; at: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('one' as const), e: fc.nat(ENTITIES.length - 1), n: fc.nat(200) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('batch' as const), items: fc.array(fc.record({ e: fc.nat(ENTITIES.length - 1), n: fc.nat(200) }), { minLength: 1, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('txn' as const), keys: fc.integer({ min: 1, max: 3 }), end: fc.constantFrom('commit' as const, 'abort' as const, 'open' as const) }) },
);

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('flip' as const), file: fc.nat(), at: fc.nat(), bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('truncate' as const), file: fc.nat(), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('zero' as const), file: fc.nat(), at: fc.nat(), len: fc.integer({ min: 1, max: 600 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('garbage' as const), len: fc.integer({ min: 1, max: 400 }), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('footer' as const), file: fc.nat(), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('checkpoint' as const), at: fc.nat() }) },
);

const caseArb = fc.record({
  segmentMaxBytes: fc.constantFrom(4096, 8192),
  ops: fc.array(opArb, { minLength: 3, maxLength: 40 }),
  close: fc.boolean(),
  damages: fc.array(damageArb, { minLength: 1, maxLength: 3 }),
});
type Case = { segmentMaxBytes: number; ops: Op[]; close: boolean; damages: Damage[] };

function build(s: Store, ops: Op[]): void {
  for (const op of ops) {
    if (op.t === 'one') s.append({ entity: ENTITIES[op.e]!, scope: 's' }, { n: op.n, pad: 'p'.repeat(op.n % 97) });
    else if (op.t === 'batch') s.appendBatch(op.items.map((i) => ({ entity: ENTITIES[i.e]!, scope: 's', payload: { n: i.n, pad: 'q'.repeat(i.n % 89) } })));
    else {
      const t = s.beginTxn();
      for (let k = 0; k < op.keys; k++) t.put(`k${k}`, { v: k });
      if (op.end === 'commit') t.commit();
      else if (op.end === 'abort') t.abort();
    }
  }
}

interface Span {
  path: string;
  start: number;
  end: number;
}

/** Applies the damage; returns the byte ranges of existing bytes it changed. */
function applyDamage(fs: SimFs, damages: Damage[]): Span[] {
  const spans: Span[] = [];
  for (const d of damages) {
    const segs = listSegments(fs, DIR);
    if (segs.length === 0) return spans;
    if (d.t === 'checkpoint') {
      const p = storePaths(DIR).checkpoint;
      try {
        const size = fs.stat(p).sizeBytes;
        patch(fs, p, d.at % size, Uint8Array.of(0xa5));
      } catch {
        // no checkpoint (the store was not closed)
      }
      continue;
    }
    if (d.t === 'garbage') {
      const last = segs[segs.length - 1]!.path;
      let x = d.seed || 1;
      appendBytes(fs, last, Uint8Array.from({ length: d.len }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) & 0xff));
      continue;
    }
    const seg = segs[d.file % segs.length]!;
    const size = fs.stat(seg.path).sizeBytes;
    if (size === 0) continue;
    if (d.t === 'flip' || d.t === 'footer') {
      // 'footer' aims at the last 200 bytes: usually the SIDX footer of a sealed segment
      const at = d.t === 'flip' ? d.at % size : size - 1 - (d.at % Math.min(200, size));
      const b = fs.dumpFile(seg.path)[at]!;
      patch(fs, seg.path, at, Uint8Array.of(b ^ (1 << (d.t === 'flip' ? d.bit : 3))));
      spans.push({ path: seg.path, start: at, end: at + 1 });
    } else if (d.t === 'truncate') {
      const at = d.at % size;
      truncateFile(fs, seg.path, at);
      spans.push({ path: seg.path, start: at, end: size });
    } else {
      const at = d.at % size;
      const len = Math.min(d.len, size - at);
      patch(fs, seg.path, at, new Uint8Array(len));
      spans.push({ path: seg.path, start: at, end: at + len });
    }
  }
  return spans;
}

const touches = (f: FrameInfo, spans: Span[]): boolean => spans.some((s) => s.path === f.path && s.start < f.offset + f.size && s.end > f.offset);

const tally = { runs: 0, damagedEvents: 0, lostReported: 0, cutEvents: 0, storesRepaired: 0 };

describe('repair of randomly damaged stores (property, fixed seed)', () => {
  afterAll(() => {
    console.log(`repair property: ${tally.runs} runs, ${tally.storesRepaired} stores needed repair, ${tally.damagedEvents} committed events damaged, ${tally.lostReported} lost events reported, ${tally.cutEvents} events cut with torn tails`);
  });

  it('verify is clean after repair, intact committed events survive byte for byte, only damaged events are reported lost, a second repair is a no-op', () => {
    fc.assert(
      fc.property(caseArb, (c: Case) => {
        tally.runs++;
        const fs = simStore(hasher, (s) => build(s, c.ops), { segmentMaxBytes: c.segmentMaxBytes, close: c.close, seed: c.ops.length + 1 });
        const frames = framesOf(fs);
        const before = committed(fs);
        // an undamaged store needs nothing, except that transactions left open are made inert (or cut at the tail)
        const pre = planRepair(fs, DIR, { hasher });
        const allowed = /^(insert_abort|cut_tail:.*:incomplete_batch|rebuild_footer:.*:segment_rewritten|remove_checkpoint)/;
        const unexpected = pre.actions.map((a) => `${a.action}:${a.segment}:${a.reason}`).filter((k) => !allowed.test(k));
        expect(unexpected, `an undamaged store needs nothing: ${JSON.stringify(c.ops)}`).toEqual([]);
        if (verifyStore(fs, hasher).problems.length === 0) expect(pre.actions, `a store verify finds nothing wrong with: ${JSON.stringify(c.ops)}`).toEqual([]);
        const spans = applyDamage(fs, c.damages);

        const { plan } = runRepair(fs, hasher);
        if (!plan.clean) tally.storesRepaired++;
        const ctx = `case ${JSON.stringify(c)}\nplan ${JSON.stringify(plan.actions)}`;
        expect(plan.unfixable, ctx).toEqual([]);
        const v = verifyStore(fs, hasher);
        expect(v.problems.filter((p) => p.severity === 'error'), `verify after repair: ${ctx}`).toEqual([]);
        expect(planRepair(fs, DIR, { hasher }).actions, `second repair: ${ctx}`).toEqual([]);

        // which committed events had a damaged frame (their own or one of their transaction's)
        const bySeq = new Map(frames.filter((f) => f.type === FrameType.EVENT).map((f) => [f.seq, f]));
        const damagedTxns = new Set(frames.filter((f) => f.txnId !== 0 && touches(f, spans)).map((f) => f.txnId));
        const cut = plan.segments.find((s) => s.cutAt !== null || s.remove);
        const cutSeqs = new Set(plan.affectedEvents.filter((e) => e.reason === 'torn_tail' || e.reason === 'incomplete_batch').map((e) => e.seq));
        const after = committed(fs);
        for (const [hash, e] of before) {
          const f = bySeq.get(e.seq)!;
          const damaged = touches(f, spans) || (f.txnId !== 0 && damagedTxns.has(f.txnId));
          if (damaged) {
            tally.damagedEvents++;
            continue;
          }
          if (!after.has(hash) && cut && f.segment === cut.name && (cut.remove || f.offset >= cut.cutAt!.offset)) {
            expect(cutSeqs.has(e.seq) || touches(f, spans), `event ${e.seq} cut with the tail must be listed: ${ctx}`).toBe(true);
            tally.cutEvents++;
            continue;
          }
          expect(after.get(hash), `intact committed event seq ${e.seq} (${f.segment}@${f.offset}) must survive: ${ctx}`).toEqual(e);
        }
        // only damaged events are reported lost, under their own entity when one is named
        for (const l of plan.lostEvents) {
          tally.lostReported++;
          const f = bySeq.get(l.seq);
          expect(f !== undefined && touches(f, spans), `lost event ${l.seq} was not damaged: ${ctx}`).toBe(true);
          if (l.entity !== null) expect(l.entity, `lost event ${l.seq} named under the wrong entity: ${ctx}`).toBe(f!.entity);
        }
        // the repaired store opens read-write and continues every chain
        const s = Store.openSync(DIR, { fs, lockEnv: simLockEnv(5) }, hasher);
        for (const e of ENTITIES) s.append({ entity: e, scope: 's' }, { after: true });
        s.close();
        expect(verifyStore(fs, hasher).problems.filter((p) => p.severity === 'error'), `verify after appends: ${ctx}`).toEqual([]);
      }),
      { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
    );
  });
});
