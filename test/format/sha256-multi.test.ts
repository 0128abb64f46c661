import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Sha256x4, SHA_MULTI_BUF_BASE, SHA_MULTI_MAX_RUN } from '../../src/format/hash/sha256-multi.js';
import { leafHashOf, rootOfLeafHashes } from '../../src/format/merkle.js';
import { CHUNK_LEAVES, chunkRootOfEventHashes, KERNEL_AFTER_CHUNKS } from '../../src/format/merkle-stream.js';

const WHERE = 'src/format/hash/sha256-multi.ts: the SIMD kernel disagrees with node:crypto (the transposes and byte order, the prefix byte mask, the last-byte word, or a round)';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

const kernel = Sha256x4.create();

describe('the SIMD SHA-256 of the tree shapes (Sha256x4)', () => {
  it('exists here (WebAssembly SIMD) and SEGLOG_SHA256_SIMD=0 turns it off', () => {
    expect(kernel, 'Node 20 has WebAssembly SIMD: the kernel failed to compile or its self-test').not.toBeNull();
    expect(Sha256x4.create({ SEGLOG_SHA256_SIMD: '0' })).toBeNull();
  });

  it('hashes leaves and nodes as node:crypto does, for every count and lane', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: SHA_MULTI_MAX_RUN }), fc.integer({ min: 0, max: 2 ** 31 }), (n, seed) => {
        const k = kernel!;
        const input = new Uint8Array(2 * n * 32).map((_, i) => (Math.imul(i + 1, seed | 1) >>> 13) & 0xff);
        k.mem.set(input.subarray(0, n * 32), SHA_MULTI_BUF_BASE);
        k.leaves(n);
        for (let i = 0; i < n; i++) {
          const got = hex(k.mem.subarray(SHA_MULTI_BUF_BASE + 32 * i, SHA_MULTI_BUF_BASE + 32 * i + 32));
          expect(got, `leaf ${i} of ${n}: ${WHERE}`).toBe(sha(Uint8Array.of(0), input.subarray(32 * i, 32 * i + 32)));
        }
        k.mem.set(input, SHA_MULTI_BUF_BASE);
        k.nodes(n);
        for (let i = 0; i < n; i++) {
          const got = hex(k.mem.subarray(SHA_MULTI_BUF_BASE + 32 * i, SHA_MULTI_BUF_BASE + 32 * i + 32));
          expect(got, `node ${i} of ${n}: ${WHERE}`).toBe(sha(Uint8Array.of(1), input.subarray(64 * i, 64 * i + 64)));
        }
      }),
      { seed: 6962, numRuns: 60 },
    );
  });

  it('a chunk root from event hashes (back to back, or 40-byte rows) is the MTH of their leaves, in JavaScript first, then in the kernel', () => {
    const events = Array.from({ length: CHUNK_LEAVES }, (_, i) => createHash('sha256').update(`event ${i}`).digest());
    const want = hex(rootOfLeafHashes(events.map((e) => leafHashOf(e))));
    const packed = Buffer.concat(events);
    const rows = Buffer.concat(events.map((e, i) => Buffer.concat([Buffer.alloc(8, i), e])));
    const out = new Uint8Array(40);
    // the first KERNEL_AFTER_CHUNKS chunks of a process are hashed in JavaScript, the rest by the kernel
    for (let k = 0; k <= KERNEL_AFTER_CHUNKS + 1; k++) {
      out.fill(0);
      if (k % 2 === 0) {
        chunkRootOfEventHashes(packed, 0, 32, out, 3);
        expect(hex(out.subarray(3, 35)), `chunk ${k}: ${WHERE}`).toBe(want);
      } else {
        chunkRootOfEventHashes(rows, 8, 40, out, 0);
        expect(hex(out.subarray(0, 32)), `chunk ${k}: ${WHERE}`).toBe(want);
      }
    }
  });
});
