/**
 * GAP frame (type 5): a repair's record of events it could not keep. It stands exactly
 * where the lost events were, so every check that walks the log in file order stays
 * simple: a sequence gap advances the expected global sequence by its count; an entity
 * gap advances that entity's clock by its count and sets its chain head to the resume
 * hash. Layout: gap-layout.ts and docs/FORMAT.md section 5.
 */
import { HASH_BYTES } from './hash/blake3.js';
import { copyBytes, readU16, readU32, readU64, toHex, utf8, utf8Decoder, writeU16, writeU32, writeU64 } from './bytes.js';
import { FRAME_PREFIX_BYTES, FrameType, sealFrame } from './frame.js';
import {
  GAP,
  GAP_ENTITY_FIXED_BODY_BYTES,
  GAP_MAX_COUNT,
  GAP_MAX_ENTITY_BYTES,
  GAP_REASON_NAMES,
  GAP_SEQUENCE_BODY_BYTES,
  GapKind,
  type GapReasonCode,
  gapLayoutOk,
} from './gap-layout.js';

export * from './gap-layout.js';

export interface SequenceGap {
  kind: typeof GapKind.SEQUENCE;
  /** First lost global sequence. */
  fromSeq: number;
  count: number;
  reason: GapReasonCode;
  repairedAtMs: number;
}

export interface EntityGap {
  kind: typeof GapKind.ENTITY;
  /** UTF-8 bytes of the entity. */
  entity: Uint8Array;
  /** First lost entity clock. */
  fromClock: number;
  count: number;
  /** prev_hash of the entity's next surviving event; zeros when none survives. */
  resumeHash: Uint8Array;
  /** The entity's wall time after the gap is at least this (the writer clamps to it). */
  wallFloorMs: number;
  reason: GapReasonCode;
  repairedAtMs: number;
}

export type GapRecord = SequenceGap | EntityGap;

function checkCommon(g: GapRecord): void {
  if (!Number.isSafeInteger(g.count) || g.count < 1 || g.count > GAP_MAX_COUNT) throw new RangeError(`gap count ${g.count} out of range 1..${GAP_MAX_COUNT}`);
  if (GAP_REASON_NAMES[g.reason] === undefined) throw new RangeError(`unknown gap reason ${g.reason}`);
  if (!Number.isSafeInteger(g.repairedAtMs) || g.repairedAtMs < 0) throw new RangeError('gap repair time out of range');
}

/** The size of the frame `encodeGapFrame` makes for `g`. */
export function gapFrameSize(g: GapRecord): number {
  return FRAME_PREFIX_BYTES + (g.kind === GapKind.SEQUENCE ? GAP_SEQUENCE_BODY_BYTES : GAP_ENTITY_FIXED_BODY_BYTES + g.entity.length);
}

/** Encodes a complete GAP frame (allocating: gap records are rare). */
export function encodeGapFrame(g: GapRecord): Uint8Array {
  checkCommon(g);
  const out = new Uint8Array(gapFrameSize(g));
  const b = FRAME_PREFIX_BYTES;
  if (g.kind === GapKind.SEQUENCE) {
    if (!Number.isSafeInteger(g.fromSeq) || g.fromSeq < 0) throw new RangeError('gap first sequence out of range');
    writeU64(out, b + GAP.FIRST, g.fromSeq);
  } else {
    if (!Number.isSafeInteger(g.fromClock) || g.fromClock < 0) throw new RangeError('gap first clock out of range');
    if (g.entity.length < 1 || g.entity.length > GAP_MAX_ENTITY_BYTES) throw new RangeError(`gap entity of ${g.entity.length} bytes`);
    if (g.resumeHash.length !== HASH_BYTES) throw new RangeError('gap resume hash must be 32 bytes');
    if (!Number.isSafeInteger(g.wallFloorMs) || g.wallFloorMs < 0) throw new RangeError('gap wall floor out of range');
    writeU64(out, b + GAP.FIRST, g.fromClock);
    out.set(g.resumeHash, b + GAP.RESUME_HASH);
    writeU64(out, b + GAP.WALL_FLOOR, g.wallFloorMs);
    writeU16(out, b + GAP.ENTITY_LEN, g.entity.length);
    out.set(g.entity, b + GAP.ENTITY);
  }
  writeU32(out, b + GAP.COUNT, g.count);
  out[b + GAP.KIND] = g.kind;
  out[b + GAP.REASON] = g.reason;
  writeU64(out, b + GAP.REPAIRED_AT, g.repairedAtMs);
  sealFrame(out, 0, FrameType.GAP, out.length - FRAME_PREFIX_BYTES);
  return out;
}

