/**
 * index.ckpt: what a cold start needs so it can skip reading segments, plus what it
 * takes to tell that the checkpoint no longer matches them. Pure codec, no I/O;
 * docs/FORMAT.md ("Index checkpoint") is the reference.
 *
 *   header   magic "SGCK" | version u16 | reserved u16 | file size u64 |
 *            segments u32 | entities u32 | open txns u32 | reserved u32            32 bytes
 *   state    next seq u64 | next txn id u64 | committed events u64 |
 *            committed batches u64 | largest key/value version u64                  40 bytes
 *   segment  one per segment file, in id order                                      64 bytes
 *   open txn one per transaction open at the checkpoint                             24 bytes
 *   head     one per entity: length u16 | entity UTF-8 | clock u64 | wall ms u64 |
 *            last event hash (32)
 *   crc      crc32c of every byte before it                                          4 bytes
 */
import { crc32c } from './hash/crc32c.js';
import { readU16, readU32, readU64, writeU16, writeU32, writeU64 } from './bytes.js';
import { HASH_BYTES } from './hash/blake3.js';

/** "SGCK" as bytes. */
export const CKPT_MAGIC = Uint8Array.of(0x53, 0x47, 0x43, 0x4b);
export const CKPT_VERSION = 1;
export const CKPT_HEADER_BYTES = 32;
export const CKPT_STATE_BYTES = 40;
export const CKPT_SEGMENT_BYTES = 64;
export const CKPT_TXN_BYTES = 24;
export const CKPT_HEAD_FIXED_BYTES = 2 + 8 + 8 + HASH_BYTES;
export const CKPT_CRC_BYTES = 4;
/** How many bytes at the end of each segment the checkpoint fingerprints (see FORMAT.md). */
export const CKPT_TAIL_CHECK_BYTES = 4096;
/** A checkpoint larger than this is refused rather than loaded (1 M entities fit easily). */
export const CKPT_MAX_BYTES = 512 * 1024 * 1024;
const MAX_ENTITY_BYTES = 1024;

/** Footer state recorded per segment when the checkpoint was written. */
export const CkptFooter = { ABSENT: 0, VALID: 1 } as const;

export interface CkptSegment {
  id: number;
  fileSizeBytes: number;
  frameEnd: number;
  headerFirstSeq: number;
  eventFrames: number;
  /** -1 when the segment holds no EVENT frame. */
  firstSeq: number;
  lastSeq: number;
  /** crc32c of the last min(CKPT_TAIL_CHECK_BYTES, size) bytes of the file. */
  tailCrc: number;
  footer: number;
}

export interface CkptTxn {
  txnId: number;
  segIndex: number;
  offset: number;
  items: number;
}

export interface CkptHead {
  entity: Uint8Array;
  clock: number;
  wallMs: number;
  hash: Uint8Array;
}

export interface Checkpoint {
  nextSeq: number;
  nextTxnId: number;
  committedEvents: number;
  committedBatches: number;
  maxKvVersion: number;
  segments: CkptSegment[];
  openTxns: CkptTxn[];
  heads: CkptHead[];
}

const SEG = { ID: 0, SIZE: 8, FRAME_END: 16, HEADER_FIRST_SEQ: 24, FRAMES: 32, FIRST: 40, LAST: 48, TAIL_CRC: 56, FOOTER: 60 } as const;

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  let headBytes = 0;
  for (const h of c.heads) {
    if (h.entity.length === 0 || h.entity.length > MAX_ENTITY_BYTES || h.hash.length !== HASH_BYTES) throw new RangeError('checkpoint head out of range');
    headBytes += CKPT_HEAD_FIXED_BYTES + h.entity.length;
  }
  const total =
    CKPT_HEADER_BYTES + CKPT_STATE_BYTES + c.segments.length * CKPT_SEGMENT_BYTES + c.openTxns.length * CKPT_TXN_BYTES + headBytes + CKPT_CRC_BYTES;
  const out = new Uint8Array(total);
  out.set(CKPT_MAGIC, 0);
  writeU16(out, 4, CKPT_VERSION);
  writeU64(out, 8, total);
  writeU32(out, 16, c.segments.length);
  writeU32(out, 20, c.heads.length);
  writeU32(out, 24, c.openTxns.length);
  let p = CKPT_HEADER_BYTES;
  writeU64(out, p, c.nextSeq);
  writeU64(out, p + 8, c.nextTxnId);
  writeU64(out, p + 16, c.committedEvents);
  writeU64(out, p + 24, c.committedBatches);
  writeU64(out, p + 32, c.maxKvVersion);
  p += CKPT_STATE_BYTES;
  for (const s of c.segments) {
    writeU64(out, p + SEG.ID, s.id);
    writeU64(out, p + SEG.SIZE, s.fileSizeBytes);
    writeU64(out, p + SEG.FRAME_END, s.frameEnd);
    writeU64(out, p + SEG.HEADER_FIRST_SEQ, s.headerFirstSeq);
    writeU64(out, p + SEG.FRAMES, s.eventFrames);
    // sequences are stored plus one so that "none" (-1) is 0
    writeU64(out, p + SEG.FIRST, s.firstSeq + 1);
    writeU64(out, p + SEG.LAST, s.lastSeq + 1);
    writeU32(out, p + SEG.TAIL_CRC, s.tailCrc);
    out[p + SEG.FOOTER] = s.footer;
    p += CKPT_SEGMENT_BYTES;
  }
  for (const t of c.openTxns) {
    writeU64(out, p, t.txnId);
    writeU32(out, p + 8, t.segIndex);
    writeU32(out, p + 12, t.items);
    writeU64(out, p + 16, t.offset);
    p += CKPT_TXN_BYTES;
  }
  for (const h of c.heads) {
    writeU16(out, p, h.entity.length);
    out.set(h.entity, p + 2);
    p += 2 + h.entity.length;
    writeU64(out, p, h.clock);
    writeU64(out, p + 8, h.wallMs);
    out.set(h.hash, p + 16);
    p += 16 + HASH_BYTES;
  }
  writeU32(out, p, crc32c(out, 0, p));
  return out;
}

