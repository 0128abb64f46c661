/**
 * Key/value snapshot files (`snapshots/<segment>-<offset>.snap`, docs/FORMAT.md section 10).
 *
 * A snapshot is the state replay reaches at a position of the log, plus what replay
 * needs to continue from there exactly as a full replay would: the position itself,
 * where to resume scanning (the BEGIN of the oldest transaction still open there), the
 * statistics so far, and the length and CRC of two frames (the last one before the
 * position and the resume frame) so that a snapshot that no longer matches the log is
 * recognised before it is used.
 *
 *   | header (160) | entries ... | BLAKE3-256 of everything before (32) |
 *
 * Entry: key length u16 | value length u32 | version u64 | key (UTF-8) | value (JSON text).
 */
import { readU16, readU32, readU64, writeU16, writeU32, writeU64 } from './bytes.js';

export const SNAPSHOT_MAGIC = 0x504e5353; // 'SSNP' little-endian
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 160;
export const SNAPSHOT_HASH_BYTES = 32;
/** Fixed part of an entry: key length u16, value length u32, version u64. */
export const SNAPSHOT_ENTRY_FIXED_BYTES = 14;
/** Largest snapshot file a reader loads (it is read whole). */
export const SNAPSHOT_MAX_BYTES = 2 * 1024 * 1024 * 1024 - 1;
export const SNAPSHOT_SUFFIX = '.snap';
export const SNAPSHOTS_DIR = 'snapshots';

/** A byte position in the log: a frame boundary. */
export interface LogPosition {
  segmentId: number;
  offset: number;
}

/** A frame identified by where it is and what its header says (length and CRC fields). */
export interface FrameMark extends LogPosition {
  length: number;
  crc: number;
}

export interface SnapshotStats {
  txnsApplied: number;
  writesApplied: number;
  deletesApplied: number;
  discardedTxns: number;
  abortedTxns: number;
  orphanedEntries: number;
}

export interface SnapshotHeader {
  /** Everything before this position is reflected in the snapshot. */
  position: LogPosition;
  /** Replay restarts its scan here (== position when no transaction was open there). */
  resume: FrameMark | null;
  /** The last frame before `position` (null: the log was empty). */
  lastFrame: FrameMark | null;
  nextSeq: number;
  nextTxnId: number;
  finalVersion: number;
  entryCount: number;
  stats: SnapshotStats;
  createdMs: number;
}

const O = {
  MAGIC: 0,
  VERSION: 4,
  POS_SEG: 8,
  POS_OFF: 16,
  RES_SEG: 24,
  RES_OFF: 32,
  RES_LEN: 40,
  RES_CRC: 44,
  LAST_SEG: 48,
  LAST_OFF: 56,
  LAST_LEN: 64,
  LAST_CRC: 68,
  NEXT_SEQ: 72,
  NEXT_TXN: 80,
  FINAL_VERSION: 88,
  ENTRIES: 96,
  STATS: 104,
  CREATED: 152,
} as const;
const STAT_FIELDS: (keyof SnapshotStats)[] = ['txnsApplied', 'writesApplied', 'deletesApplied', 'discardedTxns', 'abortedTxns', 'orphanedEntries'];

export function encodeSnapshotHeader(h: SnapshotHeader): Uint8Array {
  const b = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  writeU32(b, O.MAGIC, SNAPSHOT_MAGIC);
  writeU16(b, O.VERSION, SNAPSHOT_VERSION);
  writeU64(b, O.POS_SEG, h.position.segmentId);
  writeU64(b, O.POS_OFF, h.position.offset);
  const res = h.resume ?? { ...h.position, length: 0, crc: 0 };
  writeU64(b, O.RES_SEG, res.segmentId);
  writeU64(b, O.RES_OFF, res.offset);
  writeU32(b, O.RES_LEN, res.length);
  writeU32(b, O.RES_CRC, res.crc);
  const last = h.lastFrame ?? { segmentId: 0, offset: 0, length: 0, crc: 0 };
  writeU64(b, O.LAST_SEG, last.segmentId);
  writeU64(b, O.LAST_OFF, last.offset);
  writeU32(b, O.LAST_LEN, last.length);
  writeU32(b, O.LAST_CRC, last.crc);
  writeU64(b, O.NEXT_SEQ, h.nextSeq);
  writeU64(b, O.NEXT_TXN, h.nextTxnId);
  writeU64(b, O.FINAL_VERSION, h.finalVersion);
  writeU64(b, O.ENTRIES, h.entryCount);
  STAT_FIELDS.forEach((k, i) => writeU64(b, O.STATS + 8 * i, h.stats[k]));
  writeU64(b, O.CREATED, h.createdMs);
  return b;
}

