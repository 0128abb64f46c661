import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealFs } from '../../src/engine/io/real-fs.js';
import { verifySegments } from '../../src/engine/verify/verify.js';
import { precheckSegment } from '../../src/engine/verify/verify-parallel.js';
import { listSegments } from '../../src/engine/segment/walker.js';
import { crc32c } from '../../src/format/hash/crc32c.js';
import { openStore, removeTempDirs, tempDir } from '../engine/test-store.js';
import { type Blake3, createHasher, HASH_BYTES } from '../../src/format/hash/blake3.js';
import { Blake3Multi, MULTI_CAPACITY, MULTI_MAX_MESSAGE_BYTES } from '../../src/format/hash/blake3-multi.js';
import { toHex } from '../../src/format/bytes.js';

/** The official BLAKE3 test vectors (test_vectors.json) up to one chunk: byte i is i % 251. */
const OFFICIAL: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
];
/** Block-boundary lengths: where padding and the CHUNK_END flag go wrong. */
const EDGE_LENGTHS = [0, 1, 63, 64, 65, 127, 128, 1023, 1024];
const WHERE = 'src/format/hash/blake3-multi.ts: the SIMD kernel disagrees with hash-wasm (look at the flags/block_len per lane, padding, or the lane masks)';

function officialInput(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

function digestsOf(m: Blake3Multi, msgs: Uint8Array[]): string[] {
  m.clear();
  for (const msg of msgs) m.push(msg, 0, msg.length);
  m.run();
  const out = new Uint8Array(HASH_BYTES);
  return msgs.map((_, i) => {
    m.digestInto(i, out, 0);
    return toHex(out);
  });
}

describe('blake3-multi (4-lane WebAssembly SIMD BLAKE3)', () => {
  let ref: Blake3;
  let m: Blake3Multi;
  beforeAll(async () => {
    ref = await createHasher();
    const made = Blake3Multi.create();
    expect(made, 'Blake3Multi.create returned null: Node 20 has WebAssembly SIMD, so the emitted module does not validate or fails its BLAKE3("abc") self-check').not.toBeNull();
    m = made!;
  });

  it('hashes the official vectors up to one chunk, in every lane position', () => {
    const msgs = OFFICIAL.map(([n]) => officialInput(n));
    for (let rot = 0; rot < 4; rot++) {
      const order = msgs.map((_, i) => (i + rot) % msgs.length);
      const got = digestsOf(m, order.map((i) => msgs[i]!));
      order.forEach((i, k) => expect(got[k], `${WHERE}; official vector of ${OFFICIAL[i]![0]} bytes in lane ${k}`).toBe(OFFICIAL[i]![1]));
    }
  });

  it('agrees with hash-wasm at every block-boundary length, mixed in one batch', () => {
    const msgs = EDGE_LENGTHS.flatMap((n) => [officialInput(n), Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff)]);
    const got = digestsOf(m, msgs);
    msgs.forEach((msg, i) => expect(got[i], `${WHERE}; length ${msg.length}`).toBe(toHex(ref.hash(msg))));
  });

  it('agrees with hash-wasm on random message sets of 0..1024 bytes (fixed seed), whatever the slots held before', () => {
    const len = fc.oneof(fc.constantFrom(...EDGE_LENGTHS), fc.integer({ min: 0, max: MULTI_MAX_MESSAGE_BYTES }));
    fc.assert(
      fc.property(fc.array(len.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), { minLength: 1, maxLength: MULTI_CAPACITY }), (msgs) => {
        const got = digestsOf(m, msgs);
        msgs.forEach((msg, i) => expect(got[i], `${WHERE}; message ${i} of ${msgs.length}, ${msg.length} bytes`).toBe(toHex(ref.hash(msg))));
      }),
      { seed: 7007, numRuns: 150 },
    );
  });

  it('pushChecked compares each message with the 32 bytes after it, reading only the message and those bytes', () => {
    // event-body-like records: message, then its hash; every third one with a wrong hash
    const bodies: Uint8Array[] = [];
    const buf = new Uint8Array(40 * 1100);
    const spans: [number, number][] = [];
    let p = 3;
    for (let k = 0; k < 40; k++) {
      const n = [0, 1, 64, 330, 1024][k % 5]! + (k % 5 === 3 ? k : 0);
      const body = Uint8Array.from({ length: n }, (_, i) => (i * 31 + k) & 0xff);
      bodies.push(body);
      buf.set(body, p);
      const h = ref.hash(body);
      if (k % 3 === 0) h[k % HASH_BYTES]! ^= 1;
      buf.set(h, p + n);
      spans.push([p, p + n]);
      p += n + HASH_BYTES + 5;
    }
    m.clear();
    for (const [s, e] of spans) m.pushChecked(buf, s, e);
    m.run();
    spans.forEach((_, k) => expect(m.matches(k), `${WHERE}; pushChecked/matches of record ${k}`).toBe(k % 3 !== 0));
  });

  it('a full batch then a short one: no digest leaks from the previous run', () => {
    const big = Array.from({ length: MULTI_CAPACITY }, (_, i) => officialInput(1024 - i));
    digestsOf(m, big);
    const small = [officialInput(1), officialInput(0)];
    expect(digestsOf(m, small)).toEqual([OFFICIAL[1]![1], OFFICIAL[0]![1]]);
  });
});

