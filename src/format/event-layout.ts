/**
 * Byte offsets inside an EVENT frame body (see event.ts for the full table).
 * Kept apart so the frame checker can test an event's layout before paying for
 * its CRC without importing the event codec.
 */
export const EVENT_VAR_OFFSET = 124;
export const EVENT_HASH_BYTES = 32;
export const EVENT_FIXED_BODY_BYTES = EVENT_VAR_OFFSET + EVENT_HASH_BYTES;
export const ENTITY_LEN_OFFSET = 116;
export const SCOPE_LEN_OFFSET = 118;
export const PAYLOAD_LEN_OFFSET = 120;

/** Whether the declared entity/scope/payload lengths add up to the body size. */
export function eventLengthsAddUp(buf: Uint8Array, body: number, bodyBytes: number): boolean {
  if (bodyBytes < EVENT_FIXED_BODY_BYTES + 1) return false;
  const e = buf[body + ENTITY_LEN_OFFSET]! | (buf[body + ENTITY_LEN_OFFSET + 1]! << 8);
  const s = buf[body + SCOPE_LEN_OFFSET]! | (buf[body + SCOPE_LEN_OFFSET + 1]! << 8);
  const p =
    (buf[body + PAYLOAD_LEN_OFFSET]! |
      (buf[body + PAYLOAD_LEN_OFFSET + 1]! << 8) |
      (buf[body + PAYLOAD_LEN_OFFSET + 2]! << 16)) +
    buf[body + PAYLOAD_LEN_OFFSET + 3]! * 0x1000000;
  return e > 0 && EVENT_FIXED_BODY_BYTES + e + s + p === bodyBytes;
}
