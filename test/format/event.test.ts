import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { toHex } from '../../src/format/bytes.js';
import {
  checkEventLayout,
  decodeEvent,
  encodeEventFrame,
  EVENT_FIXED_BYTES,
  eventFrameSize,
  formatKind,
  makeUuidV7,
  parseKind,
  uuidFromString,
  uuidToString,
} from '../../src/format/event.js';
import { checkFrame, FRAME_PREFIX_BYTES, FrameStatus, FrameType, type FrameSlot } from '../../src/format/frame.js';
import { eventFields, FC_RUNS, id16, u16 } from './arbitraries.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

const utf8 = new TextDecoder();

describe('EVENT frame codec', () => {
  it('round-trips every field through encodeEventFrame and decodeEvent', () => {
    fc.assert(
      fc.property(eventFields, fc.nat(50), (e, at) => {
        const size = eventFrameSize(e.entity.length, e.scope.length, e.payload.length);
        const buf = new Uint8Array(at + size + 3);
        expect(encodeEventFrame(buf, at, e, hasher)).toBe(size);
        const s: FrameSlot = { type: 0, length: 0, sizeBytes: 0 };
        expect(checkFrame(buf, at, at + size, s)).toBe(FrameStatus.Valid);
        expect(s.type).toBe(FrameType.EVENT);
        const b = at + FRAME_PREFIX_BYTES;
        expect(checkEventLayout(buf, b, size - FRAME_PREFIX_BYTES)).toBeNull();
        const d = decodeEvent(buf, b);
        expect(d).toMatchObject({
          eventId: uuidToString(e.id, 0),
          seq: e.seq,
          clock: e.clock,
          wallMs: e.wallMs,
          txnId: e.txnId,
          kind: { category: e.kindCategory, type: e.kindType },
          correlationId: e.correlationId ? uuidToString(e.correlationId, 0) : null,
          causationId: e.causationId ? uuidToString(e.causationId, 0) : null,
          prevHash: toHex(e.prevHash),
          entity: utf8.decode(e.entity),
          scope: utf8.decode(e.scope),
        });
        expect([...d.payload]).toEqual([...e.payload]);
      }),
      FC_RUNS,
    );
  });

  it('event_hash is BLAKE3 of the body minus its last 32 bytes, stored in those 32 bytes', () => {
    fc.assert(
      fc.property(eventFields, (e) => {
        const buf = new Uint8Array(eventFrameSize(e.entity.length, e.scope.length, e.payload.length));
        encodeEventFrame(buf, 0, e, hasher);
        const body = buf.subarray(FRAME_PREFIX_BYTES);
        const want = toHex(hasher.hash(body.subarray(0, body.length - 32)));
        expect(decodeEvent(buf, FRAME_PREFIX_BYTES).eventHash).toBe(want);
        expect(toHex(body.subarray(body.length - 32))).toBe(want);
      }),
      FC_RUNS,
    );
  });

  it('checkEventLayout names the problem when declared lengths do not add up', () => {
    const body = new Uint8Array(EVENT_FIXED_BYTES + 5);
    expect(checkEventLayout(body, 0, body.length)).toMatch(/entity length 0/);
    body[116] = 5;
    expect(checkEventLayout(body, 0, body.length)).toBeNull();
    body[120] = 1;
    expect(checkEventLayout(body, 0, body.length)).toMatch(/do not add up/);
    expect(checkEventLayout(body, 0, EVENT_FIXED_BYTES - 1)).toMatch(/shorter/);
  });
});

describe('ids and kinds', () => {
  it('makeUuidV7 writes the ms timestamp big-endian, version 7 and variant 10', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.uint8Array({ minLength: 10, maxLength: 10 }), (ms, rnd) => {
        const id = new Uint8Array(16);
        makeUuidV7(id, 0, ms, rnd, 0);
        let ts = 0;
        for (let i = 0; i < 6; i++) ts = ts * 256 + id[i]!;
        expect(ts).toBe(ms);
        expect(id[6]! >> 4).toBe(7);
        expect(id[8]! >> 6).toBe(0b10);
      }),
      FC_RUNS,
    );
  });

  it('uuid strings round-trip, and non-UUIDs are refused', () => {
    fc.assert(
      fc.property(id16, (id) => {
        const s = uuidToString(id, 0);
        expect(s).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect([...uuidFromString(s)!]).toEqual([...id]);
        expect([...uuidFromString(s.toUpperCase())!]).toEqual([...id]);
      }),
      FC_RUNS,
    );
    for (const bad of ['', 'xyz', '0123', `${'0'.repeat(31)}g`]) expect(uuidFromString(bad)).toBeNull();
  });

  it('kinds round-trip as "category:type" and out-of-range kinds are refused', () => {
    fc.assert(
      fc.property(u16, u16, (c, t) => {
        expect(parseKind(formatKind(c, t))).toEqual({ category: c, type: t });
      }),
      FC_RUNS,
    );
    for (const bad of ['1', '1:', ':1', '65536:0', '1:65536', 'a:b', '1:2:3']) expect(parseKind(bad), bad).toBeNull();
  });
});
