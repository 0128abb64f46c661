import { isCanonicalJson } from '../../format/canonical-json.js';
import { decodeEvent, EV, ev } from '../../format/event.js';
import { eventRecord } from './event-json.js';
import type { StdoutSink } from '../stdout-sink.js';

/**
 * One event's JSON record (event-json.ts `eventRecord`), written straight from the
 * EVENT frame's bytes into the output buffer: exactly the bytes
 * `JSON.stringify(eventRecord(decodeEvent(buf, b)))` would give, without building the
 * record, its strings or the parsed payload. The payload is copied verbatim when it is
 * already canonical JSON (format/canonical-json.ts), which is what JSON.stringify
 * wrote in the first place. Anything else (a payload that is not canonical JSON, text,
 * binary, a u64 past 2^53) takes the original path for that record.
 *
 * Why it looks like this: a record is ~600 bytes, and on this path a JS loop storing
 * one byte at a time costs ~3 ns per byte, which was most of dump's time. So the
 * bytes go out 2 and 4 at a time through DataViews: the constant parts of the record
 * are pre-split into 32-bit words, hex digits come from a table giving the 4
 * characters of 2 source bytes, decimal digits from a table of digit pairs, and the
 * payload is one native copy. Word stores may write up to 3 bytes past a fragment's
 * end; the next field overwrites them (the reserve has WORD_SLACK_BYTES for the last).
 */

/** A constant piece of the record as the little-endian 32-bit words `putFragment` stores. */
interface Fragment {
  words: Int32Array;
  bytes: number;
}

function fragment(s: string): Fragment {
  const words = new Int32Array(Math.ceil(s.length / 4));
  for (let i = 0; i < s.length; i++) words[i >> 2]! |= s.charCodeAt(i) << (8 * (i & 3));
  return { words, bytes: s.length };
}

const F_OPEN_SEQ = fragment('{"seq":');
const F_SEQ = fragment('"seq":');
const F_EVENT_ID = fragment(',"eventId":"');
const F_ENTITY = fragment('","entity":');
const F_SCOPE = fragment(',"scope":');
const F_KIND = fragment(',"kind":"');
const F_CLOCK = fragment('","clock":');
const F_WALL = fragment(',"wallMs":');
const F_TXN = fragment(',"txnId":');
const F_CAUSATION = fragment(',"causationId":');
const F_CORRELATION = fragment(',"correlationId":');
const F_PREV_HASH = fragment(',"prevHash":"');
const F_EVENT_HASH = fragment('","eventHash":"');
const F_PAYLOAD = fragment('","payloadEncoding":"json","payload":');
const F_HEX = fragment(',"hex":"');
/** "null" as one little-endian word. */
const NULL_WORD = 0x6c6c756e;
const QUOTE = 0x22;
const COLON = 0x3a;
const DASH = 0x2d;

const HEX_DIGITS = '0123456789abcdef';
/** The two hex characters of a byte, as a little-endian u16. */
const HEX_OF_BYTE = Uint16Array.from({ length: 256 }, (_, v) => HEX_DIGITS.charCodeAt(v >>> 4) | (HEX_DIGITS.charCodeAt(v & 15) << 8));
/** The four hex characters of two bytes read as a little-endian u16, as a little-endian i32 (256 KiB). */
const HEX_OF_PAIR = Int32Array.from({ length: 65536 }, (_, v) => HEX_OF_BYTE[v & 0xff]! | (HEX_OF_BYTE[v >>> 8]! << 16));
/** The two decimal digits of 0-99, as a little-endian u16. */
const DIGIT_PAIR = Uint16Array.from({ length: 100 }, (_, v) => (0x30 + Math.floor(v / 10)) | ((0x30 + (v % 10)) << 8));

const HASH_BYTES = 32;
/** Offset of a u64's high half. */
const HIGH_HALF = 4;
/** Largest high half of a u64 that is still a safe integer (2^53 - 1 >> 32). */
const MAX_SAFE_HIGH_HALF = 0x1fffff;
const TWO_32 = 0x1_0000_0000;
const TEN_8 = 100_000_000;
/** Bytes before the body: length, crc, type (the --hex field shows them too). */
const FRAME_PREFIX_BYTES = 9;
/** Room for everything but entity, scope, payload, hex and prefix (generous). */
const FIXED_RECORD_BYTES = 512;
/** A word store may run this many bytes past its fragment. */
const WORD_SLACK_BYTES = 4;
/** Payloads shorter than this are copied by a loop (a native copy's call costs more). */
const NATIVE_COPY_MIN_BYTES = 32;

