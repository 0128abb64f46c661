import { HASH_BYTES, type Blake3 } from './hash/blake3.js';
import { readU16, readU32, readU64, utf8, utf8Decoder, writeU16, writeU32, writeU64, toHex } from './bytes.js';
import { FRAME_PREFIX_BYTES, FrameType, sealFrame } from './frame.js';

/**
 * EVENT frame body layout (all integers little-endian). The canonical encoding
 * that `event_hash` covers is the body itself minus its last 32 bytes.
 *
 *  off  size  field
 *    0    16  event id (UUIDv7)
 *   16     8  global sequence
 *   24     8  entity clock
 *   32     8  wall time, ms since the Unix epoch
 *   40     8  transaction id (0 = none)
 *   48     2  kind category
 *   50     2  kind type
 *   52    16  correlation id (16 zero bytes = none)
 *   68    16  causation id (16 zero bytes = none)
 *   84    32  prev_hash
 *  116     2  entity length E
 *  118     2  scope length S
 *  120     4  payload length P
 *  124     E  entity (UTF-8)
 *  124+E   S  scope (UTF-8)
 *  124+E+S P  payload
 *  end-32 32  event_hash = BLAKE3-256(body[0, end-32))
 */
export const EV = {
  ID: 0,
  SEQ: 16,
  CLOCK: 24,
  WALL: 32,
  TXN: 40,
  KIND_CAT: 48,
  KIND_TYPE: 50,
  CORRELATION: 52,
  CAUSATION: 68,
  PREV_HASH: 84,
  ENTITY_LEN: 116,
  SCOPE_LEN: 118,
  PAYLOAD_LEN: 120,
  VAR: 124,
} as const;
export const EVENT_FIXED_BYTES = EV.VAR + HASH_BYTES;
export const ID_BYTES = 16;
export const MAX_ENTITY_BYTES = 1024;
export const MAX_SCOPE_BYTES = 1024;
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Largest integer any u64 field may hold: beyond it JS numbers lose precision. */
export const MAX_SAFE_U64 = Number.MAX_SAFE_INTEGER;
/** Kind category 0 is the engine's own (key/value operations and other system kinds). */
export const SYSTEM_KIND_CATEGORY = 0;
export const ZERO_HASH = new Uint8Array(HASH_BYTES);
export const ZERO_ID = new Uint8Array(ID_BYTES);

export interface EventFields {
  id: Uint8Array;
  seq: number;
  clock: number;
  wallMs: number;
  txnId: number;
  kindCategory: number;
  kindType: number;
  correlationId: Uint8Array | null;
  causationId: Uint8Array | null;
  prevHash: Uint8Array;
  /** UTF-8 bytes of entity and scope (callers encode once and reuse). */
  entity: Uint8Array;
  scope: Uint8Array;
  payload: Uint8Array;
}

export function eventFrameSize(entityBytes: number, scopeBytes: number, payloadBytes: number): number {
  return FRAME_PREFIX_BYTES + EVENT_FIXED_BYTES + entityBytes + scopeBytes + payloadBytes;
}

/**
 * Encodes an EVENT frame into buf at `off`, computes its hash and CRC.
 * The event hash lands in buf too; returns the frame's size.
 */
export function encodeEventFrame(buf: Uint8Array, off: number, e: EventFields, hasher: Blake3): number {
  const b = off + FRAME_PREFIX_BYTES;
  buf.set(e.id, b + EV.ID);
  writeU64(buf, b + EV.SEQ, e.seq);
  writeU64(buf, b + EV.CLOCK, e.clock);
  writeU64(buf, b + EV.WALL, e.wallMs);
  writeU64(buf, b + EV.TXN, e.txnId);
  writeU16(buf, b + EV.KIND_CAT, e.kindCategory);
  writeU16(buf, b + EV.KIND_TYPE, e.kindType);
  buf.set(e.correlationId ?? ZERO_ID, b + EV.CORRELATION);
  buf.set(e.causationId ?? ZERO_ID, b + EV.CAUSATION);
  buf.set(e.prevHash, b + EV.PREV_HASH);
  writeU16(buf, b + EV.ENTITY_LEN, e.entity.length);
  writeU16(buf, b + EV.SCOPE_LEN, e.scope.length);
  writeU32(buf, b + EV.PAYLOAD_LEN, e.payload.length);
  let p = b + EV.VAR;
  buf.set(e.entity, p);
  p += e.entity.length;
  buf.set(e.scope, p);
  p += e.scope.length;
  buf.set(e.payload, p);
  p += e.payload.length;
  hasher.hashInto(buf, b, p, buf, p);
  const bodyBytes = p + HASH_BYTES - b;
  return sealFrame(buf, off, FrameType.EVENT, bodyBytes);
}

