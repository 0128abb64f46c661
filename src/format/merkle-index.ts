/**
 * `merkle.idx`: a cache of the Merkle tree over the sealed segments (docs/FORMAT.md 9.4).
 * Derived data, like a SIDX footer: deleting it loses nothing, it only makes `head` and
 * `prove` read those segments again.
 *
 * | header (64) | segments (N × 40) | chunks (C × 56) | partial rows (R × 40) | open txns (T × 16) | open items (P × 40) | meta crc (4) | leaf rows (C × 256 × 40) |
 *
 * The "meta" part (everything before the leaf rows) is small and read whole, its CRC
 * checked; leaf rows are read one chunk (256 rows, 10 KiB) at a time, each chunk checked
 * against its own CRC in the chunk table. So a head reads a few hundred KiB per million
 * events, never the rows, and memory does not grow with the cached part of the log.
 */
import { copyBytes as copyOf, readU32, readU64, writeU32, writeU64 } from './bytes.js';
import { crc32c } from './hash/crc32c.js';
import { MERKLE_HASH_BYTES } from './merkle.js';
import { CHUNK_LEAVES } from './merkle-stream.js';

export const MERKLE_INDEX_MAGIC = 0x4b4d4753; // "SGMK" little-endian
export const MERKLE_INDEX_VERSION = 1;
export const MERKLE_INDEX_HEADER_BYTES = 64;
export const MERKLE_INDEX_SEGMENT_BYTES = 40;
export const MERKLE_INDEX_CHUNK_BYTES = 56;
/** A leaf row: the event's sequence (u64) and its `event_hash`. */
export const MERKLE_INDEX_LEAF_BYTES = 8 + MERKLE_HASH_BYTES;
export const MERKLE_INDEX_TXN_BYTES = 16;
export const MERKLE_INDEX_CHUNK_ROWS_BYTES = CHUNK_LEAVES * MERKLE_INDEX_LEAF_BYTES;
export const MERKLE_INDEX_FILE = 'merkle.idx';

export interface MerkleIndexSegment {
  id: number;
  sizeBytes: number;
  /** CRC-32C of the file's last min(4096, size) bytes, as index.ckpt records it. */
  tailCrc: number;
  leafStart: number;
  leafCount: number;
}

export interface MerkleIndexChunk {
  root: Uint8Array;
  minSeq: number;
  maxSeq: number;
  rowsCrc: number;
}

/** Everything but the full chunks' leaf rows. */
export interface MerkleIndexMeta {
  segments: MerkleIndexSegment[];
  leafCount: number;
  chunks: MerkleIndexChunk[];
  /** The rows of the leaves after the last full chunk (fewer than CHUNK_LEAVES), back to back. */
  partialRows: Uint8Array;
  /** Transactions open at the end of the last segment, with their items so far. */
  openTxns: { txn: number; items: { seq: number; hash: Uint8Array }[] }[];
  /** Byte offset of the leaf rows (= the meta part's size). */
  rowsOffset: number;
}

function metaBytes(nSeg: number, nChunks: number, partial: number, nTxn: number, items: number): number {
  return (
    MERKLE_INDEX_HEADER_BYTES +
    nSeg * MERKLE_INDEX_SEGMENT_BYTES +
    nChunks * MERKLE_INDEX_CHUNK_BYTES +
    partial * MERKLE_INDEX_LEAF_BYTES +
    nTxn * MERKLE_INDEX_TXN_BYTES +
    items * MERKLE_INDEX_LEAF_BYTES +
    4
  );
}

