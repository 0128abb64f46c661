/**
 * The base of a pruned store (`base`, docs/FORMAT.md section 11): the state of the log
 * at the cut, which readers of the remaining segments start from instead of sequence 0.
 *
 *   | header (80) | open transactions (T × 16) | entity heads (variable) | CRC-32C (4) |
 *
 * Entity head: entity length u16 | entity UTF-8 | clock u64 | last wall ms u64 | last event_hash (32).
 * Open transaction: transaction id u64 | items so far u32 | reserved u32.
 */
import { readU16, readU32, readU64, utf8, writeU16, writeU32, writeU64 } from './bytes.js';
import { crc32c } from './hash/crc32c.js';
import { HASH_BYTES } from './hash/blake3.js';

export const BASE_FILE = 'base';
export const BASE_MAGIC = 0x53414253; // 'SBAS' little-endian
export const BASE_VERSION = 1;
export const BASE_HEADER_BYTES = 80;
export const BASE_OPEN_TXN_BYTES = 16;
/** Fixed part of an entity head: length u16, clock u64, wall u64, hash. */
const HEAD_FIXED_BYTES = 2 + 8 + 8 + HASH_BYTES;
const MAX_ENTITY_BYTES = 1024;

export interface BaseHead {
  clock: number;
  wallMs: number;
  hash: Uint8Array;
}

export interface PruneBase {
  /** Segments with a smaller id were pruned. */
  firstSegmentId: number;
  nextSeq: number;
  nextTxnId: number;
  maxKvVersion: number;
  /** Committed events and batches (transactions) before the cut. */
  committedEvents: number;
  committedBatches: number;
  prunedAtMs: number;
  /** Transactions open at the cut (none of them commits later: prune never splits one that does). */
  openTxns: { txnId: number; items: number }[];
  heads: Map<string, BaseHead>;
}

export function encodeBase(b: PruneBase): Uint8Array {
  const names = [...b.heads.keys()].sort();
  const encoded = names.map((n) => utf8.encode(n));
  let size = BASE_HEADER_BYTES + BASE_OPEN_TXN_BYTES * b.openTxns.length + 4;
  for (const e of encoded) size += HEAD_FIXED_BYTES + e.length;
  const out = new Uint8Array(size);
  writeU32(out, 0, BASE_MAGIC);
  writeU16(out, 4, BASE_VERSION);
  writeU64(out, 8, b.firstSegmentId);
  writeU64(out, 16, b.nextSeq);
  writeU64(out, 24, b.nextTxnId);
  writeU64(out, 32, b.maxKvVersion);
  writeU64(out, 40, b.committedEvents);
  writeU64(out, 48, b.committedBatches);
  writeU64(out, 56, b.prunedAtMs);
  writeU32(out, 64, names.length);
  writeU32(out, 68, b.openTxns.length);
  writeU64(out, 72, size);
  let at = BASE_HEADER_BYTES;
  for (const t of b.openTxns) {
    writeU64(out, at, t.txnId);
    writeU32(out, at + 8, t.items);
    at += BASE_OPEN_TXN_BYTES;
  }
  names.forEach((n, i) => {
    const h = b.heads.get(n)!;
    const e = encoded[i]!;
    writeU16(out, at, e.length);
    out.set(e, at + 2);
    at += 2 + e.length;
    writeU64(out, at, h.clock);
    writeU64(out, at + 8, h.wallMs);
    out.set(h.hash, at + 16);
    at += 16 + HASH_BYTES;
  });
  writeU32(out, at, crc32c(out, 0, at));
  return out;
}

/** Decodes a base file; returns why when it is not one. */
export function decodeBase(buf: Uint8Array): PruneBase | string {
  if (buf.length < BASE_HEADER_BYTES + 4) return `too short for a base (${buf.length} bytes)`;
  if (readU32(buf, 0) !== BASE_MAGIC) return 'not a seglog base (bad magic)';
  if (readU16(buf, 4) !== BASE_VERSION) return `base version ${readU16(buf, 4)} is not supported`;
  if (readU64(buf, 72) !== buf.length) return `size field says ${readU64(buf, 72)} bytes, the file has ${buf.length}`;
  if (readU32(buf, buf.length - 4) !== crc32c(buf, 0, buf.length - 4)) return 'CRC mismatch';
  const headCount = readU32(buf, 64);
  const txnCount = readU32(buf, 68);
  const end = buf.length - 4;
  let at = BASE_HEADER_BYTES;
  const openTxns: PruneBase['openTxns'] = [];
  for (let i = 0; i < txnCount; i++) {
    if (at + BASE_OPEN_TXN_BYTES > end) return 'open transactions run past the end';
    openTxns.push({ txnId: readU64(buf, at), items: readU32(buf, at + 8) });
    at += BASE_OPEN_TXN_BYTES;
  }
  const heads = new Map<string, BaseHead>();
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < headCount; i++) {
    if (at + 2 > end) return 'entity heads run past the end';
    const len = readU16(buf, at);
    if (len < 1 || len > MAX_ENTITY_BYTES || at + HEAD_FIXED_BYTES + len > end) return `entity head ${i} is malformed`;
    const name = text.toString('utf8', at + 2, at + 2 + len);
    at += 2 + len;
    const hash = new Uint8Array(HASH_BYTES);
    hash.set(buf.subarray(at + 16, at + 16 + HASH_BYTES));
    heads.set(name, { clock: readU64(buf, at), wallMs: readU64(buf, at + 8), hash });
    at += 16 + HASH_BYTES;
  }
  if (at !== end) return `${end - at} bytes after the last entity head`;
  return {
    firstSegmentId: readU64(buf, 8),
    nextSeq: readU64(buf, 16),
    nextTxnId: readU64(buf, 24),
    maxKvVersion: readU64(buf, 32),
    committedEvents: readU64(buf, 40),
    committedBatches: readU64(buf, 48),
    prunedAtMs: readU64(buf, 56),
    openTxns,
    heads,
  };
}
