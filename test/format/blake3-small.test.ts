import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/format/bytes.js';
import { createHasher } from '../../src/format/hash/blake3.js';
import { blake3Small, SMALL_MAX_MESSAGE_BYTES } from '../../src/format/hash/blake3-small.js';

/** The official BLAKE3 test vectors (test_vectors.json) up to one chunk: byte i is i % 251. */
const OFFICIAL: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
];
const WHERE = 'src/format/hash/blake3-small.ts disagrees with hash-wasm (flags or block_len of the first/last block, padding, the permutation)';

describe('blake3Small (one-chunk BLAKE3 in JavaScript, for check-proof)', () => {
  it('gives the official test vectors', () => {
    for (const [n, want] of OFFICIAL) {
      const input = Uint8Array.from({ length: n }, (_, i) => i % 251);
      expect(toHex(blake3Small(input, 0, n)), `length ${n}: ${WHERE}`).toBe(want);
    }
  });

  it('equals hash-wasm for every length 0..1024, at an offset inside a larger buffer', async () => {
    const h = await createHasher();
    const buf = Uint8Array.from({ length: SMALL_MAX_MESSAGE_BYTES + 16 }, (_, i) => (i * 131 + 7) & 0xff);
    const wrong: number[] = [];
    for (let n = 0; n <= SMALL_MAX_MESSAGE_BYTES; n++) {
      if (toHex(blake3Small(buf, 5, 5 + n)) !== toHex(h.hash(buf.subarray(5, 5 + n)))) wrong.push(n);
    }
    expect(wrong, WHERE).toEqual([]);
  });

  it('refuses a message longer than one chunk or a range outside the buffer', () => {
    const buf = new Uint8Array(2048);
    expect(() => blake3Small(buf, 0, SMALL_MAX_MESSAGE_BYTES + 1)).toThrow(RangeError);
    expect(() => blake3Small(buf, 2000, 2049)).toThrow(RangeError);
    expect(() => blake3Small(buf, 10, 9)).toThrow(RangeError);
  });
});
