import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalJson } from '../../src/format/canonical-json.js';
import { roundTripsExactly } from '../support/canonical-reference.js';



const check = (s: string | Uint8Array): boolean => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  // at an offset inside a larger buffer, as payloads sit inside frames
  const framed = new Uint8Array(b.length + 6).fill(0x7b);
  framed.set(b, 3);
  return isCanonicalJson(framed, 3, 3 + b.length);
};

const FC = { seed: 0xca90, numRuns: 2000 };

describe('isCanonicalJson is sound: true only when JSON.stringify(JSON.parse(t)) === t', () => {
  it('on the output of JSON.stringify for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const bytes = Buffer.from(JSON.stringify(v), 'utf8');
        if (check(bytes)) expect(roundTripsExactly(bytes), `src/format/canonical-json.ts accepted ${bytes.toString()}`).toBe(true);
      }),
      FC,
    );
  });

  it('on arbitrary text and bytes, including mutated JSON', () => {
    const mutated = fc.tuple(fc.jsonValue(), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([v, at, byte]) => {
      const b = Buffer.from(JSON.stringify(v), 'utf8');
      if (b.length > 0) b[at % b.length] = byte;
      return new Uint8Array(b);
    });
    const texts = fc.oneof(
      fc.string({ unit: 'binary' }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
      fc.uint8Array({ maxLength: 40 }),
      mutated,
      fc.constantFrom(...['1.0', '1e3', '-0', '0.1', '1E5', '12345678901234567890', '{"a":1,"a":2}', '{"1":1,"a":2}', '{"b":1,"0":2}', '"\\u0041"', '"\\/"', '"\\u001F"', '"\\u001f"', '"\\u0008"', ' 1', '[1 ]', '\ufeff{}', '"\u2028"', '{"__proto__":1}'].map((s) => new Uint8Array(Buffer.from(s, 'utf8')))),
    );
    fc.assert(
      fc.property(texts, (bytes) => {
        if (check(bytes)) expect(roundTripsExactly(bytes), `src/format/canonical-json.ts accepted ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}`).toBe(true);
      }),
      { ...FC, numRuns: 800 },
    );
  });
});

describe('isCanonicalJson accepts what JSON.stringify writes for ordinary payloads', () => {
  it.each([
    '{"id":0,"amount":96027,"note":"xxxxxxxx","tag":"t80"}',
    '{"a":[1,2,{"b":null}],"c":true,"d":false,"e":-12.5,"f":1e+21,"g":""}',
    '"plain string"',
    '"quote \\" backslash \\\\ newline \\n tab \\t ctl \\u001f"',
    '{"name":"Zoë","emoji":"😀","cjk":"漢字","sep":"\u2028"}',
    '[]',
    '{}',
    '[[[[[]]]]]',
    '0',
    '-1',
    '123456789012345',
    '0.1',
    '5e-324',
    'null',
    '{"key":{"nested":{"deeper":[1,"two",3.5]}}}',
  ])('%s', (s) => {
    expect(JSON.stringify(JSON.parse(s)), 'test vector must itself be canonical').toBe(s);
    expect(check(s), 'src/format/canonical-json.ts rejected canonical JSON: the fast path would not be taken').toBe(true);
  });

  it('most JSON.stringify outputs of random objects with non-numeric keys pass (the fast path is the common one)', () => {
    const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !/^\d+$/.test(k));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 5 })),
    })).v;
    let passed = 0;
    const runs = 500;
    fc.assert(
      fc.property(value, (v) => {
        if (check(JSON.stringify(v))) passed++;
      }),
      { seed: 0x51, numRuns: runs },
    );
    expect(passed, 'canonical JSON should nearly always take the fast path').toBe(runs);
  });
});