export interface EventJsonOptions {
  /** A JSON fragment ending in "," put first inside the braces (dump --markers: frame, segment, offset). */
  prefix?: string;
  /** Add "hex": the frame's bytes (buf[b - 9, b + bodyBytes)) as hex, last. */
  hex?: boolean;
  /**
   * Whether the payload is canonical JSON, when already known (dump's worker thread tested
   * these bytes: engine/verify/dump-verdicts.ts); undefined: test it here.
   */
  canonical?: boolean;
}

/**
 * Views of the last source buffer (the reader's chunk: one per read, not per event)
 * and of the output buffer. A plain Uint8Array view is kept as well because a
 * Buffer's `subarray` runs Buffer's JS constructor per call.
 */
let sourceOf: Uint8Array | null = null;
let source: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let sourcePlain: Uint8Array = new Uint8Array(0);
let outputOf: Uint8Array | null = null;
let output: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** Writes the record, a terminator-free `{...}`, to `out`. */
/** `SEGLOG_DUMP_FAST=0`: every record through JSON.stringify (the differential suite compares both). */
let FAST = true;

/** Reads the switch above (once per dump, not per record: process.env is slow to read). */
export function readDumpFastSwitch(): void {
  FAST = process.env.SEGLOG_DUMP_FAST !== '0';
}

