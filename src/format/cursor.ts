import { crc32c } from './hash/crc32c.js';
import { readU16, readU32, readU64, writeU16, writeU32, writeU64 } from './bytes.js';

/**
 * A cursor file (`cursors/<name>.cur`): where a named reader has durably got to.
 *
 *  off size field
 *    0    4 magic "SCUR"
 *    4    2 version (1)
 *    6    2 reserved (0)
 *    8    8 delivered-through segment id   } events whose batch completes at or after
 *   16    8 delivered-through offset       } this frame position are not yet delivered
 *   24    8 resume-from segment id         } where the reader restarts scanning: the BEGIN of
 *   32    8 resume-from offset             } the oldest transaction open at that position
 *   40    8 events delivered so far
 *   48    8 sequence of the last delivered event + 1 (0 = none yet), a sanity check
 *   56    4 CRC-32C of bytes [0, 56)
 */
export const CURSOR_MAGIC = Uint8Array.of(0x53, 0x43, 0x55, 0x52);
export const CURSOR_FILE_BYTES = 60;
export const CURSOR_VERSION = 1;
/** Cursor names are file names: keep them portable and short. */
export const CURSOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface FramePosition {
  segmentId: number;
  offset: number;
}

export interface CursorState {
  deliveredThrough: FramePosition;
  resumeFrom: FramePosition;
  delivered: number;
  /** Sequence of the last delivered event + 1; 0 before any. */
  lastSeqPlusOne: number;
}

export function encodeCursor(c: CursorState): Uint8Array {
  const b = new Uint8Array(CURSOR_FILE_BYTES);
  b.set(CURSOR_MAGIC, 0);
  writeU16(b, 4, CURSOR_VERSION);
  writeU64(b, 8, c.deliveredThrough.segmentId);
  writeU64(b, 16, c.deliveredThrough.offset);
  writeU64(b, 24, c.resumeFrom.segmentId);
  writeU64(b, 32, c.resumeFrom.offset);
  writeU64(b, 40, c.delivered);
  writeU64(b, 48, c.lastSeqPlusOne);
  writeU32(b, 56, crc32c(b, 0, 56));
  return b;
}

export function decodeCursor(b: Uint8Array): CursorState | string {
  if (b.length !== CURSOR_FILE_BYTES) return `cursor file is ${b.length} bytes, expected ${CURSOR_FILE_BYTES}`;
  for (let i = 0; i < 4; i++) if (b[i] !== CURSOR_MAGIC[i]) return 'not a cursor file (bad magic)';
  if (readU32(b, 56) !== crc32c(b, 0, 56)) return 'cursor checksum mismatch';
  if (readU16(b, 4) !== CURSOR_VERSION) return `unsupported cursor version ${readU16(b, 4)}`;
  return {
    deliveredThrough: { segmentId: readU64(b, 8), offset: readU64(b, 16) },
    resumeFrom: { segmentId: readU64(b, 24), offset: readU64(b, 32) },
    delivered: readU64(b, 40),
    lastSeqPlusOne: readU64(b, 48),
  };
}
