import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRC_SCRATCH_MIN_BYTES, CrcArena, crc32c, crc32cJs, crcFastKernel } from '../../src/format/hash/crc32c.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bit-at-a-time CRC-32C: slow and obviously right, the oracle for the slice-by-8 code. */
function referenceCrc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const FC = { seed: 0x5e6106, numRuns: 300 };

describe('crc32c (Castagnoli)', () => {
  // the check value of the CRC catalogue and the iSCSI vectors of RFC 3720, B.4
  const vectors: [string, Uint8Array, number][] = [
    ['"123456789" (catalogue check value)', ascii('123456789'), 0xe3069283],
    ['empty input', new Uint8Array(0), 0x00000000],
    ['32 zero bytes (RFC 3720)', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xFF (RFC 3720)', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['32 ascending bytes 0..31 (RFC 3720)', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['32 descending bytes 31..0 (RFC 3720)', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ];
  it.each(vectors)('matches the published vector for %s', (_name, input, want) => {
    expect(crc32c(input), 'src/format/hash/crc32c.ts: table or reflection is wrong').toBe(want);
  });

  it('slice-by-8 equals the bit-at-a-time reference for any input and range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (buf, a, b) => {
        const start = buf.length ? a % (buf.length + 1) : 0;
        const end = start + (buf.length - start ? b % (buf.length - start + 1) : 0);
        expect(crc32c(buf, start, end)).toBe(referenceCrc32c(buf.subarray(start, end)));
      }),
      FC,
    );
  });

  it('continues from a previous CRC: crc(a ++ b) = crc(b, crc(a))', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (buf, cut) => {
        const k = buf.length ? cut % (buf.length + 1) : 0;
        expect(crc32c(buf, k, buf.length, crc32c(buf, 0, k))).toBe(crc32c(buf));
      }),
      FC,
    );
  });

  it('long inputs (the WebAssembly kernel through the scratch arena) equal the JS loop, across chunks, offsets and continuations', () => {
    // if this fails: crc32c's scratch path in src/format/hash/crc32c.ts (chunking, or the continued CRC between chunks)
    let x = 0x5eed;
    const buf = Uint8Array.from({ length: 3 * 1024 * 1024 + 123 }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
    const ranges: [number, number, number][] = [
      [0, buf.length, 0],
      [1, CRC_SCRATCH_MIN_BYTES + 1, 0],
      [7, 1024 * 1024 + 9, 0x1234_5678],
      [3, buf.length - 5, 0xffff_ffff],
      [100, 100 + CRC_SCRATCH_MIN_BYTES - 1, 42],
    ];
    for (const [start, end, crc] of ranges) expect(crc32c(buf, start, end, crc), `[${start}, ${end}) from ${crc}`).toBe(crc32cJs(buf, start, end, crc));
    expect(crc32cJs(buf.subarray(0, 4096))).toBe(referenceCrc32c(buf.subarray(0, 4096)));
    // a view into a larger buffer, at an odd offset
    const view = buf.subarray(11, 11 + 2 * CRC_SCRATCH_MIN_BYTES);
    expect(crc32c(view)).toBe(crc32cJs(view));
  });

  // Both WebAssembly kernels: the default (balanced XOR tree, shift-and-mask indices,
  // 4-byte tail steps) and round four's (`SEGLOG_CRC_FAST=0`). Every frame a reader
  // checks goes through one of them: a wrong value here is a valid frame reported
  // damaged, or worse, a damaged one accepted.
  it.each([
    ['the default kernel', true],
    ['the SEGLOG_CRC_FAST=0 kernel', false],
  ])('%s equals the bit-at-a-time oracle for any length, alignment, offset and starting CRC', (_name, fast) => {
    // if this fails: crcModuleBytes in src/format/hash/crc32c.ts (a table offset, a shift, the tail loops)
    const arena = new CrcArena(4096, fast);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), fc.nat(2900), fc.nat(), fc.nat(), fc.nat(), (bytes, off, a, b, from) => {
        arena.buf.set(bytes, off);
        const start = off + (bytes.length ? a % (bytes.length + 1) : 0);
        const end = start + (off + bytes.length - start ? b % (off + bytes.length - start + 1) : 0);
        const head = referenceCrc32c(arena.buf.subarray(off, start));
        expect(arena.crc(start, end), `[${start}, ${end})`).toBe(referenceCrc32c(arena.buf.subarray(start, end)));
        expect(arena.crc(start, end, head), `[${start}, ${end}) continued`).toBe(referenceCrc32c(arena.buf.subarray(off, end)));
        expect(arena.crc(start, end, from >>> 0), `[${start}, ${end}) from ${from}`).toBe(crc32cJs(arena.buf, start, end, from >>> 0));
      }),
      { ...FC, numRuns: 500 },
    );
  });

  it('the default kernel is the fast one; SEGLOG_CRC_FAST=0 selects round four\'s', () => {
    // if this fails: crcFastKernel in src/format/hash/crc32c.ts no longer reads the switch the differential suite and docs/CLI.md name
    const saved = process.env.SEGLOG_CRC_FAST;
    try {
      delete process.env.SEGLOG_CRC_FAST;
      expect(crcFastKernel()).toBe(true);
      process.env.SEGLOG_CRC_FAST = '0';
      expect(crcFastKernel()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.SEGLOG_CRC_FAST;
      else process.env.SEGLOG_CRC_FAST = saved;
    }
  });
});
