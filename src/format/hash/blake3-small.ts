/**
 * BLAKE3-256 of one message of at most one chunk (1024 bytes), in plain JavaScript:
 * for a command that hashes a single event and must start fast (`check-proof`).
 * hash-wasm (blake3.ts) costs ~50 ms to load and the SIMD kernel (blake3-multi.ts)
 * ~30 ms to emit and compile; this costs nothing to load and ~10 µs per event. Checked
 * against hash-wasm for every length 0..1024 by test/format/blake3-small.test.ts.
 *
 * A message of ≤ 1 chunk is a single chunk whose last block is the root, as in
 * blake3-multi.ts: key words = IV, counter 0, flags CHUNK_START on the first block,
 * CHUNK_END | ROOT on the last (an empty message is one empty block with all three),
 * each block zero-padded with its true length as block_len. Compression: state =
 * cv ‖ IV[0..3] ‖ counter (0, 0) ‖ block_len ‖ flags; 7 rounds of the column and
 * diagonal G steps, the message words permuted between rounds; cv' = v[i] ^ v[i+8].
 */
import { CHUNK_END, CHUNK_START, IV, MSG_PERMUTATION, ROOT, ROUNDS } from './blake3-constants.js';

export const SMALL_MAX_MESSAGE_BYTES = 1024;

const BLOCK_BYTES = 64;

const v = new Uint32Array(16);
const m = new Uint32Array(16);
const tmp = new Uint32Array(16);
const block = new Uint8Array(BLOCK_BYTES);

function g(a: number, b: number, c: number, d: number, x: number, y: number): void {
  v[a] = v[a]! + v[b]! + x;
  let t = v[d]! ^ v[a]!;
  v[d] = (t >>> 16) | (t << 16);
  v[c] = v[c]! + v[d]!;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 12) | (t << 20);
  v[a] = v[a]! + v[b]! + y;
  t = v[d]! ^ v[a]!;
  v[d] = (t >>> 8) | (t << 24);
  v[c] = v[c]! + v[d]!;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 7) | (t << 25);
}

function compress(cv: Uint32Array, blockLen: number, flags: number): void {
  for (let i = 0; i < 16; i++) m[i] = block[4 * i]! | (block[4 * i + 1]! << 8) | (block[4 * i + 2]! << 16) | (block[4 * i + 3]! << 24);
  for (let i = 0; i < 8; i++) v[i] = cv[i]!;
  for (let i = 0; i < 4; i++) v[8 + i] = IV[i]!;
  v[12] = 0;
  v[13] = 0;
  v[14] = blockLen;
  v[15] = flags;
  for (let r = 0; r < ROUNDS; r++) {
    g(0, 4, 8, 12, m[0]!, m[1]!);
    g(1, 5, 9, 13, m[2]!, m[3]!);
    g(2, 6, 10, 14, m[4]!, m[5]!);
    g(3, 7, 11, 15, m[6]!, m[7]!);
    g(0, 5, 10, 15, m[8]!, m[9]!);
    g(1, 6, 11, 12, m[10]!, m[11]!);
    g(2, 7, 8, 13, m[12]!, m[13]!);
    g(3, 4, 9, 14, m[14]!, m[15]!);
    if (r === ROUNDS - 1) break;
    for (let i = 0; i < 16; i++) tmp[i] = m[MSG_PERMUTATION[i]!]!;
    m.set(tmp);
  }
  for (let i = 0; i < 8; i++) cv[i] = v[i]! ^ v[i + 8]!;
}

/** BLAKE3-256 of buf[start, end), which must be at most SMALL_MAX_MESSAGE_BYTES long. */
export function blake3Small(buf: Uint8Array, start: number, end: number): Uint8Array {
  const len = end - start;
  if (start < 0 || len < 0 || end > buf.length || len > SMALL_MAX_MESSAGE_BYTES) throw new RangeError(`blake3Small: [${start}, ${end}) is not a range of at most ${SMALL_MAX_MESSAGE_BYTES} bytes in a buffer of ${buf.length}`);
  const cv = new Uint32Array(IV);
  const blocks = Math.max(1, Math.ceil(len / BLOCK_BYTES));
  for (let b = 0; b < blocks; b++) {
    const from = start + b * BLOCK_BYTES;
    const n = Math.min(BLOCK_BYTES, end - from);
    block.fill(0);
    if (n > 0) block.set(buf.subarray(from, from + n));
    const flags = (b === 0 ? CHUNK_START : 0) | (b === blocks - 1 ? CHUNK_END | ROOT : 0);
    compress(cv, Math.max(0, n), flags);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const w = cv[i]!;
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = w >>> 24;
  }
  return out;
}
