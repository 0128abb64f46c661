import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { decodeEvent, encodeEventFrame, eventFrameSize, type EventFields } from '../../src/format/event.js';
import { eventRecord } from '../../src/ui/render/event-json.js';
import { writeEventJson } from '../../src/ui/render/event-jsonl.js';
import { captureSink } from '../support/capture-sink.js';

/**
 * The JSON-lines writer stores bytes 2 and 4 at a time (word-sized constant fragments,
 * hex of byte pairs, digit pairs, strings checked and copied a word at a time), so
 * these cases aim at the edges of that: strings with a byte that needs escaping at
 * every position modulo 4, numbers at every digit-count boundary, frames at odd
 * offsets, payloads of every kind. The reference is the record path dump had before:
 * JSON.stringify(eventRecord(decodeEvent(...))).
 */

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

const enc = new TextEncoder();

/** Plain ASCII mostly, with everything JSON.stringify escapes or that is not one byte in UTF-8. */
const char = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...'abcXYZ019 :-_/.~{}[],'.split('')) },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '€', '😀', '\u2028', '\ud7ff') },
);
const str = (minLength: number, maxLength: number): fc.Arbitrary<string> => fc.array(char, { minLength, maxLength }).map((cs) => cs.join(''));

/** Integers around each digit-count boundary and the safe-integer limit. */
const boundaryInt = fc.oneof(
  fc.constantFrom(0, 1, 9, 10, 99, 100, 999, 1000, 99_999_999, 100_000_000, 100_000_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 1_795_440_412_335, 9_999_999_999_999, 2 ** 53 - 1),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: 0, max: 1_000_000 }),
);

/** JSON values whose strings and numbers hit the word paths of canonical-json.ts and the writer. */
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    str(0, 40),
    boundaryInt,
    fc.constantFrom(-1, 0.5, 1e21, 1e-7, -1e300, 123.456, null, true, false),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(str(0, 12), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const payload = fc.oneof(
  jsonish.map((v) => enc.encode(JSON.stringify(v))),
  fc.record({ seq: boundaryInt, note: str(0, 120) }).map((v) => enc.encode(JSON.stringify(v))),
  jsonish.map((v) => enc.encode(JSON.stringify(v, null, 2))),
  fc.constantFrom('1.0', '{"a":1,"a":2}', '{"0":1}', '"\\u0041"', '', 'null', 'text, not JSON', '-0', '12345678901234567890', '\ufeff[]').map((s) => enc.encode(s)),
  str(0, 60).map((s) => enc.encode(s)),
  fc.uint8Array({ maxLength: 80 }),
);

const event = fc.record({
  id: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  seq: boundaryInt,
  clock: boundaryInt,
  wallMs: boundaryInt,
  txnId: boundaryInt,
  kindCategory: fc.integer({ min: 0, max: 0xffff }),
  kindType: fc.integer({ min: 0, max: 0xffff }),
  correlationId: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => b.some((x) => x !== 0)), { nil: null }),
  causationId: fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => b.some((x) => x !== 0)), { nil: null }),
  prevHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  entity: str(1, 40),
  scope: str(0, 40),
  payload,
  /** where the frame sits in its buffer: every alignment */
  at: fc.integer({ min: 0, max: 7 }),
});

const capture = captureSink;

describe('writeEventJson gives the bytes of JSON.stringify(eventRecord(decodeEvent(...)))', () => {
  it('for strings escaped at any word position, numbers at digit boundaries, any payload, any frame alignment', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.boolean(), (events, hex, withPrefix) => {
        // all frames in one buffer, as a reader's chunk holds them (the writer caches views of it)
        const sizes = events.map((e) => eventFrameSize(enc.encode(e.entity).length, enc.encode(e.scope).length, e.payload.length));
        const chunk = Buffer.alloc(sizes.reduce((a, n) => a + n + 8, 0));
        const frames: { b: number; n: number }[] = [];
        let off = 0;
        events.forEach((e, i) => {
          const f: EventFields = { ...e, entity: enc.encode(e.entity), scope: enc.encode(e.scope) };
          off += e.at;
          encodeEventFrame(chunk, off, f, hasher);
          frames.push({ b: off + 9, n: sizes[i]! - 9 });
          off += sizes[i]!;
        });
        const prefix = withPrefix ? '"frame":"EVENT","segment":"0000000000.seg","offset":32,' : undefined;
        const got = capture((out) => {
          for (const fr of frames) {
            writeEventJson(out, chunk, fr.b, fr.n, { hex, prefix });
            out.writeByte(10);
          }
        });
        const want = frames
          .map((fr) => {
            const rec = eventRecord(decodeEvent(chunk, fr.b));
            const h = chunk.subarray(fr.b - 9, fr.b + fr.n).toString('hex');
            const obj = withPrefix ? { frame: 'EVENT', segment: '0000000000.seg', offset: 32, ...rec, ...(hex ? { hex: h } : {}) } : hex ? { ...rec, hex: h } : rec;
            return `${JSON.stringify(obj)}\n`;
          })
          .join('');
        expect(got, 'src/ui/render/event-jsonl.ts differs from the JSON.stringify record (see its word-store helpers)').toBe(want);
      }),
      { seed: 0x7d0e5, numRuns: 400 },
    );
  });

  it('fills the output buffer across many records without losing or repeating bytes at flush boundaries', () => {
    const f: EventFields = {
      id: new Uint8Array(16).fill(0xab), seq: 0, clock: 0, wallMs: 1_795_440_412_335, txnId: 0, kindCategory: 1, kindType: 1,
      correlationId: null, causationId: null, prevHash: new Uint8Array(32).fill(7), entity: enc.encode('order:933'), scope: enc.encode('tenant:t13'),
      payload: enc.encode(JSON.stringify({ seq: 0, note: 'n'.repeat(101) })),
    };
    const size = eventFrameSize(f.entity.length, f.scope.length, f.payload.length);
    const buf = Buffer.alloc(size);
    encodeEventFrame(buf, 0, f, hasher);
    const line = `${JSON.stringify(eventRecord(decodeEvent(buf, 9)))}\n`;
    const records = 5000; // ~2.5 MB: several 1 MiB flushes, records straddling each
    const got = capture((out) => {
      for (let i = 0; i < records; i++) {
        writeEventJson(out, buf, 9, size - 9);
        out.writeByte(10);
      }
    });
    expect(got.length, 'src/ui/stdout-sink.ts reserve/flush').toBe(line.length * records);
    expect(got === line.repeat(records), 'src/ui/stdout-sink.ts reserve/flush').toBe(true);
  });
});