export function writeEventJson(out: StdoutSink, buf: Uint8Array, b: number, bodyBytes: number, opts: EventJsonOptions = {}): void {
  if (!FAST) {
    slowPath(out, buf, b, bodyBytes, opts);
    return;
  }
  if (buf !== sourceOf) {
    sourceOf = buf;
    source = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    sourcePlain = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const sv = source;
  const eLen = sv.getUint16(b + EV.ENTITY_LEN, true);
  const sLen = sv.getUint16(b + EV.SCOPE_LEN, true);
  const es = b + EV.VAR;
  const ss = es + eLen;
  const ps = ss + sLen;
  const hs = ps + sv.getUint32(b + EV.PAYLOAD_LEN, true);
  // u64 fields past 2^53 print as JSON.stringify prints imprecise numbers: the original path does that
  if (!safeU64s(sv, b) || !(opts.canonical ?? isCanonicalJson(buf, ps, hs))) {
    slowPath(out, buf, b, bodyBytes, opts);
    return;
  }
  const prefix = opts.prefix ?? '';
  const room =
    FIXED_RECORD_BYTES +
    WORD_SLACK_BYTES +
    prefix.length * 3 +
    // an entity or scope that needs escaping is written as JSON.stringify text: up to 6 bytes per byte (\u00XX)
    6 * (eLen + sLen) +
    (hs - ps) +
    (opts.hex ? 2 * (bodyBytes + FRAME_PREFIX_BYTES) + F_HEX.bytes + 1 : 0);
  let p = out.reserve(room);
  const o = out.buf;
  if (o !== outputOf) {
    outputOf = o;
    output = new DataView(o.buffer, o.byteOffset, o.byteLength);
  }
  const ov = output;
  if (prefix.length > 0) {
    o[p++] = 0x7b; // {
    p += o.write(prefix, p, 'utf8');
    p = putFragment(ov, p, F_SEQ);
  } else {
    p = putFragment(ov, p, F_OPEN_SEQ);
  }
  p = putU64(o, ov, p, sv, b + EV.SEQ);
  p = putFragment(ov, p, F_EVENT_ID);
  p = putUuid(o, ov, p, sv, b + EV.ID);
  p = putFragment(ov, p, F_ENTITY);
  p = putString(o, ov, p, sv, es, eLen, ev.entity, buf, b);
  p = putFragment(ov, p, F_SCOPE);
  p = putString(o, ov, p, sv, ss, sLen, ev.scope, buf, b);
  p = putFragment(ov, p, F_KIND);
  p = putSmall(o, ov, p, sv.getUint16(b + EV.KIND_CAT, true));
  o[p++] = COLON;
  p = putSmall(o, ov, p, sv.getUint16(b + EV.KIND_TYPE, true));
  p = putFragment(ov, p, F_CLOCK);
  p = putU64(o, ov, p, sv, b + EV.CLOCK);
  p = putFragment(ov, p, F_WALL);
  p = putU64(o, ov, p, sv, b + EV.WALL);
  p = putFragment(ov, p, F_TXN);
  p = putU64(o, ov, p, sv, b + EV.TXN);
  p = putFragment(ov, p, F_CAUSATION);
  p = putOptionalUuid(o, ov, p, sv, b + EV.CAUSATION);
  p = putFragment(ov, p, F_CORRELATION);
  p = putOptionalUuid(o, ov, p, sv, b + EV.CORRELATION);
  p = putFragment(ov, p, F_PREV_HASH);
  p = putHex(ov, p, sv, b + EV.PREV_HASH, HASH_BYTES);
  p = putFragment(ov, p, F_EVENT_HASH);
  p = putHex(ov, p, sv, hs, HASH_BYTES);
  p = putFragment(ov, p, F_PAYLOAD);
  p = copyBytes(o, p, sourcePlain, ps, hs);
  if (opts.hex) {
    p = putFragment(ov, p, F_HEX);
    p = putHex(ov, p, sv, b - FRAME_PREFIX_BYTES, bodyBytes + FRAME_PREFIX_BYTES);
    o[p++] = QUOTE;
  }
  o[p++] = 0x7d; // }
  out.pos = p;
}

/** The original record building, for payloads the fast path does not take. */
function slowPath(out: StdoutSink, buf: Uint8Array, b: number, bodyBytes: number, opts: EventJsonOptions): void {
  const rec = eventRecord(decodeEvent(buf, b));
  let json = opts.hex
    ? JSON.stringify({ ...rec, hex: Buffer.from(buf.buffer, buf.byteOffset + b - FRAME_PREFIX_BYTES, bodyBytes + FRAME_PREFIX_BYTES).toString('hex') })
    : JSON.stringify(rec);
  if (opts.prefix) json = `{${opts.prefix}${json.slice(1)}`;
  out.write(json);
}

/** Whether sequence, clock, wall time and transaction id are all at most 2^53 - 1. */
function safeU64s(sv: DataView, b: number): boolean {
  return (
    sv.getUint32(b + EV.SEQ + HIGH_HALF, true) <= MAX_SAFE_HIGH_HALF &&
    sv.getUint32(b + EV.CLOCK + HIGH_HALF, true) <= MAX_SAFE_HIGH_HALF &&
    sv.getUint32(b + EV.WALL + HIGH_HALF, true) <= MAX_SAFE_HIGH_HALF &&
    sv.getUint32(b + EV.TXN + HIGH_HALF, true) <= MAX_SAFE_HIGH_HALF
  );
}

function putFragment(ov: DataView, p: number, f: Fragment): number {
  const words = f.words;
  for (let i = 0; i < words.length; i++) ov.setInt32(p + 4 * i, words[i]!, true);
  return p + f.bytes;
}

const ONES = 0x01010101;
const HIGH_BITS = 0x80808080 | 0;
const SPACES = 0x20202020;
const QUOTES = 0x22222222;
const BACKSLASHES = 0x5c5c5c5c;

/**
 * A JSON string of the UTF-8 bytes at `start`: copied between quotes when every byte
 * is printable ASCII other than the quote and the backslash (JSON.stringify writes
 * those as they are; checked and copied 4 bytes at a time), else JSON.stringify of
 * the decoded field.
 */
function putString(
  o: Buffer,
  ov: DataView,
  p: number,
  sv: DataView,
  start: number,
  len: number,
  decode: (buf: Uint8Array, b: number) => string,
  buf: Uint8Array,
  b: number,
): number {
  const q0 = p;
  o[p++] = QUOTE;
  let i = start;
  const end = start + len;
  for (; i + 4 <= end; i += 4) {
    const x = sv.getInt32(i, true);
    const q = x ^ QUOTES;
    const s = x ^ BACKSLASHES;
    // a byte >= 0x80 | < 0x20 | a quote | a backslash (bit tricks that never miss one)
    if (((x | ((x - SPACES) & ~x) | ((q - ONES) & ~q) | ((s - ONES) & ~s)) & HIGH_BITS) !== 0) return q0 + o.write(JSON.stringify(decode(buf, b)), q0, 'utf8');
    ov.setInt32(p, x, true);
    p += 4;
  }
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return q0 + o.write(JSON.stringify(decode(buf, b)), q0, 'utf8');
    o[p++] = c;
  }
  o[p++] = QUOTE;
  return p;
}

