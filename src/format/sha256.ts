/**
 * SHA-256 (FIPS 180-4) for the Merkle tree's two fixed shapes, in plain JavaScript:
 * a leaf hash SHA-256(0x00 || 32 bytes) is one block, a node hash SHA-256(0x01 || 32 || 32)
 * two. node:crypto costs ~1.4 µs a call at this size (binding and object overhead, not
 * hashing); this costs ~0.3 µs a block with no allocation, which is what lets `verify
 * --anchor` hash a million-leaf tree beside the walk. Checked against node:crypto when
 * the module loads (`selfTest`), and by test/format/sha256.test.ts on random inputs.
 *
 * Per block: W[0..15] = the block as big-endian words; W[t] = σ1(W[t−2]) + W[t−7] +
 * σ0(W[t−15]) + W[t−16]; 64 rounds of T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t],
 * T2 = Σ0(a) + Maj(a,b,c); then the state adds the working variables.
 */
import { createHash } from 'node:crypto';

/** The round constants (FIPS 180-4 4.2.2); also hash/sha256-multi.ts's. */
export const SHA256_K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
/** The initial hash value (FIPS 180-4 5.3.3). */
export const SHA256_IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Int32Array(64);
const H = new Int32Array(8);
/** The padded message: a leaf uses the first 64 bytes, a node all 128. */
const msg = new Uint8Array(128);
const msgView = new DataView(msg.buffer);

function compress(blockOff: number): void {
  for (let t = 0; t < 16; t++) W[t] = msgView.getInt32(blockOff + 4 * t, false);
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + SHA256_K[t]! + W[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const mj = (a & b) ^ (a & c) ^ (b & c);
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + S0 + mj) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

function digestInto(out: Uint8Array, outOff: number): void {
  for (let i = 0; i < 8; i++) {
    const v = H[i]!;
    const o = outOff + 4 * i;
    out[o] = v >>> 24;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
}

/** out[outOff, +32) = SHA-256(0x00 || src[off, off + 32)). `out` may be `src`. */
export function sha256LeafInto(src: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  msg[0] = 0x00;
  for (let i = 0; i < 32; i++) msg[1 + i] = src[off + i]!;
  msg[33] = 0x80;
  msg.fill(0, 34, 62);
  msg[62] = 0x01; // length: 33 bytes = 264 bits = 0x0108
  msg[63] = 0x08;
  H.set(SHA256_IV);
  compress(0);
  digestInto(out, outOff);
}

/** out[outOff, +32) = SHA-256(0x01 || left[lOff, +32) || right[rOff, +32)). `out` may alias either input. */
export function sha256NodeInto(left: Uint8Array, lOff: number, right: Uint8Array, rOff: number, out: Uint8Array, outOff: number): void {
  msg[0] = 0x01;
  for (let i = 0; i < 32; i++) msg[1 + i] = left[lOff + i]!;
  for (let i = 0; i < 32; i++) msg[33 + i] = right[rOff + i]!;
  msg[65] = 0x80;
  msg.fill(0, 66, 126);
  msg[126] = 0x02; // length: 65 bytes = 520 bits = 0x0208
  msg[127] = 0x08;
  H.set(SHA256_IV);
  compress(0);
  compress(64);
  digestInto(out, outOff);
}

/** Compares both shapes with node:crypto on fixed inputs; throws if they differ (a broken build, never data). */
function selfTest(): void {
  const a = new Uint8Array(32).map((_, i) => i * 7 + 1);
  const b = new Uint8Array(32).map((_, i) => 255 - i * 3);
  const out = new Uint8Array(32);
  sha256LeafInto(a, 0, out, 0);
  const wantLeaf = createHash('sha256').update(Buffer.from([0])).update(a).digest();
  sha256NodeInto(a, 0, b, 0, a, 0);
  const wantNode = createHash('sha256').update(Buffer.from([1])).update(new Uint8Array(32).map((_, i) => i * 7 + 1)).update(b).digest();
  if (!wantLeaf.equals(out) || !wantNode.equals(a)) throw new Error('sha256.ts self-test failed: the JavaScript SHA-256 disagrees with node:crypto');
}
selfTest();
