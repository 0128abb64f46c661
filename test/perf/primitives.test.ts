import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHasher, isDirectHasher } from '../../src/format/hash/blake3.js';
import { CrcArena, crc32c } from '../../src/format/hash/crc32c.js';

/** Bit-at-a-time CRC-32C: slow and obviously right. */
function referenceCrc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const FC = { seed: 0x9e7f, numRuns: 300 };

describe('fast CRC-32C paths equal the reference', () => {
  it('the WebAssembly arena checksums any range in place exactly like the bit-at-a-time oracle', () => {
    const arena = new CrcArena(4096);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), fc.nat(), fc.nat(), fc.nat(), (bytes, at, a, b) => {
        const off = at % 3000;
        arena.buf.set(bytes, off);
        const start = off + (bytes.length ? a % (bytes.length + 1) : 0);
        const end = start + (off + bytes.length - start ? b % (off + bytes.length - start + 1) : 0);
        const want = referenceCrc32c(arena.buf.subarray(start, end));
        expect(arena.crc(start, end), 'src/format/hash/crc32c.ts: CrcArena (wasm kernel) disagrees').toBe(want);
        expect(crc32c(arena.buf, start, end), 'src/format/hash/crc32c.ts: crc32c over a view into wasm memory disagrees').toBe(want);
      }),
      FC,
    );
  });

  it('the arena keeps its bytes and stays correct after growing', () => {
    const arena = new CrcArena(100);
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
    arena.buf.set(bytes);
    arena.grow(300_000);
    expect(arena.buf.length).toBeGreaterThanOrEqual(300_000);
    expect(Buffer.from(arena.buf.subarray(0, 100)).equals(Buffer.from(bytes)), 'grow lost the contents').toBe(true);
    arena.buf.fill(7, 100, 300_000);
    expect(arena.crc(0, 300_000)).toBe(referenceCrc32c(arena.buf.subarray(0, 300_000)));
    expect(arena.crc(50, 60, arena.crc(0, 50))).toBe(arena.crc(0, 60));
  });

  it('the JS slice-by-16 loop is right on views with any byte offset into a shared buffer', () => {
    const backing = new Uint8Array(2048).map((_, i) => (i * 101 + 7) & 0xff);
    for (let off = 0; off < 20; off++) {
      const view = backing.subarray(off, off + 700);
      for (const [s, e] of [[0, 700], [3, 19], [1, 17], [5, 400], [0, 15], [16, 16]] as const) {
        expect(crc32c(view, s, e), `view at ${off}, range ${s}..${e}`).toBe(referenceCrc32c(view.subarray(s, e)));
      }
    }
  });
});

describe('the direct BLAKE3 path', () => {
  it('is the one in use under Node (if this fails, hash-wasm changed and every hash pays the wrapper)', async () => {
    expect(isDirectHasher(await createHasher()), 'src/format/hash/blake3.ts createBlake3 fell back to the IHasher wrapper').toBe(true);
  });

  it('matches() agrees with hashInto for inputs below and above the module buffer', async () => {
    const h = await createHasher();
    for (const n of [0, 1, 64, 333, 16 * 1024, 16 * 1024 + 1, 70_000]) {
      const input = Uint8Array.from({ length: n + 10 }, (_, i) => (i * 13) & 0xff);
      const out = new Uint8Array(40);
      h.hashInto(input, 5, 5 + n, out, 3);
      expect(h.matches(input, 5, 5 + n, out, 3), `matches() at ${n} bytes`).toBe(true);
      out[10] ^= 1;
      expect(h.matches(input, 5, 5 + n, out, 3), `matches() must see a flipped digest bit at ${n} bytes`).toBe(false);
    }
  });
});