/** Decodes a header; returns a reason string when it is not one. */
export function decodeSnapshotHeader(b: Uint8Array): SnapshotHeader | string {
  if (b.length < SNAPSHOT_HEADER_BYTES + SNAPSHOT_HASH_BYTES) return `too short for a snapshot (${b.length} bytes)`;
  if (readU32(b, O.MAGIC) !== SNAPSHOT_MAGIC) return 'not a seglog snapshot (bad magic)';
  const version = readU16(b, O.VERSION);
  if (version !== SNAPSHOT_VERSION) return `snapshot version ${version} is not supported`;
  const position = { segmentId: readU64(b, O.POS_SEG), offset: readU64(b, O.POS_OFF) };
  const resLen = readU32(b, O.RES_LEN);
  const lastLen = readU32(b, O.LAST_LEN);
  const stats = {} as SnapshotStats;
  STAT_FIELDS.forEach((k, i) => (stats[k] = readU64(b, O.STATS + 8 * i)));
  const h: SnapshotHeader = {
    position,
    resume: resLen === 0 ? null : { segmentId: readU64(b, O.RES_SEG), offset: readU64(b, O.RES_OFF), length: resLen, crc: readU32(b, O.RES_CRC) },
    lastFrame: lastLen === 0 ? null : { segmentId: readU64(b, O.LAST_SEG), offset: readU64(b, O.LAST_OFF), length: lastLen, crc: readU32(b, O.LAST_CRC) },
    nextSeq: readU64(b, O.NEXT_SEQ),
    nextTxnId: readU64(b, O.NEXT_TXN),
    finalVersion: readU64(b, O.FINAL_VERSION),
    entryCount: readU64(b, O.ENTRIES),
    stats,
    createdMs: readU64(b, O.CREATED),
  };
  const numbers = [position.segmentId, position.offset, h.nextSeq, h.nextTxnId, h.finalVersion, h.entryCount, ...Object.values(stats)];
  if (numbers.some((n) => n > Number.MAX_SAFE_INTEGER)) return 'a header field is beyond 2^53';
  if (h.resume && comparePositions(h.resume, position) > 0) return 'resume position is after the snapshot position';
  return h;
}

/** Writes an entry's fixed part at b[off]; returns the entry's total size. */
export function writeEntryFixed(b: Uint8Array, off: number, keyBytes: number, valueBytes: number, version: number): void {
  writeU16(b, off, keyBytes);
  writeU32(b, off + 2, valueBytes);
  writeU64(b, off + 6, version);
}

export const entryKeyBytes = (b: Uint8Array, off: number): number => readU16(b, off);
export const entryValueBytes = (b: Uint8Array, off: number): number => readU32(b, off + 2);
export const entryVersion = (b: Uint8Array, off: number): number => readU64(b, off + 6);

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.segmentId - b.segmentId || a.offset - b.offset;
}

/** `0000000003-000000001234.snap`: names sort in position order. */
export function snapshotFileName(p: LogPosition): string {
  return `${String(p.segmentId).padStart(10, '0')}-${String(p.offset).padStart(12, '0')}${SNAPSHOT_SUFFIX}`;
}

const NAME = /^(\d{10})-(\d{12})\.snap$/;
export function parseSnapshotFileName(name: string): LogPosition | null {
  const m = NAME.exec(name);
  return m ? { segmentId: Number(m[1]), offset: Number(m[2]) } : null;
}
