import { readU16, readU32, readU64, utf8, writeU64 } from './bytes.js';
import { EV, MAX_ENTITY_BYTES, MAX_PAYLOAD_BYTES, MAX_SAFE_U64, SYSTEM_KIND_CATEGORY } from './event.js';

/**
 * Key/value operations are EVENT frames of the engine's reserved kind category 0
 * (see docs/FORMAT.md, "Key/value operations"):
 *
 *   kind   0:1 KV_PUT      0:2 KV_DELETE      (0:3.. reserved for later value encodings)
 *   entity "kv:" + key (UTF-8), so each key has its own clock and hash chain
 *   scope  "" (empty)
 *   txn    the transaction id (never 0 when written by the engine)
 *   payload
 *     off size  field
 *       0    8  version, u64 LE (1 .. 2^53-1; allocated when the operation is written)
 *       8    V  KV_PUT only: the value as UTF-8 JSON text (V >= 1); KV_DELETE has no value
 *
 * The key lives in the entity rather than the payload: it is needed there anyway for a
 * meaningful per-key chain, and storing it twice would cost its length again per frame.
 */
export const KV_KIND_CATEGORY = SYSTEM_KIND_CATEGORY;
export const KvKind = { PUT: 1, DELETE: 2 } as const;
export type KvKindType = (typeof KvKind)[keyof typeof KvKind];
export const KV_ENTITY_PREFIX = 'kv:';
export const KV_ENTITY_PREFIX_BYTES = 3;
export const KV_SCOPE = '';
export const KV_VERSION_BYTES = 8;
/** Versions start at 1; 0 means "no version" (finalVersion of an empty replay). */
export const MIN_KV_VERSION = 1;
export const MAX_KV_VERSION = MAX_SAFE_U64;
export const MAX_KV_KEY_BYTES = MAX_ENTITY_BYTES - KV_ENTITY_PREFIX_BYTES;
export const MAX_KV_VALUE_BYTES = MAX_PAYLOAD_BYTES - KV_VERSION_BYTES;

const PREFIX = utf8.encode(KV_ENTITY_PREFIX);

/** Whether an EVENT of this kind is a key/value operation. */
export function isKvKind(category: number, type: number): boolean {
  return category === KV_KIND_CATEGORY && (type === KvKind.PUT || type === KvKind.DELETE);
}

/** Returns why a key cannot be stored, or null. Keys are well-formed UTF-16 (so UTF-8 round-trips). */
export function checkKvKey(key: unknown): string | null {
  if (typeof key !== 'string') return 'key must be a string';
  if (!isWellFormed(key)) return 'key contains a lone surrogate (not encodable as UTF-8)';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KV_KEY_BYTES) return `key is ${bytes} bytes, over ${MAX_KV_KEY_BYTES}`;
  return null;
}

export function checkKvVersion(version: unknown): string | null {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < MIN_KV_VERSION) {
    return `version must be an integer from ${MIN_KV_VERSION} to ${MAX_KV_VERSION}`;
  }
  return null;
}

export function kvEntity(key: string): string {
  return KV_ENTITY_PREFIX + key;
}

/**
 * Encodes a value as the JSON text a KV_PUT stores. Throws a plain Error naming the
 * problem for values JSON cannot represent (undefined, functions, cycles, BigInt).
 */
export function encodeKvValue(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error('value cannot be encoded as JSON');
  const bytes = utf8.encode(text);
  if (bytes.length > MAX_KV_VALUE_BYTES) throw new Error(`value is ${bytes.length} bytes of JSON, over ${MAX_KV_VALUE_BYTES}`);
  return bytes;
}

/** KV_PUT payload: version, then the value's JSON text. */
export function encodeKvPutPayload(version: number, valueJson: Uint8Array): Uint8Array {
  const out = new Uint8Array(KV_VERSION_BYTES + valueJson.length);
  writeU64(out, 0, version);
  out.set(valueJson, KV_VERSION_BYTES);
  return out;
}

/** KV_DELETE payload: the version alone. */
export function encodeKvDeletePayload(version: number): Uint8Array {
  const out = new Uint8Array(KV_VERSION_BYTES);
  writeU64(out, 0, version);
  return out;
}

/**
 * Checks a KV event's layout in place (body at `b`, kind already known to be KV):
 * the entity starts with "kv:", the payload holds a version in range and, for a put,
 * a non-empty value. Returns null when sane, else a reason. Does not parse the JSON.
 */
export function checkKvEvent(buf: Uint8Array, b: number, type: number): string | null {
  const entityLen = readU16(buf, b + EV.ENTITY_LEN);
  const e = b + EV.VAR;
  if (entityLen < KV_ENTITY_PREFIX_BYTES || buf[e] !== PREFIX[0] || buf[e + 1] !== PREFIX[1] || buf[e + 2] !== PREFIX[2]) {
    return `key/value event whose entity does not start with "${KV_ENTITY_PREFIX}"`;
  }
  const payloadLen = readU32(buf, b + EV.PAYLOAD_LEN);
  if (type === KvKind.DELETE ? payloadLen !== KV_VERSION_BYTES : payloadLen <= KV_VERSION_BYTES) {
    return `key/value ${type === KvKind.DELETE ? 'delete' : 'put'} with a payload of ${payloadLen} bytes`;
  }
  const p = e + entityLen + readU16(buf, b + EV.SCOPE_LEN);
  const v = readU64(buf, p);
  if (v < MIN_KV_VERSION || v > MAX_KV_VERSION) return `key/value version ${v} out of range`;
  return null;
}

/**
 * The version an EVENT body at `b` records for the rule "key/value versions are
 * allocated above the largest recorded, committed or not" (docs/FORMAT.md, section 3):
 * its version when it is a KV operation whose payload holds one that a JavaScript
 * number represents exactly, else 0. The one statement of that rule: the open-time
 * scan, the SIDX footer builder and its verifier all call it, so a footer-based cold
 * start agrees with a frame scan.
 */
export function kvVersionOf(buf: Uint8Array, b: number): number {
  if (readU16(buf, b + EV.KIND_CAT) !== KV_KIND_CATEGORY) return 0;
  const type = readU16(buf, b + EV.KIND_TYPE);
  if ((type !== KvKind.PUT && type !== KvKind.DELETE) || readU32(buf, b + EV.PAYLOAD_LEN) < KV_VERSION_BYTES) return 0;
  const v = readU64(buf, b + EV.VAR + readU16(buf, b + EV.ENTITY_LEN) + readU16(buf, b + EV.SCOPE_LEN));
  return v <= Number.MAX_SAFE_INTEGER ? v : 0;
}

/** Version of a checked KV event whose payload starts at `payloadStart`. */
export function kvVersionAt(buf: Uint8Array, payloadStart: number): number {
  return readU64(buf, payloadStart);
}

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}