function copyBytes(o: Uint8Array, p: number, src: Uint8Array, start: number, end: number): number {
  if (end - start < NATIVE_COPY_MIN_BYTES) {
    for (let i = start; i < end; i++) o[p++] = src[i]!;
    return p;
  }
  o.set(src.subarray(start, end), p);
  return p + end - start;
}

/** A u64 field known to be a safe integer, in decimal. */
function putU64(o: Uint8Array, ov: DataView, p: number, sv: DataView, off: number): number {
  const n = sv.getUint32(off, true) + sv.getUint32(off + HIGH_HALF, true) * TWO_32;
  if (n < TEN_8) return putSmall(o, ov, p, n);
  // wall times have 13 digits: split to stay in small-integer math
  const hi = Math.floor(n / TEN_8);
  p = putSmall(o, ov, p, hi);
  let lo = n - hi * TEN_8;
  // exactly 8 digits, 2 at a time from the right
  for (let q = p + 6; q >= p; q -= 2) {
    const t = (lo / 100) | 0;
    ov.setUint16(q, DIGIT_PAIR[lo - t * 100]!, true);
    lo = t;
  }
  return p + 8;
}

/** n < 2^31 in decimal, 2 digits at a time from the right. */
function putSmall(o: Uint8Array, ov: DataView, p: number, n: number): number {
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < TEN_8 ? 8 : n < 1000000000 ? 9 : 10;
  let q = p + digits;
  while (n >= 100) {
    const t = (n / 100) | 0;
    q -= 2;
    ov.setUint16(q, DIGIT_PAIR[n - t * 100]!, true);
    n = t;
  }
  if (n >= 10) ov.setUint16(q - 2, DIGIT_PAIR[n]!, true);
  else o[q - 1] = 0x30 + n;
  return p + digits;
}

/** `len` bytes as lowercase hex, 2 bytes (4 characters) per store. */
function putHex(ov: DataView, p: number, sv: DataView, start: number, len: number): number {
  const end = start + len;
  let i = start;
  for (; i + 2 <= end; i += 2) {
    ov.setInt32(p, HEX_OF_PAIR[sv.getUint16(i, true)]!, true);
    p += 4;
  }
  if (i < end) {
    ov.setUint16(p, HEX_OF_BYTE[sv.getUint8(i)]!, true);
    p += 2;
  }
  return p;
}

/** 8-4-4-4-12 lowercase hex, as `uuidToString`. */
function putUuid(o: Uint8Array, ov: DataView, p: number, sv: DataView, off: number): number {
  p = putHex(ov, p, sv, off, 4);
  o[p++] = DASH;
  p = putHex(ov, p, sv, off + 4, 2);
  o[p++] = DASH;
  p = putHex(ov, p, sv, off + 6, 2);
  o[p++] = DASH;
  p = putHex(ov, p, sv, off + 8, 2);
  o[p++] = DASH;
  return putHex(ov, p, sv, off + 10, 6);
}

/** null for 16 zero bytes, else the quoted UUID. */
function putOptionalUuid(o: Uint8Array, ov: DataView, p: number, sv: DataView, off: number): number {
  if ((sv.getInt32(off, true) | sv.getInt32(off + 4, true) | sv.getInt32(off + 8, true) | sv.getInt32(off + 12, true)) === 0) {
    ov.setInt32(p, NULL_WORD, true);
    return p + 4;
  }
  o[p++] = QUOTE;
  p = putUuid(o, ov, p, sv, off);
  o[p++] = QUOTE;
  return p;
}
