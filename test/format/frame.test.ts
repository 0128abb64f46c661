import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { writeU32 } from '../../src/format/bytes.js';
import { encodeEventFrame, eventFrameSize, EV } from '../../src/format/event.js';
import {
  checkFrame,
  encodeFrame,
  FRAME_PREFIX_BYTES,
  FrameStatus,
  FrameType,
  type FrameSlot,
  MAX_FRAME_LENGTH,
  sealFrame,
} from '../../src/format/frame.js';
import { encodeBegin, MARKER_FRAME_BYTES } from '../../src/format/marker.js';
import { eventFields, FC_RUNS, guarded } from './arbitraries.js';

const STATUS = ['Valid', 'End', 'Truncated', 'Zero', 'BadFraming', 'CrcMismatch'];
const slot = (): FrameSlot => ({ type: 0, length: 0, sizeBytes: 0 });
const status = (buf: Uint8Array, off = 0, end = buf.length): string => STATUS[checkFrame(guarded(buf, off, end), off, end, slot())]!;

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

/** A small real EVENT frame. */
function eventFrame(payloadText = '{"n":1}'): Uint8Array {
  const te = new TextEncoder();
  const entity = te.encode('order:1');
  const scope = te.encode('tenant:acme');
  const payload = te.encode(payloadText);
  const buf = new Uint8Array(eventFrameSize(entity.length, scope.length, payload.length));
  encodeEventFrame(
    buf,
    0,
    { id: new Uint8Array(16).fill(1), seq: 5, clock: 2, wallMs: 1_700_000_000_000, txnId: 0, kindCategory: 1, kindType: 1, correlationId: null, causationId: null, prevHash: new Uint8Array(32), entity, scope, payload },
    hasher,
  );
  return buf;
}

function beginFrame(): Uint8Array {
  const buf = new Uint8Array(MARKER_FRAME_BYTES);
  encodeBegin(buf, 0, 9, 3);
  return buf;
}

describe('frame layout', () => {
  it('encodeFrame writes length = 1 + body, CRC-32C over type and body, then the type byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), (body) => {
        const f = encodeFrame(FrameType.BEGIN, body);
        expect(f.length).toBe(FRAME_PREFIX_BYTES + 12);
        expect(f[0]! | (f[1]! << 8)).toBe(13);
        expect(f[8]).toBe(FrameType.BEGIN);
        expect(checkFrame(f, 0, f.length, slot())).toBe(FrameStatus.Valid);
      }),
      FC_RUNS,
    );
  });

  it('sealFrame at an offset leaves the bytes around the frame alone', () => {
    const buf = new Uint8Array(100).fill(0xaa);
    buf.fill(0, 20 + FRAME_PREFIX_BYTES, 20 + FRAME_PREFIX_BYTES + 12);
    expect(sealFrame(buf, 20, FrameType.COMMIT, 12)).toBe(21);
    expect(buf.subarray(0, 20).every((b) => b === 0xaa) && buf.subarray(41).every((b) => b === 0xaa)).toBe(true);
    expect(status(buf, 20, 41)).toBe('Valid');
  });
});

describe('checkFrame tells valid, end, torn, zero, broken and corrupt frames apart', () => {
  it('reports End with no bytes left', () => {
    expect(status(new Uint8Array(10), 10, 10)).toBe('End');
  });

  it('reports every strict prefix of a real frame as Truncated (a torn write)', () => {
    for (const frame of [eventFrame(), beginFrame()]) {
      for (let n = 1; n < frame.length; n++) {
        expect(status(frame.subarray(0, n)), `prefix of ${n} of ${frame.length} bytes`).toBe('Truncated');
      }
    }
  });

  it.each([1, 8, 9, 64])('reports %i zero bytes as Zero (unwritten space), never Valid', (n) => {
    expect(status(new Uint8Array(n))).toBe('Zero');
  });

  const absurd: [string, (f: Uint8Array) => void, string][] = [
    ['length 0xFFFFFFF0', (f) => writeU32(f, 0, 0xfffffff0), 'BadFraming'],
    ['length 0xFFFFFFFF', (f) => writeU32(f, 0, 0xffffffff), 'BadFraming'],
    ['length just over MAX_FRAME_LENGTH', (f) => writeU32(f, 0, MAX_FRAME_LENGTH + 1), 'BadFraming'],
    ['length MAX_FRAME_LENGTH with a few bytes there', (f) => writeU32(f, 0, MAX_FRAME_LENGTH), 'Truncated'],
    ['length 0 with a non-zero type', (f) => writeU32(f, 0, 0), 'BadFraming'],
    ['length below the type minimum', (f) => writeU32(f, 0, 10), 'BadFraming'],
    ['unknown type 0x7f', (f) => (f[8] = 0x7f), 'BadFraming'],
    ['type 0', (f) => (f[8] = 0), 'BadFraming'],
  ];
  it.each(absurd)('an EVENT frame with %s is %s, and nothing past the buffer is read', (_what, damage, want) => {
    const f = eventFrame();
    damage(f);
    expect(status(f)).toBe(want);
  });

  it('a marker whose length is not exactly 13 is BadFraming', () => {
    const f = new Uint8Array(MARKER_FRAME_BYTES + 1);
    f.set(beginFrame());
    writeU32(f, 0, 14);
    expect(status(f)).toBe('BadFraming');
  });

  it("an EVENT whose declared entity/scope/payload lengths do not add up is BadFraming even with a matching CRC", () => {
    const f = eventFrame();
    f[FRAME_PREFIX_BYTES + EV.PAYLOAD_LEN] = f[FRAME_PREFIX_BYTES + EV.PAYLOAD_LEN]! + 1;
    sealFrame(f, 0, FrameType.EVENT, f.length - FRAME_PREFIX_BYTES);
    expect(status(f)).toBe('BadFraming');
  });

  it('a plausible frame whose bytes changed is CrcMismatch', () => {
    const f = eventFrame();
    f[f.length - 40]! ^= 0x10;
    expect(status(f)).toBe('CrcMismatch');
  });

  it('fills the slot with type, length and total size of a valid frame', () => {
    const f = eventFrame('{}');
    const s = slot();
    expect(checkFrame(f, 0, f.length, s)).toBe(FrameStatus.Valid);
    expect(s).toEqual({ type: FrameType.EVENT, length: f.length - 8, sizeBytes: f.length });
  });

  it('never reads outside [off, end) whatever the bytes, and never says Valid for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(20), (bytes, pad) => {
        const buf = new Uint8Array(pad + bytes.length + 7).fill(0xcc);
        buf.set(bytes, pad);
        const st = checkFrame(guarded(buf, pad, pad + bytes.length), pad, pad + bytes.length, slot());
        expect(st).not.toBe(FrameStatus.Valid);
      }),
      { ...FC_RUNS, numRuns: 1000 },
    );
  });

  it('never reads outside [off, end) for real frames with a random length field', () => {
    fc.assert(
      fc.property(eventFields, fc.integer({ min: 0, max: 0xffffffff }), fc.nat(), (e, length, cut) => {
        const buf = new Uint8Array(eventFrameSize(e.entity.length, e.scope.length, e.payload.length));
        encodeEventFrame(buf, 0, e, hasher);
        writeU32(buf, 0, length);
        const end = cut % (buf.length + 1);
        checkFrame(guarded(buf, 0, end), 0, end, slot());
      }),
      FC_RUNS,
    );
  });
});
