import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalJson } from '../../src/format/canonical-json.js';
import { roundTripsExactly } from '../support/canonical-reference.js';

/**
 * canonical-json.ts skips long string runs 4 bytes at a time with bit tests, and keeps
 * its nesting and key state in reused typed arrays. These cases aim at both: a byte
 * that must stop the skip (quote, backslash, control, non-ASCII, bad UTF-8) at every
 * position modulo 4 in long strings, and repeated calls on nested values (state from
 * one call must not leak into the next).
 */



/** At every offset modulo 4 inside a larger buffer, as payloads sit inside frames. */
function checkAt(bytes: Uint8Array, at: number): boolean {
  const framed = new Uint8Array(bytes.length + 8).fill(0x61);
  framed.set(bytes, at);
  return isCanonicalJson(framed, at, at + bytes.length);
}

const STOPPERS = ['"', '\\', '\\"', '\\n', '\\u0001', '\n', '\u0001', '\u007f', 'é', '😀', '\u2028'];

describe('isCanonicalJson on long strings and repeated nested values', () => {
  it('agrees with the JSON.stringify round trip for a special byte at any position of a long string', () => {
    fc.assert(
      fc.property(fc.nat(40), fc.nat(40), fc.constantFrom(...STOPPERS), fc.integer({ min: 0, max: 3 }), fc.boolean(), (before, after, stop, at, asKey) => {
        const s = `${'x'.repeat(before)}${stop}${'y'.repeat(after)}`;
        const text = asKey ? `{"${s}":1}` : `["${s}"]`;
        const bytes = Buffer.from(text, 'utf8');
        const accepted = checkAt(bytes, at);
        const exact = roundTripsExactly(bytes);
        expect(accepted && !exact, `src/format/canonical-json.ts accepted ${JSON.stringify(text)}`).toBe(false);
        // what JSON.stringify writes for a string is accepted whatever it holds
        const canonical = Buffer.from(JSON.stringify(asKey ? { [s]: 1 } : [s]), 'utf8');
        expect(checkAt(canonical, at), `src/format/canonical-json.ts rejected ${canonical.toString()}`).toBe(true);
      }),
      { seed: 0xc0de4, numRuns: 1500 },
    );
  });

  it('rejects a bad UTF-8 byte anywhere in a long string', () => {
    for (let pos = 0; pos < 24; pos++) {
      for (const bad of [0x80, 0xc0, 0xff, 0xed]) {
        const bytes = Buffer.from(`"${'z'.repeat(24)}"`, 'utf8');
        bytes[1 + pos] = bad;
        for (let at = 0; at < 4; at++) expect(checkAt(bytes, at), `src/format/canonical-json.ts: byte 0x${bad.toString(16)} at ${pos}`).toBe(false);
      }
    }
  });

  it('gives the same answer for a value whatever was checked before it (no state leaks between calls)', () => {
    const values = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(fc.array(fc.tuple(values, fc.boolean()), { minLength: 2, maxLength: 6 }), (items) => {
        const texts = items.map(([v, dup]) => {
          const t = JSON.stringify(v);
          // sometimes make a repeated key (must be rejected) deep inside
          return dup && t.startsWith('{"') ? `{"k":1,"k":${t}}` : t;
        });
        const alone = texts.map((t) => checkAt(Buffer.from(t, 'utf8'), 0));
        const inSequence = texts.map((t) => checkAt(Buffer.from(t, 'utf8'), 0));
        const reversed = [...texts].reverse().map((t) => checkAt(Buffer.from(t, 'utf8'), 0)).reverse();
        expect(inSequence, 'src/format/canonical-json.ts keeps state between calls').toEqual(alone);
        expect(reversed, 'src/format/canonical-json.ts keeps state between calls').toEqual(alone);
        texts.forEach((t, i) => {
          if (alone[i]) expect(roundTripsExactly(Buffer.from(t, 'utf8')), `accepted ${t}`).toBe(true);
        });
      }),
      { seed: 0xc0de5, numRuns: 500 },
    );
  });
});
