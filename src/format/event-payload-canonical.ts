import { readU16, readU32 } from './bytes.js';
import { isCanonicalJson } from './canonical-json.js';
import { EV } from './event.js';

/**
 * Whether the payload of the EVENT body at `b` is canonical JSON: the test dump's JSON
 * writer (ui/event-jsonl.ts) makes per event, on the same span (after entity and scope,
 * up to the trailing event hash). Dump's worker thread runs it ahead of the writer
 * (engine/dump-verdicts.ts), so both sides must take the payload span the same way.
 */
export function eventPayloadIsCanonical(buf: Uint8Array, b: number): boolean {
  const ps = b + EV.VAR + readU16(buf, b + EV.ENTITY_LEN) + readU16(buf, b + EV.SCOPE_LEN);
  return isCanonicalJson(buf, ps, ps + readU32(buf, b + EV.PAYLOAD_LEN));
}
