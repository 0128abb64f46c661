import { beforeAll, describe, expect, it } from 'vitest';
import { type Blake3, createHasher, HASH_BYTES } from '../../src/format/hash/blake3.js';
import { toHex } from '../../src/format/bytes.js';

/**
 * The official BLAKE3 test vectors (test_vectors.json in BLAKE3-team/BLAKE3): input of
 * length n whose byte i is i % 251, default 32-byte hash. Lengths straddle the 64-byte
 * block and 1024-byte chunk boundaries, where tree-hashing bugs live.
 */
const OFFICIAL: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
  [3072, 'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2'],
  [3073, '7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3'],
  [4096, '015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
  [8192, 'aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63'],
  [8193, 'bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b'],
  [16384, 'f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4'],
  [31744, '62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47'],
  [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085'],
];

function officialInput(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

describe('blake3', () => {
  let h: Blake3;
  beforeAll(async () => {
    h = await createHasher();
  });

  it.each(OFFICIAL)('hashes the official %i-byte vector', (n, want) => {
    expect(toHex(h.hash(officialInput(n))), 'src/format/hash/blake3.ts: hash-wasm BLAKE3 disagrees with the official vectors').toBe(want);
  });

  it('hashes "abc" to the published digest', () => {
    expect(toHex(h.hash(new TextEncoder().encode('abc')))).toBe('6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  });

  it('hashInto hashes exactly buf[start, end) and writes 32 bytes at the output offset, nothing else', () => {
    const input = officialInput(1100);
    const framed = new Uint8Array(1100 + 40);
    framed.set(input, 17);
    const out = new Uint8Array(HASH_BYTES + 10).fill(0xee);
    h.hashInto(framed, 17, 17 + 1025, out, 5);
    expect(toHex(out.subarray(5, 5 + HASH_BYTES))).toBe(OFFICIAL.find(([n]) => n === 1025)![1]);
    expect([...out.subarray(0, 5), ...out.subarray(5 + HASH_BYTES)].every((b) => b === 0xee), 'hashInto wrote outside its 32 bytes').toBe(true);
  });

  it('a reused hasher gives the same digest whatever it hashed before (no state leaks between events)', () => {
    const first = toHex(h.hash(officialInput(4097)));
    h.hash(officialInput(3));
    h.hash(officialInput(70000));
    expect(toHex(h.hash(officialInput(4097)))).toBe(first);
  });

  it('createHasher returns one shared instance per thread', async () => {
    expect(await createHasher()).toBe(h);
  });
});
