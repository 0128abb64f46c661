/**
 * GAP frame body layout (docs/FORMAT.md section 5). Kept apart from gap.ts, like
 * event-layout.ts, so the frame checker can test a gap body's exact structure before
 * paying for its CRC without importing the codec (which imports frame.ts).
 *
 *  off  size  field
 *    0     8  first: kind 1 = first lost global sequence; kind 2 = first lost entity clock
 *    8     4  count of lost sequences / links (1 .. 2^32 - 1)
 *   12     1  kind: 1 = a run of lost global sequences, 2 = lost links of one entity's chain
 *   13     1  reason code (GapReason)
 *   14     8  repair time, ms since the Unix epoch
 *   -- kind 1 ends here: 22 bytes
 *   22    32  resume hash: the prev_hash of the entity's next surviving event (zeros if none)
 *   54     8  wall floor ms: the entity's wall time does not go below this after the gap
 *   62     2  entity length E (1 .. 1024)
 *   64     E  entity (UTF-8)
 */
export const GAP = {
  FIRST: 0,
  COUNT: 8,
  KIND: 12,
  REASON: 13,
  REPAIRED_AT: 14,
  RESUME_HASH: 22,
  WALL_FLOOR: 54,
  ENTITY_LEN: 62,
  ENTITY: 64,
} as const;

export const GapKind = { SEQUENCE: 1, ENTITY: 2 } as const;
export type GapKindCode = (typeof GapKind)[keyof typeof GapKind];

/** Why the events were lost; stored so `verify` can say it. */
export const GapReason = {
  /** frames whose CRC or framing was damaged, quarantined */
  CORRUPT_FRAMES: 1,
  /** a sealed segment that ended inside a frame */
  TRUNCATED_SEGMENT: 2,
  /** an event whose bytes no longer match its event_hash, or whose fields are out of range */
  BAD_EVENT: 3,
  /** events absent without damaged bytes where they were (a missing segment file) */
  MISSING: 4,
} as const;
export type GapReasonCode = (typeof GapReason)[keyof typeof GapReason];

export const GAP_REASON_NAMES: Record<number, string> = {
  1: 'corrupt_frames',
  2: 'truncated_segment',
  3: 'bad_event',
  4: 'missing',
};

/** Body of a sequence gap record (kind 1): exactly this many bytes. */
export const GAP_SEQUENCE_BODY_BYTES = 22;
/** Body of an entity gap record (kind 2) before the entity bytes. */
export const GAP_ENTITY_FIXED_BODY_BYTES = 64;
export const GAP_MAX_ENTITY_BYTES = 1024;
export const GAP_MAX_BODY_BYTES = GAP_ENTITY_FIXED_BODY_BYTES + GAP_MAX_ENTITY_BYTES;
/** Largest count a gap record holds (u32); longer runs take several records. */
export const GAP_MAX_COUNT = 0xffff_ffff;

/**
 * Whether a GAP body has exactly the structure its kind calls for: a known kind and
 * reason, a count of at least 1 and a size that matches (kind 2: its entity length).
 * Garbage passes this with negligible probability, so a resynchronising reader never
 * takes random bytes for a gap record, and rejects them before computing a CRC.
 */
export function gapLayoutOk(buf: Uint8Array, body: number, bodyBytes: number): boolean {
  if (bodyBytes < GAP_SEQUENCE_BODY_BYTES || bodyBytes > GAP_MAX_BODY_BYTES) return false;
  const kind = buf[body + GAP.KIND]!;
  const reason = buf[body + GAP.REASON]!;
  if (GAP_REASON_NAMES[reason] === undefined) return false;
  const count = buf[body + GAP.COUNT]! | buf[body + GAP.COUNT + 1]! | buf[body + GAP.COUNT + 2]! | buf[body + GAP.COUNT + 3]!;
  if (count === 0) return false;
  if (kind === GapKind.SEQUENCE) return bodyBytes === GAP_SEQUENCE_BODY_BYTES;
  if (kind !== GapKind.ENTITY || bodyBytes < GAP_ENTITY_FIXED_BODY_BYTES + 1) return false;
  const e = buf[body + GAP.ENTITY_LEN]! | (buf[body + GAP.ENTITY_LEN + 1]! << 8);
  return e >= 1 && e <= GAP_MAX_ENTITY_BYTES && bodyBytes === GAP_ENTITY_FIXED_BODY_BYTES + e;
}
