/** index.ckpt codec (format/checkpoint.ts): round trip and detection of any changed byte. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../../src/format/checkpoint.js';
import { FC_RUNS, hash32, u32, u53 } from './arbitraries.js';

const seqOrNone = fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER - 1 });

const checkpointArb: fc.Arbitrary<Checkpoint> = fc.record({
  nextSeq: u53,
  nextTxnId: u53,
  committedEvents: u53,
  committedBatches: u53,
  maxKvVersion: u53,
  segments: fc.array(
    fc.record({
      id: u53,
      fileSizeBytes: u53,
      frameEnd: u53,
      headerFirstSeq: u53,
      eventFrames: u53,
      firstSeq: seqOrNone,
      lastSeq: seqOrNone,
      tailCrc: u32,
      footer: fc.constantFrom(0, 1, 2),
    }),
    { maxLength: 5 },
  ),
  openTxns: fc.array(fc.record({ txnId: u53, segIndex: u32, offset: u53, items: u32 }), { maxLength: 3 }),
  heads: fc.array(fc.record({ entity: fc.uint8Array({ minLength: 1, maxLength: 30 }), clock: u53, wallMs: u53, hash: hash32 }), { maxLength: 6 }),
});

describe('index.ckpt codec', () => {
  it('encode then decode gives back the same checkpoint', () => {
    fc.assert(
      fc.property(checkpointArb, (c) => {
        const d = decodeCheckpoint(encodeCheckpoint(c));
        expect(d.ok).toBe(true);
        if (d.ok) expect(d.checkpoint).toEqual(c);
      }),
      FC_RUNS,
    );
  });

  it('any single changed byte, or a cut at any length, is refused', () => {
    fc.assert(
      fc.property(checkpointArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (c, at, flip) => {
        const b = encodeCheckpoint(c);
        const i = at % b.length;
        const bad = b.slice();
        bad[i]! ^= flip;
        expect(decodeCheckpoint(bad).ok, `a change at byte ${i} of ${b.length} was not detected`).toBe(false);
        expect(decodeCheckpoint(b.subarray(0, i)).ok, `a checkpoint cut to ${i} bytes was accepted`).toBe(false);
      }),
      { ...FC_RUNS, numRuns: 2000 },
    );
  });
});
