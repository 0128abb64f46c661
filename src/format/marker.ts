import { readU32, readU64, writeU32, writeU64 } from './bytes.js';
import { FRAME_PREFIX_BYTES, FrameType, sealFrame } from './frame.js';

/**
 * Marker frames frame a transaction (an atomic batch is a transaction too).
 *  BEGIN  body: txn id u64 | item count u32 (0 = not known up front)   12 bytes
 *  COMMIT body: txn id u64 | item count u32 (items the txn wrote)      12 bytes
 *  ABORT  body: txn id u64                                               8 bytes
 */
export const MARKER_BODY_BYTES = { BEGIN: 12, COMMIT: 12, ABORT: 8 } as const;
export const MARKER_FRAME_BYTES = FRAME_PREFIX_BYTES + 12;

export function encodeBegin(buf: Uint8Array, off: number, txnId: number, itemCount: number): number {
  writeU64(buf, off + FRAME_PREFIX_BYTES, txnId);
  writeU32(buf, off + FRAME_PREFIX_BYTES + 8, itemCount);
  return sealFrame(buf, off, FrameType.BEGIN, MARKER_BODY_BYTES.BEGIN);
}

export function encodeCommit(buf: Uint8Array, off: number, txnId: number, itemCount: number): number {
  writeU64(buf, off + FRAME_PREFIX_BYTES, txnId);
  writeU32(buf, off + FRAME_PREFIX_BYTES + 8, itemCount);
  return sealFrame(buf, off, FrameType.COMMIT, MARKER_BODY_BYTES.COMMIT);
}

export function encodeAbort(buf: Uint8Array, off: number, txnId: number): number {
  writeU64(buf, off + FRAME_PREFIX_BYTES, txnId);
  return sealFrame(buf, off, FrameType.ABORT, MARKER_BODY_BYTES.ABORT);
}

/** Marker fields read in place from a body at `b`. */
export function markerTxnId(buf: Uint8Array, b: number): number {
  return readU64(buf, b);
}
export function markerCount(buf: Uint8Array, b: number): number {
  return readU32(buf, b + 8);
}
