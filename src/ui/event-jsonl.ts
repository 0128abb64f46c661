import { isCanonicalJson } from '../format/canonical-json.js';
import { decodeEvent, EV, ev } from '../format/event.js';
import { eventRecord } from './event-json.js';
import type { StdoutSink } from './stdout-sink.js';

/**
 * One event's JSON record (event-json.ts `eventRecord`), written straight from the
 * EVENT frame's bytes into the output buffer: exactly the bytes
 * `JSON.stringify(eventRecord(decodeEvent(buf, b)))` would give, without building the
 * record, its strings or the parsed payload. Numbers, ids and hashes are written digit
 * by digit; entity and scope are copied when they need no escaping; the payload is
 * copied verbatim when it is already canonical JSON (format/canonical-json.ts), which
 * is what JSON.stringify wrote in the first place. Anything else (a payload that is
 * not canonical JSON, text, binary) takes the original path for that record.
 */

const enc = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const K_SEQ = enc('"seq":');
const K_EVENT_ID = enc(',"eventId":"');
const K_ENTITY = enc('","entity":');
const K_SCOPE = enc(',"scope":');
const K_KIND = enc(',"kind":"');
const K_CLOCK = enc('","clock":');
const K_WALL = enc(',"wallMs":');
const K_TXN = enc(',"txnId":');
const K_CAUSATION = enc(',"causationId":');
const K_CORRELATION = enc(',"correlationId":');
const K_PREV_HASH = enc(',"prevHash":"');
const K_EVENT_HASH = enc('","eventHash":"');
const K_PAYLOAD = enc('","payloadEncoding":"json","payload":');
const K_HEX = enc(',"hex":"');
const NULL = enc('null');
const HEX_DIGITS = enc('0123456789abcdef');
const ID_BYTES = 16;
const U64_FIELDS = [EV.SEQ, EV.CLOCK, EV.WALL, EV.TXN];
const HASH_BYTES = 32;
/** Room for everything but entity, scope, payload, hex and prefix (generous). */
const FIXED_RECORD_BYTES = 512;

export interface EventJsonOptions {
  /** A JSON fragment ending in "," put first inside the braces (dump --markers: frame, segment, offset). */
  prefix?: string;
  /** Add "hex": the frame's bytes (buf[b - 9, b + bodyBytes)) as hex, last. */
  hex?: boolean;
}

/** Writes the record and a newline-free terminator-free `{...}` to `out`. */
export function writeEventJson(out: StdoutSink, buf: Uint8Array, b: number, bodyBytes: number, opts: EventJsonOptions = {}): void {
  const eLen = ev.entityLen(buf, b);
  const sLen = ev.scopeLen(buf, b);
  const es = b + EV.VAR;
  const ss = es + eLen;
  const ps = ss + sLen;
  const hs = ps + ev.payloadLen(buf, b);
  // u64 fields past 2^53 print as JSON.stringify prints imprecise numbers: the original path does that
  if (!safeU64s(buf, b) || !isCanonicalJson(buf, ps, hs)) {
    slowPath(out, buf, b, bodyBytes, opts);
    return;
  }
  const entityText = plainAscii(buf, es, eLen) ? null : JSON.stringify(ev.entity(buf, b));
  const scopeText = plainAscii(buf, ss, sLen) ? null : JSON.stringify(ev.scope(buf, b));
  const prefix = opts.prefix ?? '';
  const room =
    FIXED_RECORD_BYTES +
    prefix.length * 3 +
    (entityText === null ? eLen + 2 : entityText.length * 3) +
    (scopeText === null ? sLen + 2 : scopeText.length * 3) +
    (hs - ps) +
    (opts.hex ? 2 * (bodyBytes + 9) + K_HEX.length + 1 : 0);
  let p = out.reserve(room);
  const o = out.buf;
  o[p++] = 0x7b; // {
  if (prefix.length > 0) p += o.write(prefix, p, 'utf8');
  p = put(o, p, K_SEQ);
  p = putUint(o, p, ev.seq(buf, b));
  p = put(o, p, K_EVENT_ID);
  p = putUuid(o, p, buf, b + EV.ID);
  p = put(o, p, K_ENTITY);
  p = entityText === null ? putQuoted(o, p, buf, es, eLen) : p + o.write(entityText, p, 'utf8');
  p = put(o, p, K_SCOPE);
  p = scopeText === null ? putQuoted(o, p, buf, ss, sLen) : p + o.write(scopeText, p, 'utf8');
  p = put(o, p, K_KIND);
  p = putUint(o, p, ev.kindCategory(buf, b));
  o[p++] = 0x3a; // :
  p = putUint(o, p, ev.kindType(buf, b));
  p = put(o, p, K_CLOCK);
  p = putUint(o, p, ev.clock(buf, b));
  p = put(o, p, K_WALL);
  p = putUint(o, p, ev.wallMs(buf, b));
  p = put(o, p, K_TXN);
  p = putUint(o, p, ev.txnId(buf, b));
  p = put(o, p, K_CAUSATION);
  p = putOptionalUuid(o, p, buf, b + EV.CAUSATION);
  p = put(o, p, K_CORRELATION);
  p = putOptionalUuid(o, p, buf, b + EV.CORRELATION);
  p = put(o, p, K_PREV_HASH);
  p = putHex(o, p, buf, b + EV.PREV_HASH, HASH_BYTES);
  p = put(o, p, K_EVENT_HASH);
  p = putHex(o, p, buf, hs, HASH_BYTES);
  p = put(o, p, K_PAYLOAD);
  p = copyBytes(o, p, buf, ps, hs);
  if (opts.hex) {
    p = put(o, p, K_HEX);
    p = putHex(o, p, buf, b - 9, bodyBytes + 9);
    o[p++] = 0x22; // "
  }
  o[p++] = 0x7d; // }
  out.pos = p;
}

