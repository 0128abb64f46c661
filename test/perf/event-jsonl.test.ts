import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher } from '../../src/format/hash/blake3.js';
import { decodeEvent, encodeEventFrame, eventFrameSize, type EventFields } from '../../src/format/event.js';
import { eventRecord } from '../../src/ui/render/event-json.js';
import { writeEventJson } from '../../src/ui/render/event-jsonl.js';
import { captureSink } from '../support/capture-sink.js';
import { eventFields } from '../format/arbitraries.js';

let hasher: Blake3;
beforeAll(async () => {
  hasher = await createHasher();
});

const enc = new TextEncoder();

/** Payloads of every kind the slow path distinguishes: canonical JSON, other JSON, text, binary, empty. */
const payload = fc.oneof(
  fc.jsonValue().map((v) => enc.encode(JSON.stringify(v))),
  fc.jsonValue().map((v) => enc.encode(JSON.stringify(v, null, 1))),
  fc.constantFrom('1.0', '{"a":1,"a":2}', '{"2":1,"1":2}', '"\\u0041"', '', ' ', 'not json', '\ufeff{}', '-0', '1e400').map((s) => enc.encode(s)),
  fc.string({ unit: 'binary' }).map((s) => enc.encode(s)),
  fc.uint8Array({ maxLength: 60 }),
);
const name = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.constantFrom('order:1', 'a"b', 'back\\slash', 'tab\tnew\nline', 'é', '\u007f'));
const event = fc.record({ base: eventFields, payload, entity: name, scope: fc.oneof(fc.constant(''), name), big: fc.boolean() });

const capture = captureSink;

describe('writeEventJson writes exactly JSON.stringify(eventRecord(decodeEvent(...)))', () => {
  it('for any event, payload, entity and scope, with and without --hex and a --markers prefix', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean(), (events, hex, withPrefix) => {
        const frames: { buf: Uint8Array; b: number; n: number }[] = [];
        for (const e of events) {
          const f: EventFields = {
            ...e.base,
            // keep u64s in range except sometimes: beyond 2^53 the original path must be taken
            seq: e.big ? e.base.seq : e.base.seq % 1_000_000,
            entity: enc.encode(e.entity),
            scope: enc.encode(e.scope),
            payload: e.payload,
          };
          const size = eventFrameSize(f.entity.length, f.scope.length, f.payload.length);
          const buf = Buffer.alloc(size + 5);
          encodeEventFrame(buf, 5, f, hasher);
          frames.push({ buf, b: 5 + 9, n: size - 9 });
        }
        const prefix = withPrefix ? '"frame":"EVENT","segment":"0000000000.seg","offset":32,' : undefined;
        const got = capture((out) => {
          for (const fr of frames) {
            writeEventJson(out, fr.buf, fr.b, fr.n, { hex, prefix });
            out.writeByte(10);
          }
        });
        const want = frames
          .map((fr) => {
            const rec = eventRecord(decodeEvent(fr.buf, fr.b));
            const h = Buffer.from(fr.buf.subarray(fr.b - 9, fr.b + fr.n)).toString('hex');
            const obj = withPrefix ? { frame: 'EVENT', segment: '0000000000.seg', offset: 32, ...rec, ...(hex ? { hex: h } : {}) } : hex ? { ...rec, hex: h } : rec;
            return `${JSON.stringify(obj)}\n`;
          })
          .join('');
        expect(got, 'src/ui/render/event-jsonl.ts differs from the JSON.stringify record').toBe(want);
      }),
      { seed: 0x150e1, numRuns: 300 },
    );
  });

  it('records larger than the output buffer are written whole', () => {
    const big = enc.encode(JSON.stringify({ blob: 'y'.repeat(3 * 1024 * 1024) }));
    const f: EventFields = {
      id: new Uint8Array(16).fill(1), seq: 1, clock: 2, wallMs: 3, txnId: 0, kindCategory: 1, kindType: 2,
      correlationId: null, causationId: null, prevHash: new Uint8Array(32), entity: enc.encode('e'), scope: enc.encode('s'), payload: big,
    };
    const size = eventFrameSize(1, 1, big.length);
    const buf = Buffer.alloc(size);
    encodeEventFrame(buf, 0, f, hasher);
    const got = capture((out) => {
      out.write('x'.repeat(1000));
      writeEventJson(out, buf, 9, size - 9);
    });
    expect(got).toBe('x'.repeat(1000) + JSON.stringify(eventRecord(decodeEvent(buf, 9))));
  });
});
