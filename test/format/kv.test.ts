import { describe, expect, test } from 'vitest';
import { createHasher } from '../../src/format/hash/blake3.js';
import { encodeEventFrame, eventFrameSize, ev, ZERO_HASH } from '../../src/format/event.js';
import { FRAME_PREFIX_BYTES } from '../../src/format/frame.js';
import {
  checkKvEvent,
  checkKvKey,
  checkKvVersion,
  encodeKvDeletePayload,
  encodeKvPutPayload,
  encodeKvValue,
  isKvKind,
  KV_ENTITY_PREFIX,
  KV_VERSION_BYTES,
  kvEntity,
  KvKind,
  kvVersionAt,
  MAX_KV_KEY_BYTES,
} from '../../src/format/kv.js';

const hasher = await createHasher();

/** Encodes one EVENT frame with the given entity/kind/payload; returns buf and body offset. */
function frame(entity: string, type: number, payload: Uint8Array, category = 0): { buf: Uint8Array; b: number } {
  const e = Buffer.from(entity, 'utf8');
  const buf = new Uint8Array(eventFrameSize(e.length, 0, payload.length));
  encodeEventFrame(
    buf,
    0,
    {
      id: new Uint8Array(16),
      seq: 0,
      clock: 0,
      wallMs: 0,
      txnId: 1,
      kindCategory: category,
      kindType: type,
      correlationId: null,
      causationId: null,
      prevHash: ZERO_HASH,
      entity: e,
      scope: new Uint8Array(0),
      payload,
    },
    hasher,
  );
  return { buf, b: FRAME_PREFIX_BYTES };
}

describe('kv payload encoding (docs/FORMAT.md "Key/value operations")', () => {
  test('a put payload is the version (u64 LE) followed by the value JSON text', () => {
    const p = encodeKvPutPayload(0x1_0000_0002, encodeKvValue({ a: [1, 'x'] }));
    expect(p.length, 'put payload = 8 version bytes + JSON text').toBe(KV_VERSION_BYTES + '{"a":[1,"x"]}'.length);
    expect([...p.subarray(0, 8)], 'version is little-endian u64').toEqual([2, 0, 0, 0, 1, 0, 0, 0]);
    expect(kvVersionAt(p, 0)).toBe(0x1_0000_0002);
    expect(Buffer.from(p.subarray(8)).toString('utf8')).toBe('{"a":[1,"x"]}');
  });

  test('a delete payload is the version alone', () => {
    const p = encodeKvDeletePayload(42);
    expect(p.length).toBe(KV_VERSION_BYTES);
    expect(kvVersionAt(p, 0)).toBe(42);
  });

  test('the key lives in the entity, after the "kv:" prefix, so each key has its own chain', () => {
    expect(kvEntity('user:1')).toBe(`${KV_ENTITY_PREFIX}user:1`);
    expect(kvEntity('')).toBe('kv:');
  });

  test('only kinds 0:1 (put) and 0:2 (delete) are key/value operations', () => {
    expect(isKvKind(0, KvKind.PUT)).toBe(true);
    expect(isKvKind(0, KvKind.DELETE)).toBe(true);
    expect(isKvKind(0, 3), '0:3 is reserved, not an operation').toBe(false);
    expect(isKvKind(1, KvKind.PUT), 'user category 1 is never KV').toBe(false);
  });
});

describe('kv validation', () => {
  test.each([
    ['plain key', 'user:1', null],
    ['empty key', '', null],
    ['unicode key', 'ключ-🔑', null],
    ['lone high surrogate', 'a\ud800b', 'lone surrogate'],
    ['lone low surrogate', '\udc00', 'lone surrogate'],
    ['longest key', 'k'.repeat(MAX_KV_KEY_BYTES), null],
    ['key one byte too long', 'k'.repeat(MAX_KV_KEY_BYTES + 1), 'over'],
  ])('checkKvKey: %s', (_name, key, problem) => {
    const got = checkKvKey(key);
    if (problem === null) expect(got, `key ${JSON.stringify(key).slice(0, 40)} should be accepted`).toBeNull();
    else expect(got).toContain(problem);
  });

  test.each([
    [1, true],
    [Number.MAX_SAFE_INTEGER, true],
    [0, false],
    [-1, false],
    [1.5, false],
    [Number.MAX_SAFE_INTEGER + 1, false],
  ])('checkKvVersion(%s) accepts: %s', (v, ok) => {
    expect(checkKvVersion(v) === null).toBe(ok);
  });

  test('values JSON cannot represent are refused with a reason', () => {
    expect(() => encodeKvValue(undefined)).toThrow(/JSON/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeKvValue(cyclic)).toThrow();
    expect(() => encodeKvValue(10n)).toThrow();
  });
});

describe('checkKvEvent: what replay accepts in place', () => {
  test('well-formed put and delete events pass', () => {
    const put = frame('kv:a', KvKind.PUT, encodeKvPutPayload(7, encodeKvValue(1)));
    expect(checkKvEvent(put.buf, put.b, KvKind.PUT)).toBeNull();
    expect(ev.entity(put.buf, put.b)).toBe('kv:a');
    const del = frame('kv:a', KvKind.DELETE, encodeKvDeletePayload(8));
    expect(checkKvEvent(del.buf, del.b, KvKind.DELETE)).toBeNull();
  });

  test.each([
    ['entity without the kv: prefix', 'user:a', KvKind.PUT, encodeKvPutPayload(1, encodeKvValue(1)), 'entity'],
    ['put without a value', 'kv:a', KvKind.PUT, encodeKvDeletePayload(1), 'payload'],
    ['delete with a value', 'kv:a', KvKind.DELETE, encodeKvPutPayload(1, encodeKvValue(1)), 'payload'],
    ['payload shorter than a version', 'kv:a', KvKind.DELETE, new Uint8Array(4), 'payload'],
    ['version 0', 'kv:a', KvKind.DELETE, encodeKvDeletePayload(0), 'version'],
  ])('rejects %s', (_name, entity, type, payload, word) => {
    const f = frame(entity, type, payload);
    expect(checkKvEvent(f.buf, f.b, type)).toContain(word);
  });
});