/**
 * Decodes a GAP body at buf[b, b + bodyBytes) whose frame checked out (so its layout
 * does). Returns null if a u64 field is beyond 2^53 (a reader treats that as corrupt).
 */
export function decodeGap(buf: Uint8Array, b: number, bodyBytes: number): GapRecord | null {
  if (!gapLayoutOk(buf, b, bodyBytes)) return null;
  for (const f of [GAP.FIRST, GAP.REPAIRED_AT]) if (readU32(buf, b + f + 4) > 0x1fffff) return null;
  const common = {
    count: readU32(buf, b + GAP.COUNT),
    reason: buf[b + GAP.REASON]! as GapReasonCode,
    repairedAtMs: readU64(buf, b + GAP.REPAIRED_AT),
  };
  if (buf[b + GAP.KIND] === GapKind.SEQUENCE) return { kind: GapKind.SEQUENCE, fromSeq: readU64(buf, b + GAP.FIRST), ...common };
  if (readU32(buf, b + GAP.WALL_FLOOR + 4) > 0x1fffff) return null;
  const e = readU16(buf, b + GAP.ENTITY_LEN);
  return {
    kind: GapKind.ENTITY,
    entity: copyBytes(buf, b + GAP.ENTITY, b + GAP.ENTITY + e),
    fromClock: readU64(buf, b + GAP.FIRST),
    resumeHash: copyBytes(buf, b + GAP.RESUME_HASH, b + GAP.RESUME_HASH + HASH_BYTES),
    wallFloorMs: readU64(buf, b + GAP.WALL_FLOOR),
    ...common,
  };
}

/** In-place accessors over a checked GAP body at `b` (hot paths: verify, recovery). */
export const gap = {
  kind: (buf: Uint8Array, b: number): number => buf[b + GAP.KIND]!,
  first: (buf: Uint8Array, b: number): number => readU64(buf, b + GAP.FIRST),
  count: (buf: Uint8Array, b: number): number => readU32(buf, b + GAP.COUNT),
  reason: (buf: Uint8Array, b: number): number => buf[b + GAP.REASON]!,
  repairedAtMs: (buf: Uint8Array, b: number): number => readU64(buf, b + GAP.REPAIRED_AT),
  wallFloorMs: (buf: Uint8Array, b: number): number => readU64(buf, b + GAP.WALL_FLOOR),
  resumeHashOffset: (b: number): number => b + GAP.RESUME_HASH,
  entityStart: (b: number): number => b + GAP.ENTITY,
  entityLen: (buf: Uint8Array, b: number): number => readU16(buf, b + GAP.ENTITY_LEN),
  entity: (buf: Uint8Array, b: number): string => utf8Decoder.decode(buf.subarray(b + GAP.ENTITY, b + GAP.ENTITY + readU16(buf, b + GAP.ENTITY_LEN))),
};

/** One line for verify and dump: what was lost, when, why. */
export function describeGap(g: GapRecord): string {
  const when = new Date(g.repairedAtMs).toISOString();
  const why = GAP_REASON_NAMES[g.reason] ?? `reason ${g.reason}`;
  if (g.kind === GapKind.SEQUENCE) {
    const last = g.fromSeq + g.count - 1;
    return `${g.count === 1 ? `sequence ${g.fromSeq}` : `sequences ${g.fromSeq}..${last}`} lost to a repair on ${when} (${why})`;
  }
  const entity = utf8Decoder.decode(g.entity);
  const last = g.fromClock + g.count - 1;
  return `${g.count === 1 ? `clock ${g.fromClock}` : `clocks ${g.fromClock}..${last}`} of entity ${entity} lost to a repair on ${when} (${why}); chain resumes at ${toHex(g.resumeHash).slice(0, 16)}…`;
}

/** UTF-8 of an entity name (for callers building entity gaps). */
export function entityBytes(entity: string): Uint8Array {
  return utf8.encode(entity);
}