/** The original record building, for payloads the fast path does not take. */
function slowPath(out: StdoutSink, buf: Uint8Array, b: number, bodyBytes: number, opts: EventJsonOptions): void {
  const rec = eventRecord(decodeEvent(buf, b));
  let json = opts.hex ? JSON.stringify({ ...rec, hex: Buffer.from(buf.buffer, buf.byteOffset + b - 9, bodyBytes + 9).toString('hex') }) : JSON.stringify(rec);
  if (opts.prefix) json = `{${opts.prefix}${json.slice(1)}`;
  out.write(json);
}

/** Whether sequence, clock, wall time and transaction id are all at most 2^53 - 1. */
function safeU64s(buf: Uint8Array, b: number): boolean {
  for (const f of U64_FIELDS) {
    const hi = b + f + 4;
    if ((buf[hi]! | (buf[hi + 1]! << 8) | (buf[hi + 2]! << 16) | (buf[hi + 3]! << 24)) >>> 0 > 0x1fffff) return false;
  }
  return true;
}

/** Printable ASCII with nothing JSON.stringify would escape (no quote, no backslash). */
function plainAscii(buf: Uint8Array, start: number, len: number): boolean {
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/** Plain Uint8Array view of the last source buffer: a Buffer's `subarray` runs Buffer's JS constructor. */
let plainOf: Uint8Array | null = null;
let plain: Uint8Array = new Uint8Array(0);

function copyBytes(o: Uint8Array, p: number, buf: Uint8Array, start: number, end: number): number {
  if (end - start < 64) {
    for (let i = start; i < end; i++) o[p++] = buf[i]!;
    return p;
  }
  if (buf !== plainOf || plain.byteLength !== buf.byteLength) {
    plainOf = buf;
    plain = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  o.set(plain.subarray(start, end), p);
  return p + end - start;
}

function put(o: Uint8Array, p: number, bytes: Uint8Array): number {
  const n = bytes.length;
  // a native copy beats the loop from about this length
  if (n >= 16) o.set(bytes, p);
  else for (let i = 0; i < n; i++) o[p + i] = bytes[i]!;
  return p + n;
}

function putQuoted(o: Uint8Array, p: number, buf: Uint8Array, start: number, len: number): number {
  o[p++] = 0x22;
  for (let i = 0; i < len; i++) o[p++] = buf[start + i]!;
  o[p++] = 0x22;
  return p;
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
const TEN_8 = 100_000_000;

/** A safe non-negative integer in decimal (wall times have 13 digits: split to stay in int32 math). */
function putUint(o: Uint8Array, p: number, n: number): number {
  if (n >= TEN_8) {
    const hi = Math.floor(n / TEN_8);
    p = putSmall(o, p, hi);
    return putPadded8(o, p, n - hi * TEN_8);
  }
  return putSmall(o, p, n);
}

/** n < 2^31 */
function putSmall(o: Uint8Array, p: number, n: number): number {
  let digits = 1;
  while (digits < 10 && n >= POW10[digits]!) digits++;
  for (let q = p + digits - 1; q >= p; q--) {
    const t = (n / 10) | 0;
    o[q] = 0x30 + n - t * 10;
    n = t;
  }
  return p + digits;
}

/** n < 10^8, as exactly 8 digits */
function putPadded8(o: Uint8Array, p: number, n: number): number {
  for (let q = p + 7; q >= p; q--) {
    const t = (n / 10) | 0;
    o[q] = 0x30 + n - t * 10;
    n = t;
  }
  return p + 8;
}

function putHex(o: Uint8Array, p: number, buf: Uint8Array, start: number, len: number): number {
  for (let i = start; i < start + len; i++) {
    const v = buf[i]!;
    o[p++] = HEX_DIGITS[v >>> 4]!;
    o[p++] = HEX_DIGITS[v & 15]!;
  }
  return p;
}

/** 8-4-4-4-12 lowercase hex, as `uuidToString`. */
function putUuid(o: Uint8Array, p: number, buf: Uint8Array, off: number): number {
  for (let i = 0; i < ID_BYTES; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) o[p++] = 0x2d;
    const v = buf[off + i]!;
    o[p++] = HEX_DIGITS[v >>> 4]!;
    o[p++] = HEX_DIGITS[v & 15]!;
  }
  return p;
}

/** null for 16 zero bytes, else the quoted UUID. */
function putOptionalUuid(o: Uint8Array, p: number, buf: Uint8Array, off: number): number {
  let zero = true;
  for (let i = 0; i < ID_BYTES; i++) {
    if (buf[off + i] !== 0) {
      zero = false;
      break;
    }
  }
  if (zero) return put(o, p, NULL);
  o[p++] = 0x22;
  p = putUuid(o, p, buf, off);
  o[p++] = 0x22;
  return p;
}
