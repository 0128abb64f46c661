/**
 * `merkle.idx`: a cache of the Merkle tree over the sealed segments (docs/FORMAT.md 9.4).
 * Derived data, like a SIDX footer: deleting it loses nothing, it only makes `head` and
 * `prove` read those segments again.
 *
 * | header (48) | segments (N × 40) | leaves (L × 40) | chunk roots (C × 32) | open txns (T × 16) | open items (P × 40) | crc (4) |
 */
import { readU32, readU64, writeU32, writeU64 } from './bytes.js';
import { crc32c } from './crc32c.js';
import { MERKLE_HASH_BYTES } from './merkle.js';
import { CHUNK_LEAVES } from './merkle-stream.js';

export const MERKLE_INDEX_MAGIC = 0x4b4d4753; // "SGMK" little-endian
export const MERKLE_INDEX_VERSION = 1;
export const MERKLE_INDEX_HEADER_BYTES = 48;
export const MERKLE_INDEX_SEGMENT_BYTES = 40;
/** A leaf row: the event's sequence (u64) and its `event_hash`. */
export const MERKLE_INDEX_LEAF_BYTES = 8 + MERKLE_HASH_BYTES;
export const MERKLE_INDEX_TXN_BYTES = 16;
export const MERKLE_INDEX_FILE = 'merkle.idx';

export interface MerkleIndexSegment {
  id: number;
  sizeBytes: number;
  /** CRC-32C of the file's last min(4096, size) bytes, as index.ckpt records it. */
  tailCrc: number;
  leafStart: number;
  leafCount: number;
}

export interface MerkleIndex {
  segments: MerkleIndexSegment[];
  leafCount: number;
  /** Leaf rows back to back: seq u64 | event hash (32). */
  leaves: Uint8Array;
  /** floor(leafCount / CHUNK_LEAVES) roots back to back. */
  chunkRoots: Uint8Array;
  /** Transactions open at the end of the last segment, with their items so far. */
  openTxns: { txn: number; items: { seq: number; hash: Uint8Array }[] }[];
}

export function encodeMerkleIndex(m: MerkleIndex): Uint8Array {
  const chunks = Math.floor(m.leafCount / CHUNK_LEAVES);
  if (m.leaves.length !== m.leafCount * MERKLE_INDEX_LEAF_BYTES) throw new Error('encodeMerkleIndex: leaves do not match leafCount');
  if (m.chunkRoots.length !== chunks * MERKLE_HASH_BYTES) throw new Error('encodeMerkleIndex: chunk roots do not match leafCount');
  const items = m.openTxns.reduce((n, t) => n + t.items.length, 0);
  const size =
    MERKLE_INDEX_HEADER_BYTES +
    m.segments.length * MERKLE_INDEX_SEGMENT_BYTES +
    m.leaves.length +
    m.chunkRoots.length +
    m.openTxns.length * MERKLE_INDEX_TXN_BYTES +
    items * MERKLE_INDEX_LEAF_BYTES +
    4;
  const out = new Uint8Array(size);
  writeU32(out, 0, MERKLE_INDEX_MAGIC);
  out[4] = MERKLE_INDEX_VERSION;
  writeU64(out, 8, size);
  writeU32(out, 16, m.segments.length);
  writeU32(out, 20, m.openTxns.length);
  writeU64(out, 24, m.leafCount);
  writeU64(out, 32, chunks);
  writeU64(out, 40, items);
  let p = MERKLE_INDEX_HEADER_BYTES;
  for (const s of m.segments) {
    writeU64(out, p, s.id);
    writeU64(out, p + 8, s.sizeBytes);
    writeU32(out, p + 16, s.tailCrc);
    writeU64(out, p + 24, s.leafStart);
    writeU64(out, p + 32, s.leafCount);
    p += MERKLE_INDEX_SEGMENT_BYTES;
  }
  out.set(m.leaves, p);
  p += m.leaves.length;
  out.set(m.chunkRoots, p);
  p += m.chunkRoots.length;
  for (const t of m.openTxns) {
    writeU64(out, p, t.txn);
    writeU64(out, p + 8, t.items.length);
    p += MERKLE_INDEX_TXN_BYTES;
  }
  for (const t of m.openTxns) {
    for (const it of t.items) {
      writeU64(out, p, it.seq);
      out.set(it.hash, p + 8);
      p += MERKLE_INDEX_LEAF_BYTES;
    }
  }
  writeU32(out, p, crc32c(out, 0, p));
  return out;
}

