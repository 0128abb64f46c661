/**
 * Looking inside a damaged range: what frames it still seems to hold (unverified
 * "claims", used only to say which events were lost and where a gap record belongs),
 * and whether intact frames hide inside it (a length field damaged so that it points
 * exactly at a later frame boundary makes the walker skip the intact frames between).
 */
import { readU32 } from '../../format/bytes.js';
import { checkEventLayout, ev, EV } from '../../format/event.js';
import { checkFrame, FRAME_HEADER_BYTES, FRAME_PREFIX_BYTES, FrameStatus, FrameType, type FrameSlot, MIN_FRAME_LENGTH } from '../../format/frame.js';

/** Bytes of a damaged range read to look for claims; the rest is only quarantined. */
export const CLAIM_SCAN_MAX_BYTES = 4 * 1024 * 1024;
/** Frames a tiling check may walk inside one damaged frame. */
const TILING_MAX_FRAMES = 4096;

/** What a damaged frame says about the event it held, before anyone trusts it. */
export interface Claim {
  /** File offset of the claimed frame. */
  offset: number;
  seq: number;
  clock: number;
  wallMs: number;
  txnId: number;
  /** Entity name (UTF-8 decoded, as the planner's map keys are). */
  key: string;
  /** Set by the planner: the sequence fits where the range is. */
  seqCredible: boolean;
  /** Set by the planner: names a known entity and continues its clock exactly. */
  entityCredible: boolean;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Reads frames laid end to end from the start of `bytes` (a damaged range starting at
 * file offset `baseOffset`) as long as their lengths and layouts are plausible,
 * ignoring CRCs. Every EVENT-shaped frame becomes a claim; parsing stops at the first
 * frame that does not even look like one.
 */
export function parseClaims(bytes: Uint8Array, baseOffset: number): Claim[] {
  const out: Claim[] = [];
  let p = 0;
  while (bytes.length - p >= FRAME_PREFIX_BYTES) {
    const length = readU32(bytes, p);
    const type = bytes[p + 8]!;
    const min = MIN_FRAME_LENGTH[type];
    if (min === undefined || length < min || FRAME_HEADER_BYTES + length > bytes.length - p) break;
    if (type === FrameType.EVENT) {
      const b = p + FRAME_PREFIX_BYTES;
      if (checkEventLayout(bytes, b, length - 1) !== null) break;
      out.push({
        offset: baseOffset + p,
        seq: ev.seq(bytes, b),
        clock: ev.clock(bytes, b),
        wallMs: ev.wallMs(bytes, b),
        txnId: ev.txnId(bytes, b),
        key: asBuffer(bytes).toString('utf8', b + EV.VAR, b + EV.VAR + ev.entityLen(bytes, b)),
        seqCredible: false,
        entityCredible: false,
      });
    }
    p += FRAME_HEADER_BYTES + length;
  }
  return out;
}

/**
 * For a damaged frame whose claimed length led to a valid frame: the first offset
 * inside it (relative to `bytes`) from which valid frames tile exactly to its end, or
 * -1. Such frames are intact ones the damaged length skipped over. Random bytes pass a
 * frame check with negligible probability, and an embedded frame inside a payload
 * cannot end exactly where its enclosing EVENT frame ends (the event hash comes last).
 */
export function intactSuffixStart(bytes: Uint8Array): number {
  const slot: FrameSlot = { type: 0, length: 0, sizeBytes: 0 };
  const end = bytes.length;
  for (let q = 1; q + FRAME_PREFIX_BYTES <= end; q++) {
    if (checkFrame(bytes, q, end, slot) !== FrameStatus.Valid) continue;
    let p = q + slot.sizeBytes;
    let frames = 1;
    while (p < end && frames < TILING_MAX_FRAMES && checkFrame(bytes, p, end, slot) === FrameStatus.Valid) {
      p += slot.sizeBytes;
      frames++;
    }
    if (p === end) return q;
  }
  return -1;
}

/** An EVENT frame that checks out, found where the walker would not look (inside a torn tail). */
export interface FoundEvent {
  offset: number;
  seq: number;
  entity: string;
  txnId: number;
}

/**
 * Every valid EVENT frame in `bytes` (file offset `baseOffset`), searching byte by byte
 * past anything that is not a frame: a torn tail may hold whole frames after a hole
 * (a reordered write that survived), and a repair that cuts them says so.
 */
export function validEventsIn(bytes: Uint8Array, baseOffset: number): FoundEvent[] {
  const out: FoundEvent[] = [];
  const slot: FrameSlot = { type: 0, length: 0, sizeBytes: 0 };
  for (let p = 0; p + FRAME_PREFIX_BYTES <= bytes.length; ) {
    if (checkFrame(bytes, p, bytes.length, slot) !== FrameStatus.Valid) {
      p++;
      continue;
    }
    if (slot.type === FrameType.EVENT && checkEventLayout(bytes, p + FRAME_PREFIX_BYTES, slot.length - 1) === null) {
      const b = p + FRAME_PREFIX_BYTES;
      out.push({ offset: baseOffset + p, seq: ev.seq(bytes, b), entity: ev.entity(bytes, b), txnId: ev.txnId(bytes, b) });
    }
    p += slot.sizeBytes;
  }
  return out;
}
