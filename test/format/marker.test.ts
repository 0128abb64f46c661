import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFrame, FRAME_PREFIX_BYTES, FrameStatus, FrameType, type FrameSlot } from '../../src/format/frame.js';
import {
  encodeAbort,
  encodeBegin,
  encodeCommit,
  MARKER_BODY_BYTES,
  MARKER_FRAME_BYTES,
  markerCount,
  markerTxnId,
} from '../../src/format/marker.js';
import { FC_RUNS, u32, u53 } from './arbitraries.js';

const slot = (): FrameSlot => ({ type: 0, length: 0, sizeBytes: 0 });

describe('marker codecs (BEGIN, COMMIT, ABORT)', () => {
  it.each([
    ['BEGIN', encodeBegin, FrameType.BEGIN, MARKER_BODY_BYTES.BEGIN],
    ['COMMIT', encodeCommit, FrameType.COMMIT, MARKER_BODY_BYTES.COMMIT],
  ] as const)('%s round-trips any transaction id and item count', (_name, encode, type, bodyBytes) => {
    fc.assert(
      fc.property(u53, u32, fc.nat(40), (txn, count, at) => {
        const buf = new Uint8Array(at + MARKER_FRAME_BYTES + 5);
        expect(encode(buf, at, txn, count)).toBe(MARKER_FRAME_BYTES);
        const s = slot();
        expect(checkFrame(buf, at, at + MARKER_FRAME_BYTES, s)).toBe(FrameStatus.Valid);
        expect(s).toEqual({ type, length: 1 + bodyBytes, sizeBytes: FRAME_PREFIX_BYTES + bodyBytes });
        expect(markerTxnId(buf, at + FRAME_PREFIX_BYTES)).toBe(txn);
        expect(markerCount(buf, at + FRAME_PREFIX_BYTES)).toBe(count);
      }),
      FC_RUNS,
    );
  });

  it('ABORT round-trips any transaction id in a 17-byte frame', () => {
    fc.assert(
      fc.property(u53, (txn) => {
        const buf = new Uint8Array(FRAME_PREFIX_BYTES + MARKER_BODY_BYTES.ABORT);
        expect(encodeAbort(buf, 0, txn)).toBe(buf.length);
        const s = slot();
        expect(checkFrame(buf, 0, buf.length, s)).toBe(FrameStatus.Valid);
        expect(s.type).toBe(FrameType.ABORT);
        expect(markerTxnId(buf, FRAME_PREFIX_BYTES)).toBe(txn);
      }),
      FC_RUNS,
    );
  });
});