afterAll(removeTempDirs);

describe("verify's precheck hashing event bodies with blake3-multi (verify-parallel.ts)", () => {
  it('finds exactly the mismatches hash-wasm finds, in file order, across batches and with >1 KiB events mixed in', async () => {
    const dir = join(tempDir('seglog-b3m-'), 'store');
    const { store } = await openStore(dir);
    for (let i = 0; i < 300; i++) store.append({ entity: `e${i % 9}`, scope: 's' }, { i, note: 'y'.repeat(i % 23 === 0 ? 1500 : (i * 13) % 400) });
    store.close();
    const fs = new RealFs();
    const segs = listSegments(fs, dir);
    const seg = segs[segs.length - 1]!;
    // flip a byte inside every 5th event body and fix its frame CRC: only the hash can tell
    const bytes = readFileSync(seg.path);
    let corrupted = 0;
    for (let off = 32, k = 0; off + 8 < bytes.length; k++) {
      const len = bytes.readUInt32LE(off);
      if (len === 0 || off + 8 + len > bytes.length) break;
      if (bytes[off + 8] === 1 && k % 5 === 0) {
        bytes[off + 8 + len - 40] ^= 0x04;
        bytes.writeUInt32LE(crc32c(bytes, off + 8, off + 8 + len), off + 4);
        corrupted++;
      }
      off += 8 + len;
    }
    writeFileSync(seg.path, bytes);
    const hasher = await createHasher();
    const precheck = (simd: boolean) => {
      const saved = process.env.SEGLOG_BLAKE3_SIMD;
      process.env.SEGLOG_BLAKE3_SIMD = simd ? '1' : '0';
      try {
        return precheckSegment(fs, seg.path, segs.length - 1, segs.length, hasher);
      } finally {
        if (saved === undefined) delete process.env.SEGLOG_BLAKE3_SIMD;
        else process.env.SEGLOG_BLAKE3_SIMD = saved;
      }
    };
    const withSimd = precheck(true);
    const without = precheck(false);
    const reported = verifySegments(fs, segs, hasher)
      .problems.filter((p) => p.code === 'hash_mismatch' && p.segment === seg.name)
      .map((p) => p.offset);
    expect(without.mismatches.length, 'hash-wasm should flag every corrupted event').toBe(corrupted);
    expect(300, 'the events should fill several SIMD batches').toBeGreaterThan(3 * MULTI_CAPACITY);
    expect(withSimd.mismatches, 'src/engine/verify/verify-parallel.ts precheckSegment: the SIMD path flags other frames (or another order) than hash-wasm').toEqual(without.mismatches);
    expect(withSimd.mismatches).toEqual(reported);
    expect(withSimd.checkedEnd).toBe(without.checkedEnd);
  });
});
