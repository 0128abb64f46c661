import { crc32c } from './hash/crc32c.js';
import { readU32, writeU32 } from './bytes.js';
import { EVENT_FIXED_BODY_BYTES, eventLengthsAddUp } from './event-layout.js';
import { GAP_MAX_BODY_BYTES, GAP_SEQUENCE_BODY_BYTES, gapLayoutOk } from './gap-layout.js';

/**
 * Frame = length u32 LE | crc32c u32 LE | type u8 | body (length - 1 bytes).
 * `length` counts the type byte and the body; the CRC covers exactly those bytes.
 */
export const FRAME_HEADER_BYTES = 8;
/** Bytes before the body: length, crc, type. */
export const FRAME_PREFIX_BYTES = 9;
/** Upper bound of `length`; anything larger is corrupt framing, never an allocation. */
export const MAX_FRAME_LENGTH = 32 * 1024 * 1024;

export const FrameType = {
  EVENT: 1,
  BEGIN: 2,
  COMMIT: 3,
  ABORT: 4,
  GAP: 5,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_TYPE_NAMES: Record<number, string> = {
  1: 'EVENT',
  2: 'BEGIN',
  3: 'COMMIT',
  4: 'ABORT',
  5: 'GAP',
};

/** Smallest legal `length` per type (type byte + fixed body). */
export const MIN_FRAME_LENGTH: Record<number, number> = {
  1: 1 + EVENT_FIXED_BODY_BYTES + 1,
  2: 1 + 12,
  3: 1 + 12,
  4: 1 + 8,
  5: 1 + GAP_SEQUENCE_BODY_BYTES,
};
/** Largest legal `length` of a GAP frame (an entity gap with the longest entity). */
const MAX_GAP_FRAME_LENGTH = 1 + GAP_MAX_BODY_BYTES;
/** Marker frames have exactly this `length`; anything else is broken framing. */
const EXACT_FRAME_LENGTH: Record<number, number> = { 2: 13, 3: 13, 4: 9 };

export const enum FrameStatus {
  /** a whole frame with a matching CRC */
  Valid = 0,
  /** the buffer ends exactly here */
  End = 1,
  /** header or body runs past the end of the data: a torn write */
  Truncated = 2,
  /** the header is all zeros: unwritten (preallocated or lost) space */
  Zero = 3,
  /** the length is impossible (0, over the limit) or the type is unknown: framing broken */
  BadFraming = 4,
  /** length and type are plausible and the bytes are there, but the CRC does not match */
  CrcMismatch = 5,
}

/** Result slots of `checkFrame`, reused by callers to avoid per-frame allocation. */
export interface FrameSlot {
  type: number;
  /** `length` field: type byte + body */
  length: number;
  /** total bytes of the frame: prefix + body */
  sizeBytes: number;
}

/** CRC-32C of buf[start, end): `crc32c`, or an in-place kernel for a reader's arena buffer. */
export type CrcOf = (buf: Uint8Array, start: number, end: number) => number;

/**
 * Checks the frame at buf[off, end) and fills `slot`. Every length read is bounded
 * by what is left before `end`: an absurd length never causes a read past it.
 */
export function checkFrame(buf: Uint8Array, off: number, end: number, slot: FrameSlot, crcOf: CrcOf = crc32c): FrameStatus {
  const left = end - off;
  if (left === 0) return FrameStatus.End;
  if (left < FRAME_PREFIX_BYTES) {
    return isZeroRange(buf, off, end) ? FrameStatus.Zero : FrameStatus.Truncated;
  }
  const length = readU32(buf, off);
  const type = buf[off + 8]!;
  slot.type = type;
  slot.length = length;
  slot.sizeBytes = FRAME_HEADER_BYTES + length;
  if (length === 0 && type === 0 && readU32(buf, off + 4) === 0) return FrameStatus.Zero;
  const min = MIN_FRAME_LENGTH[type];
  if (min === undefined || length < min || length > MAX_FRAME_LENGTH) return FrameStatus.BadFraming;
  const exact = EXACT_FRAME_LENGTH[type];
  if (exact !== undefined && length !== exact) return FrameStatus.BadFraming;
  if (type === 5 && length > MAX_GAP_FRAME_LENGTH) return FrameStatus.BadFraming;
  if (FRAME_HEADER_BYTES + length > left) return FrameStatus.Truncated;
  // structure before checksum: keeps a resync over garbage linear
  if (type === 1 && !eventLengthsAddUp(buf, off + 9, length - 1)) return FrameStatus.BadFraming;
  if (type === 5 && !gapLayoutOk(buf, off + 9, length - 1)) return FrameStatus.BadFraming;
  const stored = readU32(buf, off + 4);
  if (crcOf(buf, off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length) !== stored) return FrameStatus.CrcMismatch;
  return FrameStatus.Valid;
}

function isZeroRange(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Fills in length, CRC and type for a frame whose body already sits at
 * buf[off + 9, off + 9 + bodyBytes). Returns the frame's total size.
 */
export function sealFrame(buf: Uint8Array, off: number, type: FrameTypeCode, bodyBytes: number): number {
  const length = 1 + bodyBytes;
  writeU32(buf, off, length);
  buf[off + 8] = type;
  writeU32(buf, off + 4, crc32c(buf, off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length));
  return FRAME_HEADER_BYTES + length;
}

/**
 * Writes the CRC of every frame of buf[0, len) (whole frames, back to back, their length
 * and type already there), computed by `crc(start, end)` over the same buffer: frames
 * whose CRC was left for later (bulk chunks handed to the write-behind thread, issue 18).
 */
export function sealFrameCrcs(buf: Uint8Array, len: number, crc: (start: number, end: number) => number): void {
  for (let off = 0; off < len; ) {
    const length = readU32(buf, off);
    writeU32(buf, off + 4, crc(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + length));
    off += FRAME_HEADER_BYTES + length;
  }
}

/** Encodes a complete frame from a body (allocating; for rare frames such as markers). */
export function encodeFrame(type: FrameTypeCode, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_PREFIX_BYTES + body.length);
  out.set(body, FRAME_PREFIX_BYTES);
  sealFrame(out, 0, type, body.length);
  return out;
}