/** The whole file, from its leaf rows (leafCount × 40 bytes) and the rest. */
export function encodeMerkleIndex(m: Omit<MerkleIndexMeta, 'partialRows' | 'rowsOffset' | 'chunks'> & { rows: Uint8Array; chunkRoots: Uint8Array }): Uint8Array {
  const nChunks = Math.floor(m.leafCount / CHUNK_LEAVES);
  const partial = m.leafCount - nChunks * CHUNK_LEAVES;
  if (m.rows.length !== m.leafCount * MERKLE_INDEX_LEAF_BYTES) throw new Error('encodeMerkleIndex: rows do not match leafCount');
  if (m.chunkRoots.length !== nChunks * MERKLE_HASH_BYTES) throw new Error('encodeMerkleIndex: chunk roots do not match leafCount');
  const items = m.openTxns.reduce((n, t) => n + t.items.length, 0);
  const meta = metaBytes(m.segments.length, nChunks, partial, m.openTxns.length, items);
  const size = meta + nChunks * MERKLE_INDEX_CHUNK_ROWS_BYTES;
  const out = new Uint8Array(size);
  writeU32(out, 0, MERKLE_INDEX_MAGIC);
  out[4] = MERKLE_INDEX_VERSION;
  writeU64(out, 8, size);
  writeU32(out, 16, m.segments.length);
  writeU32(out, 20, m.openTxns.length);
  writeU64(out, 24, m.leafCount);
  writeU64(out, 32, nChunks);
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
  for (let c = 0; c < nChunks; c++) {
    out.set(m.chunkRoots.subarray(c * MERKLE_HASH_BYTES, (c + 1) * MERKLE_HASH_BYTES), p);
    const rowsStart = c * MERKLE_INDEX_CHUNK_ROWS_BYTES;
    let min = Number.MAX_SAFE_INTEGER;
    let max = 0;
    for (let k = 0; k < CHUNK_LEAVES; k++) {
      const seq = readU64(m.rows, rowsStart + k * MERKLE_INDEX_LEAF_BYTES);
      if (seq < min) min = seq;
      if (seq > max) max = seq;
    }
    writeU64(out, p + 32, min);
    writeU64(out, p + 40, max);
    writeU32(out, p + 48, crc32c(m.rows, rowsStart, rowsStart + MERKLE_INDEX_CHUNK_ROWS_BYTES));
    p += MERKLE_INDEX_CHUNK_BYTES;
  }
  out.set(m.rows.subarray(nChunks * MERKLE_INDEX_CHUNK_ROWS_BYTES), p);
  p += partial * MERKLE_INDEX_LEAF_BYTES;
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
  p += 4;
  out.set(m.rows.subarray(0, nChunks * MERKLE_INDEX_CHUNK_ROWS_BYTES), p);
  return out;
}

/** How many bytes of meta part a header announces, or a reason it is unusable. */
export function merkleIndexMetaSize(header: Uint8Array, fileSize: number): number | string {
  if (header.length < MERKLE_INDEX_HEADER_BYTES) return 'file is shorter than its header';
  if (readU32(header, 0) !== MERKLE_INDEX_MAGIC) return 'bad magic';
  if (header[4] !== MERKLE_INDEX_VERSION || header[5] !== 0) return `unknown version ${header[4]}`;
  if (readU64(header, 8) !== fileSize) return 'size field does not match the file';
  const leafCount = readU64(header, 24);
  const nChunks = readU64(header, 32);
  if (nChunks !== Math.floor(leafCount / CHUNK_LEAVES)) return 'chunk count does not match the leaf count';
  const meta = metaBytes(readU32(header, 16), nChunks, leafCount - nChunks * CHUNK_LEAVES, readU32(header, 20), readU64(header, 40));
  if (meta + nChunks * MERKLE_INDEX_CHUNK_ROWS_BYTES !== fileSize) return 'counts do not add up to the file size';
  return meta;
}

/** Decodes and checks the meta part (the file's first `merkleIndexMetaSize` bytes). */
export function decodeMerkleIndexMeta(buf: Uint8Array): MerkleIndexMeta | string {
  const size = buf.length;
  if (readU32(buf, size - 4) !== crc32c(buf, 0, size - 4)) return 'checksum mismatch';
  const nSeg = readU32(buf, 16);
  const nTxn = readU32(buf, 20);
  const leafCount = readU64(buf, 24);
  const nChunks = readU64(buf, 32);
  const items = readU64(buf, 40);
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
  const chunks: MerkleIndexChunk[] = [];
  for (let c = 0; c < nChunks; c++) {
    chunks.push({ root: copyOf(buf, p, p + MERKLE_HASH_BYTES), minSeq: readU64(buf, p + 32), maxSeq: readU64(buf, p + 40), rowsCrc: readU32(buf, p + 48) });
    p += MERKLE_INDEX_CHUNK_BYTES;
  }
  const partial = leafCount - nChunks * CHUNK_LEAVES;
  const partialRows = copyOf(buf, p, p + partial * MERKLE_INDEX_LEAF_BYTES);
  p += partialRows.length;
  const openTxns: MerkleIndexMeta['openTxns'] = [];
  const counts: number[] = [];
  for (let i = 0; i < nTxn; i++) {
    openTxns.push({ txn: readU64(buf, p), items: [] });
    counts.push(readU64(buf, p + 8));
    p += MERKLE_INDEX_TXN_BYTES;
  }
  if (counts.reduce((a, b) => a + b, 0) !== items) return 'open transaction item counts do not add up';
  for (let i = 0; i < nTxn; i++) {
    for (let k = 0; k < counts[i]!; k++) {
      openTxns[i]!.items.push({ seq: readU64(buf, p), hash: copyOf(buf, p + 8, p + 8 + MERKLE_HASH_BYTES) });
      p += MERKLE_INDEX_LEAF_BYTES;
    }
  }
  return { segments, leafCount, chunks, partialRows, openTxns, rowsOffset: size };
}