/** Decodes and checks a merkle.idx; a string says why it is not usable. */
export function decodeMerkleIndex(buf: Uint8Array): MerkleIndex | string {
  if (buf.length < MERKLE_INDEX_HEADER_BYTES + 4) return 'file is shorter than its header';
  if (readU32(buf, 0) !== MERKLE_INDEX_MAGIC) return 'bad magic';
  if (buf[4] !== MERKLE_INDEX_VERSION || buf[5] !== 0) return `unknown version ${buf[4]}`;
  if (readU64(buf, 8) !== buf.length) return 'size field does not match the file';
  if (readU32(buf, buf.length - 4) !== crc32c(buf, 0, buf.length - 4)) return 'checksum mismatch';
  const nSeg = readU32(buf, 16);
  const nTxn = readU32(buf, 20);
  const leafCount = readU64(buf, 24);
  const chunks = readU64(buf, 32);
  const items = readU64(buf, 40);
  if (chunks !== Math.floor(leafCount / CHUNK_LEAVES)) return 'chunk count does not match the leaf count';
  const expect =
    MERKLE_INDEX_HEADER_BYTES +
    nSeg * MERKLE_INDEX_SEGMENT_BYTES +
    leafCount * MERKLE_INDEX_LEAF_BYTES +
    chunks * MERKLE_HASH_BYTES +
    nTxn * MERKLE_INDEX_TXN_BYTES +
    items * MERKLE_INDEX_LEAF_BYTES +
    4;
  if (expect !== buf.length) return 'counts do not add up to the file size';
  let p = MERKLE_INDEX_HEADER_BYTES;
  const segments: MerkleIndexSegment[] = [];
  let next = 0;
  for (let i = 0; i < nSeg; i++) {
    const s = { id: readU64(buf, p), sizeBytes: readU64(buf, p + 8), tailCrc: readU32(buf, p + 16), leafStart: readU64(buf, p + 24), leafCount: readU64(buf, p + 32) };
    if (s.leafStart !== next) return `segment ${s.id}: leaf start ${s.leafStart}, expected ${next}`;
    next += s.leafCount;
    segments.push(s);
    p += MERKLE_INDEX_SEGMENT_BYTES;
  }
  if (next !== leafCount) return 'segment leaf counts do not add up to the leaf count';
  const leaves = buf.subarray(p, p + leafCount * MERKLE_INDEX_LEAF_BYTES);
  p += leaves.length;
  const chunkRoots = buf.subarray(p, p + chunks * MERKLE_HASH_BYTES);
  p += chunkRoots.length;
  const openTxns: MerkleIndex['openTxns'] = [];
  const counts: number[] = [];
  for (let i = 0; i < nTxn; i++) {
    openTxns.push({ txn: readU64(buf, p), items: [] });
    counts.push(readU64(buf, p + 8));
    p += MERKLE_INDEX_TXN_BYTES;
  }
  if (counts.reduce((a, b) => a + b, 0) !== items) return 'open transaction item counts do not add up';
  for (let i = 0; i < nTxn; i++) {
    for (let k = 0; k < counts[i]!; k++) {
      openTxns[i]!.items.push({ seq: readU64(buf, p), hash: new Uint8Array(buf.subarray(p + 8, p + 8 + MERKLE_HASH_BYTES)) });
      p += MERKLE_INDEX_LEAF_BYTES;
    }
  }
  return { segments, leafCount, leaves, chunkRoots, openTxns };
}
