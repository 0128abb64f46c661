import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/format/bytes.js';
import { crc32c } from '../../src/format/hash/crc32c.js';
import { checkFrame, FRAME_PREFIX_BYTES, FrameStatus, FrameType, type FrameSlot, MIN_FRAME_LENGTH } from '../../src/format/frame.js';
import {
  decodeGap,
  describeGap,
  encodeGapFrame,
  GAP,
  GAP_ENTITY_FIXED_BODY_BYTES,
  GAP_MAX_ENTITY_BYTES,
  GAP_SEQUENCE_BODY_BYTES,
  gapFrameSize,
  GapKind,
  GapReason,
  type GapRecord,
} from '../../src/format/gap.js';

const slot = (): FrameSlot => ({ type: 0, length: 0, sizeBytes: 0 });
const hash = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + n) & 0xff);

/** Recomputes a frame's CRC after a test edits its body (so only the structure check can object). */
function reseal(frame: Uint8Array): void {
  const length = frame.length - 8;
  const c = crc32c(frame, 8, 8 + length);
  new DataView(frame.buffer, frame.byteOffset).setUint32(4, c, true);
}

const RECORDS: [string, GapRecord][] = [
  ['one lost sequence', { kind: GapKind.SEQUENCE, fromSeq: 17, count: 1, reason: GapReason.CORRUPT_FRAMES, repairedAtMs: 1_800_000_000_000 }],
  ['a long run at a large sequence', { kind: GapKind.SEQUENCE, fromSeq: 2 ** 52, count: 0xffff_ffff, reason: GapReason.TRUNCATED_SEGMENT, repairedAtMs: 0 }],
  [
    'an entity link with an ASCII entity',
    { kind: GapKind.ENTITY, entity: utf8.encode('order:1'), fromClock: 4, count: 2, resumeHash: hash(1), wallFloorMs: 1_700_000_000_123, reason: GapReason.BAD_EVENT, repairedAtMs: 5 },
  ],
  [
    'an entity link of a multi-byte, longest entity',
    { kind: GapKind.ENTITY, entity: utf8.encode('日'.repeat(341) + 'x'), fromClock: 0, count: 1, resumeHash: new Uint8Array(32), wallFloorMs: 0, reason: GapReason.MISSING, repairedAtMs: 9 },
  ],
];

describe('GAP frame codec (docs/FORMAT.md section 5)', () => {
  it.each(RECORDS)('%s: encodes to a valid frame that decodes back to the same record', (_name, g) => {
    const frame = encodeGapFrame(g);
    expect(frame.length).toBe(gapFrameSize(g));
    const s = slot();
    expect(checkFrame(frame, 0, frame.length, s), 'src/format/frame.ts checkFrame must accept a GAP frame').toBe(FrameStatus.Valid);
    expect(s.type).toBe(FrameType.GAP);
    expect(decodeGap(frame, FRAME_PREFIX_BYTES, frame.length - FRAME_PREFIX_BYTES)).toEqual(g);
  });

  it('the smallest legal GAP length (MIN_FRAME_LENGTH[5]) is exactly a sequence gap', () => {
    expect(MIN_FRAME_LENGTH[FrameType.GAP]).toBe(1 + GAP_SEQUENCE_BODY_BYTES);
    expect(encodeGapFrame(RECORDS[0]![1]).length - 8).toBe(MIN_FRAME_LENGTH[FrameType.GAP]);
  });

  it('the first 12 body bytes are the first lost sequence/clock and the count (what a SIDX marker row keeps)', () => {
    const frame = encodeGapFrame(RECORDS[2]![1]);
    const dv = new DataView(frame.buffer, frame.byteOffset);
    expect(Number(dv.getBigUint64(FRAME_PREFIX_BYTES + GAP.FIRST, true))).toBe(4);
    expect(dv.getUint32(FRAME_PREFIX_BYTES + GAP.COUNT, true)).toBe(2);
  });

  // each edit keeps the CRC right: only the exact-structure check can reject it
  const BROKEN: [string, (f: Uint8Array) => Uint8Array][] = [
    ['unknown kind', (f) => ((f[FRAME_PREFIX_BYTES + GAP.KIND] = 3), f)],
    ['unknown reason', (f) => ((f[FRAME_PREFIX_BYTES + GAP.REASON] = 0), f)],
    ['count of zero', (f) => (f.fill(0, FRAME_PREFIX_BYTES + GAP.COUNT, FRAME_PREFIX_BYTES + GAP.COUNT + 4), f)],
    ['entity length that does not add up', (f) => ((f[FRAME_PREFIX_BYTES + GAP.ENTITY_LEN] = 6), f)],
    ['a sequence gap with extra bytes', (f) => ((f[FRAME_PREFIX_BYTES + GAP.KIND] = GapKind.SEQUENCE), f)],
  ];
  it.each(BROKEN)('a GAP frame with a good CRC but %s is broken framing, never a gap record', (_name, edit) => {
    const frame = edit(encodeGapFrame(RECORDS[2]![1]));
    reseal(frame);
    expect(checkFrame(frame, 0, frame.length, slot())).toBe(FrameStatus.BadFraming);
    expect(decodeGap(frame, FRAME_PREFIX_BYTES, frame.length - FRAME_PREFIX_BYTES)).toBeNull();
  });

  it('a GAP length beyond the longest entity gap is broken framing before any byte is read for it', () => {
    const frame = new Uint8Array(16);
    new DataView(frame.buffer).setUint32(0, 1 + GAP_ENTITY_FIXED_BODY_BYTES + GAP_MAX_ENTITY_BYTES + 1, true);
    frame[8] = FrameType.GAP;
    expect(checkFrame(frame, 0, frame.length, slot())).toBe(FrameStatus.BadFraming);
  });

  it('refuses to encode out-of-range records', () => {
    const ok = RECORDS[2]![1] as Extract<GapRecord, { kind: 2 }>;
    expect(() => encodeGapFrame({ ...ok, count: 0 })).toThrow(RangeError);
    expect(() => encodeGapFrame({ ...ok, entity: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => encodeGapFrame({ ...ok, entity: new Uint8Array(GAP_MAX_ENTITY_BYTES + 1) })).toThrow(RangeError);
    expect(() => encodeGapFrame({ ...ok, resumeHash: new Uint8Array(31) })).toThrow(RangeError);
    expect(() => encodeGapFrame({ ...ok, reason: 9 as never })).toThrow(RangeError);
  });

  it('describes a gap in one line naming what was lost and when', () => {
    expect(describeGap(RECORDS[0]![1])).toBe('sequence 17 lost to a repair on 2027-01-15T08:00:00.000Z (corrupt_frames)');
    expect(describeGap(RECORDS[2]![1])).toMatch(/^clocks 4\.\.5 of entity order:1 lost to a repair on .* \(bad_event\); chain resumes at [0-9a-f]{16}…$/);
  });

  it('random bytes are never taken for a gap record (structure and CRC), wherever a reader looks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 9, maxLength: 1200 }), fc.nat(1089), (bytes, len) => {
        // make every candidate as tempting as possible: a plausible length and the GAP type
        const b = bytes.slice();
        new DataView(b.buffer).setUint32(0, Math.max(23, len), true);
        b[8] = FrameType.GAP;
        const s = slot();
        for (let off = 0; off + 9 <= b.length; off++) {
          if (checkFrame(b, off, b.length, s) === FrameStatus.Valid && s.type === FrameType.GAP) return false;
        }
        return true;
      }),
      { seed: 20261123, numRuns: 300 },
    );
  });
});