export type CheckpointResult = { ok: true; checkpoint: Checkpoint } | { ok: false; offset: number; message: string };

/** Decodes and checks a checkpoint file's bytes. Any failure means: do not use it. */
export function decodeCheckpoint(b: Uint8Array): CheckpointResult {
  const fail = (offset: number, message: string): CheckpointResult => ({ ok: false, offset, message });
  if (b.length < CKPT_HEADER_BYTES + CKPT_STATE_BYTES + CKPT_CRC_BYTES) return fail(0, `checkpoint of ${b.length} bytes is too short`);
  for (let i = 0; i < 4; i++) if (b[i] !== CKPT_MAGIC[i]) return fail(0, 'not a checkpoint (bad magic)');
  const crcAt = b.length - CKPT_CRC_BYTES;
  if (readU32(b, crcAt) !== crc32c(b, 0, crcAt)) return fail(crcAt, 'checkpoint checksum mismatch');
  if (readU16(b, 4) !== CKPT_VERSION) return fail(4, `unsupported checkpoint version ${readU16(b, 4)}`);
  if (readU64(b, 8) !== b.length) return fail(8, `checkpoint says ${readU64(b, 8)} bytes but has ${b.length}`);
  const nSeg = readU32(b, 16);
  const nHeads = readU32(b, 20);
  const nTxns = readU32(b, 24);
  let p = CKPT_HEADER_BYTES;
  const fixedEnd = p + CKPT_STATE_BYTES + nSeg * CKPT_SEGMENT_BYTES + nTxns * CKPT_TXN_BYTES;
  if (fixedEnd + nHeads * (CKPT_HEAD_FIXED_BYTES + 1) > crcAt) return fail(16, 'checkpoint counts do not fit its size');
  const c: Checkpoint = {
    nextSeq: readU64(b, p),
    nextTxnId: readU64(b, p + 8),
    committedEvents: readU64(b, p + 16),
    committedBatches: readU64(b, p + 24),
    maxKvVersion: readU64(b, p + 32),
    segments: [],
    openTxns: [],
    heads: [],
  };
  p += CKPT_STATE_BYTES;
  for (let i = 0; i < nSeg; i++) {
    c.segments.push({
      id: readU64(b, p + SEG.ID),
      fileSizeBytes: readU64(b, p + SEG.SIZE),
      frameEnd: readU64(b, p + SEG.FRAME_END),
      headerFirstSeq: readU64(b, p + SEG.HEADER_FIRST_SEQ),
      eventFrames: readU64(b, p + SEG.FRAMES),
      firstSeq: readU64(b, p + SEG.FIRST) - 1,
      lastSeq: readU64(b, p + SEG.LAST) - 1,
      tailCrc: readU32(b, p + SEG.TAIL_CRC),
      footer: b[p + SEG.FOOTER]!,
    });
    p += CKPT_SEGMENT_BYTES;
  }
  for (let i = 0; i < nTxns; i++) {
    c.openTxns.push({ txnId: readU64(b, p), segIndex: readU32(b, p + 8), items: readU32(b, p + 12), offset: readU64(b, p + 16) });
    p += CKPT_TXN_BYTES;
  }
  for (let i = 0; i < nHeads; i++) {
    if (p + 2 > crcAt) return fail(p, `checkpoint ends inside entity head ${i}`);
    const len = readU16(b, p);
    if (len === 0 || len > MAX_ENTITY_BYTES || p + CKPT_HEAD_FIXED_BYTES + len > crcAt) return fail(p, `entity head ${i} has an impossible length ${len}`);
    const entity = b.subarray(p + 2, p + 2 + len);
    p += 2 + len;
    c.heads.push({ entity, clock: readU64(b, p), wallMs: readU64(b, p + 8), hash: b.subarray(p + 16, p + 16 + HASH_BYTES) });
    p += 16 + HASH_BYTES;
  }
  if (p !== crcAt) return fail(p, `${crcAt - p} unexplained bytes before the checksum`);
  return { ok: true, checkpoint: c };
}