/**
 * Checks that an EVENT body's declared lengths add up to the body size and
 * stay within limits. `body` is the offset of the body, `bodyBytes` its size.
 * Returns null when sane, else a reason.
 */
export function checkEventLayout(buf: Uint8Array, body: number, bodyBytes: number): string | null {
  if (bodyBytes < EVENT_FIXED_BYTES) return `event body of ${bodyBytes} bytes is shorter than ${EVENT_FIXED_BYTES}`;
  const e = readU16(buf, body + EV.ENTITY_LEN);
  const s = readU16(buf, body + EV.SCOPE_LEN);
  const p = readU32(buf, body + EV.PAYLOAD_LEN);
  if (e === 0 || e > MAX_ENTITY_BYTES) return `entity length ${e} out of range 1..${MAX_ENTITY_BYTES}`;
  if (s > MAX_SCOPE_BYTES) return `scope length ${s} over ${MAX_SCOPE_BYTES}`;
  if (p > MAX_PAYLOAD_BYTES) return `payload length ${p} over ${MAX_PAYLOAD_BYTES}`;
  if (EVENT_FIXED_BYTES + e + s + p !== bodyBytes) {
    return `declared lengths (entity ${e}, scope ${s}, payload ${p}) do not add up to the body size ${bodyBytes}`;
  }
  for (const f of [EV.SEQ, EV.CLOCK, EV.WALL, EV.TXN]) {
    if (readU32(buf, body + f + 4) > 0x1fffff) return 'a u64 field is beyond 2^53';
  }
  return null;
}

/** In-place accessors over a checked EVENT body at `b`. */
export const ev = {
  seq: (buf: Uint8Array, b: number): number => readU64(buf, b + EV.SEQ),
  clock: (buf: Uint8Array, b: number): number => readU64(buf, b + EV.CLOCK),
  wallMs: (buf: Uint8Array, b: number): number => readU64(buf, b + EV.WALL),
  txnId: (buf: Uint8Array, b: number): number => readU64(buf, b + EV.TXN),
  kindCategory: (buf: Uint8Array, b: number): number => readU16(buf, b + EV.KIND_CAT),
  kindType: (buf: Uint8Array, b: number): number => readU16(buf, b + EV.KIND_TYPE),
  entityLen: (buf: Uint8Array, b: number): number => readU16(buf, b + EV.ENTITY_LEN),
  scopeLen: (buf: Uint8Array, b: number): number => readU16(buf, b + EV.SCOPE_LEN),
  payloadLen: (buf: Uint8Array, b: number): number => readU32(buf, b + EV.PAYLOAD_LEN),
  entityStart: (_buf: Uint8Array, b: number): number => b + EV.VAR,
  entity: (buf: Uint8Array, b: number): string =>
    utf8Decoder.decode(buf.subarray(b + EV.VAR, b + EV.VAR + readU16(buf, b + EV.ENTITY_LEN))),
  scope: (buf: Uint8Array, b: number): string => {
    const s = b + EV.VAR + readU16(buf, b + EV.ENTITY_LEN);
    return utf8Decoder.decode(buf.subarray(s, s + readU16(buf, b + EV.SCOPE_LEN)));
  },
  payloadStart: (buf: Uint8Array, b: number): number =>
    b + EV.VAR + readU16(buf, b + EV.ENTITY_LEN) + readU16(buf, b + EV.SCOPE_LEN),
  /** offset of event_hash: the body's last 32 bytes */
  hashStart: (buf: Uint8Array, b: number): number =>
    b + EV.VAR + readU16(buf, b + EV.ENTITY_LEN) + readU16(buf, b + EV.SCOPE_LEN) + readU32(buf, b + EV.PAYLOAD_LEN),
};

