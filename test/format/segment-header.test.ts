import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/format/hash/crc32c.js';
import { writeU16, writeU32 } from '../../src/format/bytes.js';
import {
  decodeSegmentHeader,
  encodeSegmentHeader,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_BYTES,
} from '../../src/format/segment-header.js';
import { FC_RUNS, u53 } from './arbitraries.js';

describe('segment header codec', () => {
  it('round-trips any segment id and first sequence up to 2^53', () => {
    fc.assert(
      fc.property(u53, u53, (segmentId, firstSeq) => {
        const bytes = encodeSegmentHeader({ formatVersion: SEGMENT_FORMAT_VERSION, segmentId, firstSeq });
        expect(bytes.length).toBe(SEGMENT_HEADER_BYTES);
        expect(decodeSegmentHeader(bytes)).toEqual({ ok: true, header: { formatVersion: SEGMENT_FORMAT_VERSION, segmentId, firstSeq } });
      }),
      FC_RUNS,
    );
  });

  it('starts with the magic "SGLG" and reserves bytes 6..7 and 24..27 as zero', () => {
    const b = encodeSegmentHeader({ formatVersion: SEGMENT_FORMAT_VERSION, segmentId: 7, firstSeq: 99 });
    expect(new TextDecoder().decode(b.subarray(0, 4))).toBe('SGLG');
    expect([...b.subarray(6, 8), ...b.subarray(24, 28)]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('every single-bit flip of the 32 header bytes is detected', () => {
    const good = encodeSegmentHeader({ formatVersion: SEGMENT_FORMAT_VERSION, segmentId: 3, firstSeq: 12345 });
    const missed: number[] = [];
    for (let bit = 0; bit < SEGMENT_HEADER_BYTES * 8; bit++) {
      const b = good.slice();
      b[bit >> 3]! ^= 1 << (bit & 7);
      if (decodeSegmentHeader(b).ok) missed.push(bit);
    }
    expect(missed, 'bits whose flip decodeSegmentHeader accepted (src/format/segment-header.ts)').toEqual([]);
  });

  it.each([0, 1, 4, 31])('a %i-byte file is reported as too short, never read past its end', (n) => {
    const r = decodeSegmentHeader(encodeSegmentHeader({ formatVersion: 1, segmentId: 0, firstSeq: 0 }).subarray(0, n));
    expect(r).toMatchObject({ ok: false, reason: 'short' });
  });

  it('a header with another format version and a valid CRC is refused as "version"', () => {
    const b = encodeSegmentHeader({ formatVersion: SEGMENT_FORMAT_VERSION, segmentId: 0, firstSeq: 0 });
    writeU16(b, 4, SEGMENT_FORMAT_VERSION + 1);
    writeU32(b, 28, crc32c(b, 0, 28));
    expect(decodeSegmentHeader(b)).toMatchObject({ ok: false, reason: 'version' });
  });

  it('anything not starting with the magic is refused as "magic"', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 64 }).filter((b) => b[0] !== 0x53), (b) => {
        expect(decodeSegmentHeader(b)).toMatchObject({ ok: false, reason: 'magic' });
      }),
      FC_RUNS,
    );
  });
});
