import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { encodeEventFrame, eventFrameSize } from '../../src/format/event.js';
import { checkFrame, FrameStatus, type FrameSlot } from '../../src/format/frame.js';
import { encodeAbort, encodeBegin, encodeCommit, MARKER_FRAME_BYTES } from '../../src/format/marker.js';
import { eventFields, FC_RUNS } from './arbitraries.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

const te = new TextEncoder();
const slot: FrameSlot = { type: 0, length: 0, sizeBytes: 0 };

function eventFrame(payload: string, withIds: boolean): Uint8Array {
  const entity = te.encode('order:42');
  const scope = te.encode('tenant:acme');
  const p = te.encode(payload);
  const buf = new Uint8Array(eventFrameSize(entity.length, scope.length, p.length));
  encodeEventFrame(
    buf,
    0,
    {
      id: Uint8Array.from({ length: 16 }, (_, i) => i * 7),
      seq: 1234,
      clock: 17,
      wallMs: 1_700_000_000_123,
      txnId: withIds ? 55 : 0,
      kindCategory: 3,
      kindType: 4,
      correlationId: withIds ? new Uint8Array(16).fill(9) : null,
      causationId: withIds ? new Uint8Array(16).fill(8) : null,
      prevHash: new Uint8Array(32).fill(0x5a),
      entity,
      scope,
      payload: p,
    },
    hasher,
  );
  return buf;
}

function marker(encode: (b: Uint8Array) => number, size = MARKER_FRAME_BYTES): Uint8Array {
  const b = new Uint8Array(size);
  encode(b);
  return b;
}

/**
 * Bits of `frame` whose flip checkFrame still calls Valid. The frame is checked alone
 * and followed by a second valid frame, so a flipped length that points further is not
 * simply "past the end".
 */
function undetectedFlips(frame: Uint8Array, follower: Uint8Array): number[] {
  const missed: number[] = [];
  const alone = frame.slice();
  const joined = new Uint8Array(frame.length + follower.length);
  for (let bit = 0; bit < frame.length * 8; bit++) {
    const i = bit >> 3;
    const mask = 1 << (bit & 7);
    alone.set(frame);
    alone[i]! ^= mask;
    joined.set(alone);
    joined.set(follower, frame.length);
    if (checkFrame(alone, 0, alone.length, slot) === FrameStatus.Valid || checkFrame(joined, 0, joined.length, slot) === FrameStatus.Valid) missed.push(bit);
  }
  return missed;
}

describe('every single-bit flip in a frame is detected', () => {
  const follower = (): Uint8Array => marker((b) => encodeCommit(b, 0, 1, 1));
  const frames: [string, () => Uint8Array][] = [
    ['an EVENT with a JSON payload', () => eventFrame('{"total":42,"items":["a","b"]}', false)],
    ['an EVENT of a batch with correlation and causation', () => eventFrame('{}', true)],
    ['an EVENT with an empty payload', () => eventFrame('', false)],
    ['a BEGIN', () => marker((b) => encodeBegin(b, 0, 77, 3))],
    ['a COMMIT', () => marker((b) => encodeCommit(b, 0, 77, 3))],
    ['an ABORT', () => marker((b) => encodeAbort(b, 0, 77), MARKER_FRAME_BYTES - 4)],
  ];
  it.each(frames)('exhaustively, for %s', (_name, make) => {
    const frame = make();
    expect(checkFrame(frame, 0, frame.length, slot)).toBe(FrameStatus.Valid);
    expect(undetectedFlips(frame, follower()), 'bit indexes whose flip was accepted: see checkFrame in src/format/frame.ts').toEqual([]);
  });

  it('by property, over random events and random bits', () => {
    fc.assert(
      fc.property(eventFields, fc.nat(), (e, r) => {
        const frame = new Uint8Array(eventFrameSize(e.entity.length, e.scope.length, e.payload.length));
        encodeEventFrame(frame, 0, e, hasher);
        const bit = r % (frame.length * 8);
        frame[bit >> 3]! ^= 1 << (bit & 7);
        expect(checkFrame(frame, 0, frame.length, slot), `flip of bit ${bit} accepted`).not.toBe(FrameStatus.Valid);
      }),
      { ...FC_RUNS, numRuns: 1000 },
    );
  });
});