/** A fully decoded event (allocating: for query results and output, not for scans). */
export interface DecodedEvent {
  eventId: string;
  seq: number;
  clock: number;
  wallMs: number;
  txnId: number;
  kind: { category: number; type: number };
  correlationId: string | null;
  causationId: string | null;
  prevHash: string;
  eventHash: string;
  entity: string;
  scope: string;
  payload: Uint8Array;
}

export function decodeEvent(buf: Uint8Array, b: number): DecodedEvent {
  const ps = ev.payloadStart(buf, b);
  const hs = ps + ev.payloadLen(buf, b);
  return {
    eventId: uuidToString(buf, b + EV.ID),
    seq: ev.seq(buf, b),
    clock: ev.clock(buf, b),
    wallMs: ev.wallMs(buf, b),
    txnId: ev.txnId(buf, b),
    kind: { category: ev.kindCategory(buf, b), type: ev.kindType(buf, b) },
    correlationId: optionalId(buf, b + EV.CORRELATION),
    causationId: optionalId(buf, b + EV.CAUSATION),
    prevHash: toHex(buf, b + EV.PREV_HASH, b + EV.PREV_HASH + HASH_BYTES),
    eventHash: toHex(buf, hs, hs + HASH_BYTES),
    entity: ev.entity(buf, b),
    scope: ev.scope(buf, b),
    // a copy: on a Buffer (a reader's reused chunk) slice() would alias bytes the next read overwrites
    payload: Uint8Array.prototype.slice.call(buf, ps, hs),
  };
}

function optionalId(buf: Uint8Array, off: number): string | null {
  for (let i = 0; i < ID_BYTES; i++) if (buf[off + i] !== 0) return uuidToString(buf, off);
  return null;
}

export function uuidToString(buf: Uint8Array, off: number): string {
  const h = toHex(buf, off, off + ID_BYTES);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidFromString(s: string): Uint8Array | null {
  const h = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) return null;
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * UUIDv7 (RFC 9562): 48-bit ms timestamp, version 7, 12 + 62 random bits, variant 10.
 * `random` supplies 10 bytes (injected so fixtures and simulations are deterministic).
 */
export function makeUuidV7(out: Uint8Array, off: number, unixMs: number, random: Uint8Array, rOff: number): void {
  const hi = Math.floor(unixMs / 0x10000);
  const lo = unixMs % 0x10000;
  out[off] = (hi >>> 24) & 0xff;
  out[off + 1] = (hi >>> 16) & 0xff;
  out[off + 2] = (hi >>> 8) & 0xff;
  out[off + 3] = hi & 0xff;
  out[off + 4] = (lo >>> 8) & 0xff;
  out[off + 5] = lo & 0xff;
  out[off + 6] = 0x70 | (random[rOff]! & 0x0f);
  out[off + 7] = random[rOff + 1]!;
  out[off + 8] = 0x80 | (random[rOff + 2]! & 0x3f);
  for (let i = 0; i < 7; i++) out[off + 9 + i] = random[rOff + 3 + i]!;
}

export function encodeText(s: string): Uint8Array {
  return utf8.encode(s);
}

/** Largest kind category and type (both are u16 in the EVENT body). */
export const MAX_KIND_CATEGORY = 0xffff;
export const MAX_KIND_TYPE = 0xffff;

/**
 * Whether an event may carry the kind (category, type): integers, category 1 ..
 * MAX_KIND_CATEGORY (0 too when `system`: the engine's own kinds, written only through
 * the raw-frame path), type 0 .. MAX_KIND_TYPE. The one statement of the rule: the
 * store's single appends and batches, its raw frames and its bulk path all call it.
 */
export function isValidKind(category: number, type: number, system: boolean): boolean {
  return Number.isInteger(category) && Number.isInteger(type) && category >= (system ? 0 : 1) && category <= MAX_KIND_CATEGORY && type >= 0 && type <= MAX_KIND_TYPE;
}

/** Kind as "category:type". */
export function parseKind(s: string): { category: number; type: number } | null {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s.trim());
  if (!m) return null;
  const category = Number(m[1]);
  const type = Number(m[2]);
  if (category > MAX_KIND_CATEGORY || type > MAX_KIND_TYPE) return null;
  return { category, type };
}

export function formatKind(category: number, type: number): string {
  return `${category}:${type}`;
}

