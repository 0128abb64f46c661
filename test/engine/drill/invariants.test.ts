/**
 * The invariant checker judges what a recovered store shows against the acknowledged
 * state. These cases feed it hand-made visible sets: each broken property must be
 * flagged under its own invariant, and a sound state must pass (src/tools/drill/invariants.ts).
 */
import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '../../../src/format/event.js';
import { AckRecorder } from '../../../src/tools/drill/ack-recorder.js';
import { checkVisible, type InvariantId } from '../../../src/tools/drill/invariants.js';
import { parsePayloadTag, payloadFor } from '../../../src/tools/drill/workload.js';
import { Prng } from '../../../src/sim/sim-fs.js';
import fc from 'fast-check';

const rng = new Prng(1);
const item = (step: number, i: number) => ({ entity: 'acct:1', scope: 's', payload: payloadFor(step, i, 5, rng) });

function event(seq: number, spec: ReturnType<typeof item>, hash = `h${seq}`): DecodedEvent {
  return { eventId: `id${seq}`, seq, clock: seq, wallMs: 0, txnId: 0, kind: { category: 1, type: 0 }, correlationId: null, causationId: null, prevHash: '', eventHash: hash, entity: spec.entity, scope: spec.scope, payload: spec.payload };
}

/** Steps 1 (append, seq 0), 2 (batch of 3, seqs 1-3), 3 (append, seq 4); durability as given. */
function recorder(durable: boolean[]): { rec: AckRecorder; events: DecodedEvent[] } {
  const rec = new AckRecorder();
  const events: DecodedEvent[] = [];
  let seq = 0;
  [[1, 1], [2, 3], [3, 1]].forEach(([step, n], u) => {
    const items = Array.from({ length: n! }, (_, i) => item(step!, i));
    const unit = rec.begin(step!, n! > 1, items);
    const receipts = items.map((it) => {
      const e = event(seq++, it);
      events.push(e);
      return { seq: e.seq, eventHash: e.eventHash, eventId: e.eventId, durable: durable[u]! };
    });
    rec.ack(unit, receipts);
  });
  return { rec, events };
}

function flagged(visible: DecodedEvent[], rec: AckRecorder): InvariantId[] {
  return [...new Set(checkVisible(visible, rec).violations.map((v) => v.invariant))].sort();
}

describe('checkVisible', () => {
  it('passes a state that shows exactly what was acknowledged', () => {
    const { rec, events } = recorder([true, true, true]);
    expect(flagged(events, rec)).toEqual([]);
  });

  it('passes losing a non-durable suffix, whole', () => {
    const { rec, events } = recorder([true, false, false]);
    expect(flagged(events.slice(0, 1), rec)).toEqual([]);
    expect(flagged(events.slice(0, 4), rec)).toEqual([]);
  });

  const cases: { name: string; durable: boolean[]; visible: (e: DecodedEvent[]) => DecodedEvent[]; expect: InvariantId[] }[] = [
    { name: 'a durable append lost', durable: [true, true, true], visible: (e) => e.slice(0, 4), expect: ['durable-survives'] },
    { name: 'part of a batch visible', durable: [true, false, false], visible: (e) => e.slice(0, 3), expect: ['batch-atomic'] },
    { name: 'a hole: an earlier acknowledged unit gone, a later one there', durable: [false, false, false], visible: (e) => [e[0]!, e[4]!], expect: ['durable-survives'] },
    { name: 'an acknowledged event with other bytes', durable: [true, true, true], visible: (e) => [e[0]!, e[1]!, e[2]!, e[3]!, { ...e[4]!, eventHash: 'other' }], expect: ['durable-survives'] },
    { name: 'an event never written', durable: [true, true, true], visible: (e) => [...e, event(5, { entity: 'x', scope: 's', payload: new TextEncoder().encode('{"other":1}') })], expect: ['no-phantom'] },
    { name: 'an event shown twice', durable: [true, true, true], visible: (e) => [...e, e[4]!], expect: ['no-phantom'] },
  ];
  for (const c of cases) {
    it(`flags ${c.name} as ${c.expect.join(', ')}`, () => {
      const { rec, events } = recorder(c.durable);
      expect(flagged(c.visible(events), rec)).toEqual(c.expect);
    });
  }

  it('an in-flight batch may appear whole or not at all, never in part', () => {
    const { rec, events } = recorder([true, true, true]);
    const items = [item(9, 0), item(9, 1)];
    rec.begin(9, true, items);
    const extra = items.map((it, i) => event(5 + i, it));
    expect(flagged(events, rec)).toEqual([]);
    expect(flagged([...events, ...extra], rec)).toEqual([]);
    expect(flagged([...events, extra[0]!], rec)).toEqual(['batch-atomic']);
  });

  it('a failed (rolled back) append must never appear', () => {
    const { rec, events } = recorder([true, true, true]);
    const it9 = item(9, 0);
    rec.fail(rec.begin(9, false, [it9]), false);
    expect(flagged([...events, event(5, it9)], rec)).toEqual(['failed-no-trace']);
  });

  it('after a process death without power loss, every acknowledged unit must survive', () => {
    const { rec, events } = recorder([false, false, false]);
    expect(checkVisible(events.slice(0, 4), rec, { processOnly: true }).violations.map((v) => v.invariant)).toContain('durable-survives');
  });
});

describe('payload tags', () => {
  it('round-trip any step and item, and reject anything else', () => {
    fc.assert(
      fc.property(fc.nat(999_999_999), fc.nat(999_999_999), fc.nat(50), (step, i, pad) => {
        expect(parsePayloadTag(payloadFor(step, i, pad, new Prng(step)))).toEqual({ step, item: i });
      }),
      { seed: 7, numRuns: 200 },
    );
    for (const text of ['', '{}', '{"drill":[1]}', '{"drill":[a,1]}', '{"drill":[1,2', 'drill', '{"drill":[1,2]}']) {
      const r = parsePayloadTag(new TextEncoder().encode(text));
      if (text === '{"drill":[1,2]}') expect(r).toEqual({ step: 1, item: 2 });
      else expect(r, text).toBeNull();
    }
  });
});
